"""One run's measurement on a real model: accuracy via calibration.harness, peak via the probe.

Accuracy, fidelity, answer NLL and K/V errors come from `calibration.harness.evaluate_many` (runs
that share weights, task, context and prompts are measured together); the peak is the engine's
probe of a prefill of exactly `context_tokens` tokens of the task's first prompt.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import torch

from calibration.engine.loading import load_model
from calibration.engine.probe import probe_prefill
from calibration.store.records import Measurement, RunKey
from calibration.tasks import parse_task
from models.space import Config, KVScheme, parse_config

MAX_NEW_TOKENS = 6  # testbed answers are at most 3 number words + '.'
WARMUP_CHUNK = 64


def weights_folder(model_dir: str, config: Config) -> Path:
    """The folder holding the configuration's weights (an AWQ folder is made once, then reused)."""
    if config.weights.bits == 16:
        return Path(model_dir)
    from calibration.awq_cache import awq_folder

    return awq_folder(Path(model_dir), config.weights.id)


@lru_cache(maxsize=4)
def _model(folder: str, device: str, attention: str = "sdpa") -> Any:
    """The loaded model, warmed up: a first forward pass may make one-time allocations
    (kernel workspaces, lazily built buffers) that a probe would count as transient."""
    model = load_model(folder, device, attention=attention)
    ids = torch.zeros(1, 2 * WARMUP_CHUNK, dtype=torch.long, device=device)
    probe_prefill(model, ids, KVScheme(), WARMUP_CHUNK)
    return model


def probe_ids(model_dir: str, task: str, context_tokens: int, seed: int) -> torch.Tensor:
    """[1, context_tokens] token ids: the task's first prompt, cut (or repeated) to length."""
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(model_dir, trust_remote_code=False)
    s = parse_task(task).generate(tok, context_tokens, 1, seed)[0]
    ids = torch.tensor([tok(s.context + s.question)["input_ids"]])
    reps = -(-context_tokens // ids.shape[1])
    return ids.repeat(1, reps)[:, :context_tokens]


def _mean(values: tuple[float, ...]) -> float | None:
    return sum(values) / len(values) if values else None


def measure(model_dir: str, config_id: str, task: str, context_tokens: int, n: int, seed: int,
            device: str = "cpu", attention: str = "sdpa") -> Measurement:
    """Measure one run; raises on failure (the runner records it). n = 0: memory only.
    `attention` is the probe's (accuracy runs use sdpa: the two compute the same answers)."""
    key = RunKey("", config_id, context_tokens, task, seed, n, device)
    return measure_group(model_dir, [key], attention)[0]


def group_of(key: RunKey) -> tuple[str, str, int, int, int, str]:
    """What runs measured together must share: weights, task, context, n, seed, device."""
    return (parse_config(key.config).weights.id, key.task, key.context_tokens, key.n, key.seed,
            key.device)


def measure_group(model_dir: str, keys: Sequence[RunKey], attention: str = "sdpa",
                  threads: int = 1) -> list[Measurement]:
    """Measure runs of one `group_of`: each configuration's peak probed on its own (on the
    caller's threads), the accuracy of all from one `evaluate_many` on `threads` (one 16-bit
    reference per prompt, the answer passes as the rows of a batch). Raises on failure (the
    runner then measures the keys one by one)."""
    from calibration.harness import evaluate_many

    first = keys[0]
    task = parse_task(first.task)  # refuses an unknown name or setting
    if any(group_of(k) != group_of(first) for k in keys):
        raise ValueError("runs measured together must share weights, task, context, n, seed "
                         "and device")
    configs = [parse_config(k.config) for k in keys]
    folder = str(weights_folder(model_dir, configs[0]))
    model = _model(folder, first.device, attention)
    ids = probe_ids(model_dir, first.task, first.context_tokens, first.seed)
    out = []
    for config in configs:
        peak, _ = probe_prefill(model, ids, config.kv, config.chunk)
        out.append(Measurement(
            peak_bytes=peak.peak_bytes, weights_bytes=peak.weights_bytes,
            cache_bytes=peak.cache_bytes, transient_bytes=peak.transient_bytes,
            phase_bytes=peak.phase_bytes))
    if first.n == 0:
        return out
    if attention != "sdpa":
        raise ValueError(f"accuracy runs use sdpa attention; {attention} is for memory-only "
                         "probes (n = 0)")
    max_new = int(getattr(task, "max_new_tokens", MAX_NEW_TOKENS))  # prose tasks: their own
    probe_threads = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        results = evaluate_many(folder, configs, task, first.context_tokens, first.n,
                                first.seed, max_new, first.device)
    finally:
        torch.set_num_threads(probe_threads)
    for m, r in zip(out, results, strict=True):
        m.exact_match, m.exact_match_lower, m.exact_match_upper = (
            r.accuracy, r.accuracy_low, r.accuracy_high)
        m.top1, m.kl, m.answer_nll = r.top1_agreement, max(r.mean_kl, 0.0), r.answer_nll
        m.k_error, m.v_error = _mean(r.k_error), _mean(r.v_error)
    return out
