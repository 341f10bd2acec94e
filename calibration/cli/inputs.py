"""Edge checks of the commands' options: each bad value raises ValueError naming the problem and
what is allowed, which `calibration.cli.app.guarded` prints as one line with exit status 2."""

from __future__ import annotations

import json
import os
import struct
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from models.space import Config
from models.specs import ArchSpec, spec_from_config

if TYPE_CHECKING:
    from calibration.store import Store

DB = Annotated[str | None, typer.Option(help="SQLAlchemy URL or SQLite path (env KVPARETO_DB)")]
EXECUTOR = Annotated[str, typer.Option(help="local | ray")]
ADDRESS = Annotated[str | None, typer.Option(
    help="Ray cluster address (default: a local Ray); its workers get this checkout's code")]
DEVICES = ("cpu", "cuda")
EXECUTORS = ("local", "ray")


def ints(text: str, what: str) -> list[int]:
    """Comma-separated positive integers of option `--what`."""
    try:
        values = [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise ValueError(f"--{what} must be comma-separated integers; got {text!r}") from None
    if not values or min(values) <= 0:
        raise ValueError(f"--{what} must list positive integers; got {text!r}")
    return values


def context_lengths(text: str, what: str, spec: ArchSpec) -> list[int]:
    """`ints`, each within the model's positions (1 … max_position_embeddings)."""
    values = ints(text, what)
    top = spec.max_positions
    if top and max(values) > top:
        raise ValueError(f"--{what} must lie in [1, {top}] (max_position_embeddings of "
                         f"{spec.name}); got {max(values)}")
    return values


WEIGHTS = Annotated[str, typer.Option(
    help="weight settings to sample, e.g. w16 (default: all the pool has; 4-bit ones run AWQ "
    "first)")]


def pool_of(spec: ArchSpec, weights: str) -> list[Config]:
    """The calibration pool of `spec`, only the weight settings `weights` names (all if blank)."""
    from calibration.sampler import pool

    configs = pool(spec)
    if weights.strip():
        allowed = sorted({c.weights.id for c in configs})
        wanted = {w.strip() for w in weights.split(",") if w.strip()}
        if wanted - set(allowed):
            raise ValueError(f"--weights {weights!r}: allowed for {spec.name}: "
                             f"{', '.join(allowed)}")
        configs = [c for c in configs if c.weights.id in wanted]
    return configs


def device_name(device: str) -> str:
    """`cpu`, or `cuda` when torch sees a CUDA GPU."""
    if device not in DEVICES:
        raise ValueError(f"--device must be one of {', '.join(DEVICES)}; got {device!r}")
    if device == "cuda":
        import torch

        if not torch.cuda.is_available():
            raise ValueError("--device cuda: no CUDA GPU is available to torch "
                             f"(torch {torch.__version__}); use --device cpu")
    return device


def executor_name(executor: str) -> str:
    """Checked before the store is opened or a Ray cluster started."""
    if executor not in EXECUTORS:
        raise ValueError(f"--executor must be one of {', '.join(EXECUTORS)}; got {executor!r}")
    return executor


def resolve(model: str) -> Path:
    """A model folder, testbed name, hub id in the local cache, or GGUF file (converted once
    into the model cache, `calibration.gguf.cached_folder`) → its folder."""
    from calibration.campaign import resolve_model
    from models.specs import TESTBED_DIR

    if model.lower().endswith(".gguf") and not Path(model).is_dir():
        from calibration.gguf import cached_folder

        def say(msg: str) -> None:
            sys.stderr.write(f"· {msg}\n")

        return cached_folder(Path(model), say=say)
    if not Path(model).exists() and (TESTBED_DIR / model / "config.json").is_file():
        return TESTBED_DIR / model
    return resolve_model(model)


def model_config(model_dir: Path) -> ArchSpec:
    """The folder's config.json as a spec; refuses corrupt JSON and unsupported architectures."""
    path = model_dir / "config.json"
    try:
        cfg = json.loads(path.read_bytes())
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path} is not valid JSON ({exc})") from None
    if not isinstance(cfg, dict):
        raise ValueError(f"{path} must hold a JSON object; got {type(cfg).__name__}")
    return spec_from_config(cfg, model_dir.resolve().name)


def check_safetensors(path: Path) -> None:
    """Refuse a safetensors file whose header is unreadable or whose tensors run past its end."""
    size = path.stat().st_size
    with path.open("rb") as fh:
        raw = fh.read(8)
        n = struct.unpack("<Q", raw)[0] if len(raw) == 8 else -1
        if n <= 0 or 8 + n > size:
            raise ValueError(f"{path} is not a complete safetensors file (header cut off)")
        try:
            header = json.loads(fh.read(n))
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise ValueError(f"{path} is not a safetensors file (header is not JSON)") from None
    ends = [int(t["data_offsets"][1]) for k, t in header.items()
            if k != "__metadata__" and isinstance(t, dict) and "data_offsets" in t]
    if 8 + n + max(ends, default=0) > size:
        raise ValueError(f"{path} is truncated: {size:,} bytes, its header needs "
                         f"{8 + n + max(ends):,}")


def model_folder(model: str, weights: bool = True) -> tuple[Path, ArchSpec]:
    """The checked folder of `model` and its spec; with `weights`, its safetensors too (the only
    weight format loaded: pickled .bin checkpoints can run code)."""
    model_dir = resolve(model)
    spec = model_config(model_dir)
    if weights:
        files = sorted(model_dir.glob("*.safetensors"))
        if not files:
            raise ValueError(f"{model_dir} has no *.safetensors weights; only safetensors "
                             "checkpoints are loaded")
        for path in files:
            check_safetensors(path)
    return model_dir, spec


def open_store(db: str | None) -> Store:
    """The results store at `db`, opened and writable, or a one-line reason why not."""
    from sqlalchemy.exc import SQLAlchemyError

    from calibration.settings import database_url
    from calibration.store import Store

    try:
        url = database_url(db)
    except OSError as exc:
        raise ValueError(f"--db {db!r}: cannot create its folder {exc.filename} "
                         f"({exc.strerror})") from None
    if url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
        if path.exists() and not os.access(path, os.W_OK):
            raise ValueError(f"--db {db!r}: {path} is not writable")
    try:
        return Store(db)
    except (SQLAlchemyError, OSError) as exc:
        reason = str(getattr(exc, "orig", None) or exc).split("\n")[0]
        raise ValueError(f"--db {db!r}: cannot open the results store ({reason}); give a "
                         "SQLAlchemy URL (e.g. sqlite:///runs/kvpareto.db) or a SQLite "
                         "file path in a writable folder") from None
