"""One run's measurement on a real model: accuracy via calibration.harness, peak via the probe.

Accuracy, fidelity, answer NLL and K/V errors come from `calibration.harness.evaluate`; the peak
is the engine's probe of a prefill of exactly `context_tokens` tokens of the task's first prompt.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import torch

from calibration.engine.loading import load_model
from calibration.engine.probe import probe_prefill
from calibration.store.records import Measurement
from calibration.tasks import TASKS
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
    s = TASKS[task].generate(tok, context_tokens, 1, seed)[0]
    ids = torch.tensor([tok(s.context + s.question)["input_ids"]])
    reps = -(-context_tokens // ids.shape[1])
    return ids.repeat(1, reps)[:, :context_tokens]


def _mean(values: tuple[float, ...]) -> float | None:
    return sum(values) / len(values) if values else None


def measure(model_dir: str, config_id: str, task: str, context_tokens: int, n: int, seed: int,
            device: str = "cpu", attention: str = "sdpa") -> Measurement:
    """Measure one run; raises on failure (the runner records it). n = 0: memory only.
    `attention` is the probe's (accuracy runs use sdpa: the two compute the same answers)."""
    from calibration.harness import evaluate

    if task not in TASKS:
        raise ValueError(f"unknown task {task!r}; allowed: {', '.join(sorted(TASKS))}")
    config = parse_config(config_id)
    folder = str(weights_folder(model_dir, config))
    model = _model(folder, device, attention)
    peak, _ = probe_prefill(model, probe_ids(model_dir, task, context_tokens, seed), config.kv,
                            config.chunk)
    m = Measurement(peak_bytes=peak.peak_bytes, weights_bytes=peak.weights_bytes,
                    cache_bytes=peak.cache_bytes, transient_bytes=peak.transient_bytes,
                    phase_bytes=peak.phase_bytes)
    if n == 0:
        return m
    if attention != "sdpa":
        raise ValueError(f"accuracy runs use sdpa attention; {attention} is for memory-only "
                         "probes (n = 0)")
    max_new = int(getattr(TASKS[task], "max_new_tokens", MAX_NEW_TOKENS))  # prose tasks: own
    r = evaluate(folder, config, task, context_tokens, n, seed, max_new, device)
    m.exact_match, m.exact_match_lower, m.exact_match_upper = (
        r.accuracy, r.accuracy_low, r.accuracy_high)
    m.top1, m.kl, m.answer_nll = r.top1_agreement, max(r.mean_kl, 0.0), r.answer_nll
    m.k_error, m.v_error = _mean(r.k_error), _mean(r.v_error)
    return m
