"""Trains a testbed model (Llama / Qwen2 / Mistral class) on the task mixture; saves it in bf16.

Stage A teaches copying (induction), stage B key-value retrieval + passkey with a doubling length
curriculum, stage C decays the learning rate. `python -m calibration.testbed.train --help`.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from calibration.tasks import TASKS
from calibration.tasks.base import Episode
from calibration.testbed import data
from calibration.testbed.architectures import ARCHS, Dims, make_config, make_model
from calibration.testbed.evaluate import table
from calibration.testbed.tokenizer import build_tokenizer, save_tokenizer


@dataclass(frozen=True)
class TrainConfig:
    """Recipe; the defaults are the one used for the shipped models (one CPU thread, ~17 min)."""

    arch: str = "llama"
    seed: int = 0
    dims: Dims = field(default_factory=Dims)
    lr: float = 1e-3
    final_lr: float = 1e-4
    warmup_steps: int = 50
    repeat_batch: int = 64  # rows per repeat batch
    stage_a_max_steps: int = 2000
    stage_a_target_loss: float = 0.3  # held-out repeat loss that ends stage A
    # Stage B curriculum (max row length). Ending at 2,048 keeps the bench's 2x point (1,024) inside
    # what the model was trained on: trained to 1,024 only, its 16-bit answer NLL there was ~100x
    # that at 512 and quantization error grew with it (README, issue 5).
    lengths: tuple[int, ...] = (64, 128, 256, 512, 1024, 2048)
    tokens_per_step: int = 4096
    retrieval_fraction: float = 0.75  # else a repeat batch
    min_steps_per_length: int = 50
    min_steps_last_length: int = 300
    max_steps_per_length: int = 1500
    advance_em: float = 0.9  # held-out exact match that doubles the length
    eval_every: int = 25
    eval_samples: int = 48
    stage_c_steps: int = 300
    final_lengths: tuple[int, ...] = (512, 1024, 2048)
    final_samples: int = 100


def masked_loss(model: torch.nn.Module, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy of next-token prediction at positions where mask [B, T] is true."""
    logits = model(input_ids=ids).logits[:, :-1]
    m = mask[:, 1:]
    return F.cross_entropy(logits[m], ids[:, 1:][m])


@torch.no_grad()
def exact_match(model: torch.nn.Module, rows: list[data.Row], pad_id: int, chunk: int = 8) -> float:
    """Fraction of rows whose every masked token is the argmax (teacher-forced greedy answer)."""
    model.eval()
    hits = 0
    for i in range(0, len(rows), chunk):
        ids, mask = data.collate(rows[i : i + chunk], pad_id)
        pred = model(input_ids=ids).logits[:, :-1].argmax(-1)
        ok = (pred == ids[:, 1:]) | ~mask[:, 1:]
        hits += int(ok.all(dim=1).sum())
    model.train()
    return hits / max(1, len(rows))


def train(cfg: TrainConfig, out_dir: str | Path, log: bool = True) -> dict[str, object]:
    """Runs stages A-C, saves the bf16 model + tokenizer in out_dir, returns a report dict."""
    if cfg.arch not in ARCHS:
        raise ValueError(f"unknown arch {cfg.arch!r}; allowed: {', '.join(sorted(ARCHS))}")
    t0 = time.time()
    torch.set_num_threads(1)
    torch.manual_seed(cfg.seed)
    rng = random.Random(cfg.seed)
    tok = build_tokenizer()
    pad, bos, eos = tok.pad_token_id, tok.bos_token_id, tok.eos_token_id
    config = make_config(cfg.arch, cfg.dims, len(tok), pad, bos, eos)
    config._attn_implementation = "sdpa"
    model = make_model(cfg.arch, config)
    model.train()
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, betas=(0.9, 0.98), weight_decay=0.0)
    lo, hi = 4, len(tok)  # repeat tokens: every non-special word
    report: dict[str, object] = {"config": asdict(cfg), "stages": []}
    step = 0

    def say(msg: str) -> None:
        if log:
            print(f"[{time.time() - t0:7.1f}s step {step:5d}] {msg}", flush=True)

    def update(rows: list[data.Row], lr: float) -> float:
        nonlocal step
        for g in opt.param_groups:
            g["lr"] = lr * min(1.0, (step + 1) / cfg.warmup_steps)
        loss = masked_loss(model, *data.collate(rows, pad))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        step += 1
        return loss.item()

    def repeat_rows(r: random.Random) -> list[data.Row]:
        return [data.repeat_row(r, lo, hi, bos) for _ in range(cfg.repeat_batch)]

    def mixed_batch(max_len: int) -> list[data.Row]:
        if rng.random() >= cfg.retrieval_fraction:
            return repeat_rows(rng)
        n = max(1, cfg.tokens_per_step // max_len)
        return [data.retrieval_row(tok, rng, max_len, bos) for _ in range(n)]

    def heldout(length: int) -> list[data.Row]:
        rows = []
        for name, share in (("kv_retrieval", 2), ("passkey", 1)):
            n = max(1, cfg.eval_samples * share // 3)
            for s in TASKS[name].generate(tok, length, n, seed=10_000 + cfg.seed):
                ep = Episode(s.context, ((s.question, s.answer),))
                rows.append(data.episode_row(tok, ep, bos))
        return rows

    # Stage A: copying.
    held_repeat = data.collate(repeat_rows(random.Random(cfg.seed + 7_777)), pad)
    a_loss = math.inf
    while step < cfg.stage_a_max_steps:
        update(repeat_rows(rng), cfg.lr)
        if step % 50 == 0:
            with torch.no_grad():
                a_loss = float(masked_loss(model, *held_repeat))
            say(f"stage A held-out repeat loss {a_loss:.3f}")
            if a_loss < cfg.stage_a_target_loss:
                break
    report["stages"].append({"stage": "A", "steps": step, "heldout_loss": a_loss})  # type: ignore[attr-defined]

    # Stage B: retrieval curriculum.
    for i, max_len in enumerate(cfg.lengths):
        held, first, em = heldout(max_len), step, 0.0
        min_steps = (
            cfg.min_steps_last_length if i == len(cfg.lengths) - 1 else cfg.min_steps_per_length
        )
        while step - first < cfg.max_steps_per_length:
            loss = update(mixed_batch(max_len), cfg.lr)
            if (step - first) % cfg.eval_every == 0:
                em = exact_match(model, held, pad)
                say(f"stage B L={max_len} loss {loss:.3f} held-out exact match {em:.2f}")
                if step - first >= min_steps and em >= cfg.advance_em:
                    break
        report["stages"].append({"stage": "B", "length": max_len, "steps": step - first, "em": em})  # type: ignore[attr-defined]

    # Stage C: cosine decay to final_lr at the longest length.
    first = step
    for j in range(cfg.stage_c_steps):
        frac = 0.5 * (1 + math.cos(math.pi * j / max(1, cfg.stage_c_steps)))
        update(mixed_batch(cfg.lengths[-1]), cfg.final_lr + (cfg.lr - cfg.final_lr) * frac)
    em = exact_match(model, heldout(cfg.lengths[-1]), pad)
    say(f"stage C done, held-out exact match at {cfg.lengths[-1]}: {em:.2f}")
    report["stages"].append({"stage": "C", "steps": step - first, "em": em})  # type: ignore[attr-defined]
    report["train_seconds"] = round(time.time() - t0, 1)

    save(model, tok, out_dir)
    acc = table(out_dir, ["kv_retrieval", "passkey"], cfg.final_lengths, cfg.final_samples)
    for name, row in acc.items():
        say(f"bf16 exact match {name}: " + ", ".join(f"{k}={v:.2f}" for k, v in row.items()))
    report["bf16_exact_match"] = acc
    report["wall_seconds"] = round(time.time() - t0, 1)
    return report


def save(model: Any, tok: object, out_dir: str | Path) -> None:
    """config.json + model.safetensors (bfloat16) + tokenizer files, as an ordinary HF folder."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    model = model.to(torch.bfloat16)
    model.config._attn_implementation = None  # let the loader choose
    model.save_pretrained(str(out), safe_serialization=True)
    save_tokenizer(out)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--arch", required=True, choices=sorted(ARCHS))
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--out", required=True, help="output model folder, e.g. models/testbed/testbed-llama"
    )
    p.add_argument("--lengths", type=_lengths, default=TrainConfig.lengths,
                   help="stage-B curriculum, the longest row of each stage, comma-separated "
                        "(default %(default)s)")
    p.add_argument("--final-lengths", type=_lengths, default=TrainConfig.final_lengths,
                   help="lengths of the closing bf16 exact-match table (default %(default)s)")
    args = p.parse_args(argv)
    cfg = TrainConfig(arch=args.arch, seed=args.seed, lengths=args.lengths,
                      final_lengths=args.final_lengths)
    report = train(cfg, args.out)
    print(json.dumps(report, indent=1, default=str), flush=True)


def _lengths(text: str) -> tuple[int, ...]:
    """Increasing positive token counts, comma-separated (an argparse type)."""
    try:
        values = tuple(int(x) for x in text.split(",") if x.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}"
                                         ) from None
    if not values or values[0] <= 0 or list(values) != sorted(set(values)):
        raise argparse.ArgumentTypeError(f"expected increasing positive lengths, got {text!r}")
    return values


if __name__ == "__main__":
    main()
