"""Which AWQ scale grid keeps a model faithful? AutoAWQ's default (duo) grid, the paper's x-only
grid, and plain round-to-nearest, on the first `--layers` decoder layers of a model.

    python -m bench.awq_grids --model models/real/SmolLM2-135M-Instruct --layers 4 --group 64

Cuts the model to its first layers (a cheap stand-in for the whole: the search runs layer by
layer), quantizes the cut with each grid on the prompts awq_cache calibrates on, and prints the
relative error of the last hidden state against the 16-bit cut on held-out prompts (the seed
calibration.awq_check uses). No clipping search in the AWQ rows (it takes most of the time and
is not what breaks; `--clip` puts it back).
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any


def cut(model_dir: Path, layers: int, out: Path) -> Path:
    """A copy of model_dir with only its first `layers` decoder layers."""
    from safetensors.torch import load_file, save_file

    out.mkdir(parents=True)
    for f in model_dir.iterdir():
        if f.is_file() and f.name != "model.safetensors":
            shutil.copy(f, out / f.name)
    cfg = json.loads((model_dir / "config.json").read_text())
    cfg["num_hidden_layers"] = layers
    (out / "config.json").write_text(json.dumps(cfg))
    state = {k: v for k, v in load_file(model_dir / "model.safetensors").items()
             if not k.startswith("model.layers.") or int(k.split(".")[2]) < layers}
    save_file(state, out / "model.safetensors", metadata={"format": "pt"})
    return out


def hidden_error(reference: Any, model: Any, prompts: list[list[int]]) -> float:
    """Mean over prompts of ‖h − h_ref‖ / ‖h_ref‖ for the last hidden state."""
    import torch

    errors = []
    with torch.no_grad():
        for p in prompts:
            ids = torch.tensor([p])
            ref = reference.model(ids).last_hidden_state.float()
            out = model.model(ids).last_hidden_state.float()
            errors.append(float((out - ref).norm() / ref.norm()))
    return sum(errors) / len(errors)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", required=True, help="a 16-bit model folder")
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--group", type=int, default=64)
    ap.add_argument("--clip", action="store_true", help="run AutoAWQ's clipping search too")
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args(argv)
    model_dir = Path(a.model)
    if not (model_dir / "model.safetensors").is_file():
        ap.error(f"--model: {model_dir} holds no model.safetensors")
    n_layers = int(json.loads((model_dir / "config.json").read_text())["num_hidden_layers"])
    if not 1 <= a.layers <= n_layers:
        ap.error(f"--layers: between 1 and {n_layers}")
    import awq.models.base as awq_base
    import torch

    from calibration.awq_cache import CALIB_SEED, calibration_prompts
    from calibration.awq_check import CHECK_SEED, rtn_int4_
    from calibration.engine.awq import quantize_awq
    from calibration.engine.loading import load_model

    torch.set_num_threads(a.threads)
    calib = calibration_prompts(model_dir, 256, 8, seed=CALIB_SEED)
    held_out = calibration_prompts(model_dir, 256, 2, seed=CHECK_SEED)
    original = awq_base.BaseAWQForCausalLM.quantize

    def quantize(self: Any, *args: Any, **kwargs: Any) -> Any:
        kwargs["apply_clip"] = a.clip
        return original(self, *args, **kwargs)

    print(f"{model_dir.name}, first {a.layers} of {n_layers} layers, group {a.group}, "
          f"clipping {'on' if a.clip else 'off'}: last hidden state vs 16-bit, held-out prompts")
    with tempfile.TemporaryDirectory() as tmp:
        small = cut(model_dir, a.layers, Path(tmp) / "cut")
        reference = load_model(small)
        try:
            awq_base.BaseAWQForCausalLM.quantize = quantize  # type: ignore[method-assign]
            for name, duo in (("AutoAWQ default (duo) grid", True), ("x-only grid", False)):
                t0 = time.time()
                out = quantize_awq(small, Path(tmp) / f"awq-{duo}", calib, a.group,
                                   duo_scaling=duo)
                err = hidden_error(reference, load_model(out, packed=False), held_out)
                print(f"  {name:28s} {100 * err:6.1f} %   ({time.time() - t0:.0f} s)")
        finally:
            awq_base.BaseAWQForCausalLM.quantize = original  # type: ignore[method-assign]
        err = hidden_error(reference, rtn_int4_(load_model(small), a.group), held_out)
        print(f"  {'round to nearest':28s} {100 * err:6.1f} %")


if __name__ == "__main__":
    main()
