"""`evaluate`: one configuration × one task at one context length → accuracy, fidelity, errors.

Per sample the context is prefilled (chunked as configured) and its cache quantized BEFORE the
question tokens run; question + answer are then teacher-forced (NLL, KL, top-1 vs the 16-bit
cache) and the answer generated greedily (exact match). Unchunked configurations reuse one
16-bit context prefill per sample (one more, of smoothed keys, for those with key smoothing):
re-quantized, it equals their prefill bit for bit; chunked ones prefill for real
(`calibration.harness.contexts` builds them all). The answer passes of up to
`ANSWER_ROWS` configurations (and the reference) run as the rows of one batch.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from torch import Tensor
from transformers import AutoTokenizer

from calibration.engine.driver import forward_logits, greedy_decode
from calibration.engine.gqa_attention import use_gqa_sdpa
from calibration.engine.loading import load_model
from calibration.harness.contexts import (
    SampleIds,
    group_caches,
    reference_cache,
    sample_ids,
)
from calibration.harness.stats import Reference, outlier_ratio, wilson_interval
from calibration.kvcache import QuantizedKVCache, StackedKVCache
from calibration.tasks import Task, parse_task
from models.space import Config


@dataclass(frozen=True)
class EvalResult:
    """Means over n samples; per-layer tuples have one entry per decoder layer."""

    config_id: str
    task: str
    context_tokens: int
    n: int
    accuracy: float  # exact match
    accuracy_low: float  # Wilson 95%
    accuracy_high: float
    top1_agreement: float  # vs the 16-bit cache, over question + answer positions
    mean_kl: float  # KL(p_16bit ‖ p_config) in nats, same positions
    answer_nll: float  # teacher-forced mean −log p of the answer tokens
    k_error: tuple[float, ...]  # relative RMS reconstruction error of K, per layer
    v_error: tuple[float, ...]
    key_outlier_ratio: tuple[float, ...]  # max/median channel mean |k| of the context keys
    kv_cache_bytes: int  # held after the last sample's context prefill
    predictions: tuple[str, ...]
    # per sample, in order (paired comparisons between configurations on the same prompts)
    em_each: tuple[float, ...] = ()
    kl_each: tuple[float, ...] = ()
    nll_each: tuple[float, ...] = ()


# Configurations whose answer passes share one batch (the first batch of a sample also holds the
# 16-bit reference row): see docs/real_models.md for the measured speed-up.
ANSWER_ROWS = 16


@dataclass
class _Pass:
    kl: Tensor  # [N_q + N_a − 1] KL(p_reference ‖ p) at each question and answer position
    agree: Tensor  # [N_q + N_a − 1] top-1 agreement with the reference
    nll: float
    prediction: Tensor  # generated ids [N]


def answer_pass(model: Any, cache: QuantizedKVCache, q_ids: Tensor, a_ids: Tensor,
                max_new_tokens: int, eos: int | None, reference: Reference | None = None
                ) -> tuple[_Pass, Reference]:
    passes, ref = answer_passes(model, [cache], q_ids, a_ids, max_new_tokens, eos, reference)
    return passes[0], ref


def answer_passes(model: Any, caches: list[QuantizedKVCache], q_ids: Tensor, a_ids: Tensor,
                  max_new_tokens: int, eos: int | None, reference: Reference | None = None
                  ) -> tuple[list[_Pass], Reference]:
    """The answer pass of each cache (question, greedy answer, teacher-forced answer), all the
    caches as rows of one batch: a decode step reads the weights once for every row. Each row
    is scored against `reference` (None: the first row is the reference), which is returned.
    The caches are consumed (question and answer appended); the greedy answer is rewound."""
    rows = len(caches)
    for cache in caches:
        cache.remember_decoded()
    stacked = StackedKVCache(caches)
    logits_q = forward_logits(model, q_ids.expand(rows, -1), stacked)
    before = stacked.mark()
    generated = greedy_decode(model, stacked, logits_q[:, -1], max_new_tokens, eos)
    stacked.rewind(before)
    parts = [logits_q]
    if a_ids.shape[1] > 1:
        parts.append(forward_logits(model, a_ids[:, :-1].expand(rows, -1), stacked))
    ref = reference or Reference([part[0] for part in parts])
    out = []
    for i in range(rows):
        kl, agree, log_p = ref.score([part[i] for part in parts], a_ids[0], q_ids.shape[1] - 1)
        out.append(_Pass(kl, agree, float(-log_p.mean()), _until_eos(generated[i], eos)))
    return out, ref


def _until_eos(tokens: Tensor, eos: int | None) -> Tensor:
    """A row's tokens up to its first end of sequence (kept), as a one-row decode stops."""
    if eos is None:
        return tokens
    hits = (tokens == eos).nonzero()
    return tokens[: int(hits[0, 0]) + 1] if hits.numel() else tokens


def reference_pass(model: Any, ids: SampleIds, max_new_tokens: int, eos: int | None,
                   against: Reference | None = None
                   ) -> tuple[QuantizedKVCache, _Pass, Reference]:
    """The 16-bit-cache pass of a sample: its prefilled context cache (left as it was after the
    context, for quantized copies), the answer pass on a copy of it scored `against` another
    model's reference, and that reference (None: the pass's own distributions)."""
    cache = reference_cache(model, ids)
    passes, ref = answer_passes(model, [copy.deepcopy(cache)], ids.question, ids.answer,
                                max_new_tokens, eos, against)
    return cache, passes[0], ref


def _check_weights(model_dir: Path, configs: list[Config]) -> None:
    quant = json.loads((model_dir / "config.json").read_text()).get("quantization_config") or {}
    folder = (4, int(quant["group_size"])) if quant else (16, None)
    for c in configs:
        if (c.weights.bits, c.weights.group) != folder:
            raise ValueError(
                f"{model_dir} holds {'w16' if folder[0] == 16 else f'AWQ int4 group {folder[1]}'}"
                f" weights but configuration {c.id} asks for {c.weights.id}; "
                "pass the matching folder"
            )


def _task(task: str | Task) -> Task:
    if isinstance(task, Task):
        return task
    return parse_task(task)  # a registered name, or name:setting=int,... (a harder variant)


def evaluate_many(
    model_dir: str | Path, configs: list[Config], task: str | Task, context_tokens: int, n: int,
    seed: int, max_new_tokens: int = 12, device: str = "cpu",
) -> list[EvalResult]:
    """Evaluate several configurations sharing one weights folder on the same n samples."""
    model_dir = Path(model_dir)
    _check_weights(model_dir, configs)
    the_task = _task(task)
    model = use_gqa_sdpa(load_model(model_dir, device, packed=False))
    tok = AutoTokenizer.from_pretrained(model_dir, trust_remote_code=False)
    samples = the_task.generate(tok, context_tokens, n, seed)
    layers = int(model.config.num_hidden_layers)
    acc: dict[str, dict[str, Any]] = {
        c.id: {"em": [], "kl": [], "agree": [], "nll": [], "k": [], "v": [], "pred": [],
               "bytes": 0}
        for c in configs
    }
    runs: dict[str, _Pass] = {}
    outliers: list[list[float]] = []
    for sample in samples:
        ids = sample_ids(tok, sample)
        base_ctx = reference_cache(model, ids)
        outliers.append([outlier_ratio(layer.key_store.recent) for layer in base_ctx.layers])
        # the 16-bit reference is row 0 of the first batch; an unchunked 16-bit configuration
        # reuses its pass
        own = [c for c in configs if not (c.kv.is_baseline and c.chunk is None)]
        base: _Pass | None = None
        ref: Reference | None = None
        smoothed: QuantizedKVCache | None = None  # one smoothed prefill serves every such scheme
        for start in range(0, max(len(own), 1), ANSWER_ROWS):
            group = own[start : start + ANSWER_ROWS]
            if smoothed is None and any(c.chunk is None and c.kv.smooth_keys for c in group):
                smoothed = reference_cache(model, ids, smooth_keys=True)
            caches = group_caches(model, ids, base_ctx, group, smoothed)
            for c, cache in zip(group, caches, strict=True):
                acc[c.id]["bytes"] = cache.nbytes
                acc[c.id]["errors"] = cache.reconstruction_errors()
            lead = [copy.deepcopy(base_ctx)] if base is None else []
            passes, ref = answer_passes(model, lead + caches, ids.question, ids.answer,
                                        max_new_tokens, tok.eos_token_id, ref)
            if base is None:
                base, passes = passes[0], passes[1:]
            runs.update(zip((c.id for c in group), passes, strict=True))
        assert base is not None
        for c in configs:
            a = acc[c.id]
            if c.id not in runs:  # the reference itself
                a["bytes"], a["errors"] = base_ctx.nbytes, base_ctx.reconstruction_errors()
            run = runs.pop(c.id, base)
            text = str(tok.decode(run.prediction, skip_special_tokens=True))
            a["em"].append(float(the_task.score(text, sample)))
            a["kl"].append(float(run.kl.mean()))
            a["agree"].append(float(run.agree.mean()))
            a["nll"].append(run.nll)
            a["k"].append([0.0 if e[0] != e[0] else e[0] for e in a["errors"]])
            a["v"].append([0.0 if e[1] != e[1] else e[1] for e in a["errors"]])
            a["pred"].append(text)

    def mean(xs: list[float]) -> float:
        return sum(xs) / len(xs) if xs else float("nan")

    def per_layer(rows: list[list[float]]) -> tuple[float, ...]:
        return tuple(mean([r[i] for r in rows]) for i in range(layers)) if rows else ()

    results = []
    for c in configs:
        a = acc[c.id]
        lo, hi = wilson_interval(sum(a["em"]), len(samples))
        results.append(EvalResult(
            c.id, the_task.name, context_tokens, len(samples), sum(a["em"]) / max(len(samples), 1),
            lo, hi, mean(a["agree"]), mean(a["kl"]), mean(a["nll"]), per_layer(a["k"]),
            per_layer(a["v"]), per_layer(outliers), a["bytes"], tuple(a["pred"]),
            tuple(a["em"]), tuple(a["kl"]), tuple(a["nll"]),
        ))
    return results


def evaluate(
    model_dir: str | Path, config: Config, task: str | Task, context_tokens: int, n: int,
    seed: int, max_new_tokens: int = 12, device: str = "cpu",
) -> EvalResult:
    """Exact-match accuracy (Wilson 95%), fidelity vs the 16-bit cache, answer NLL, K/V error
    per layer and key outlier ratio of one configuration on n seeded samples of `task`."""
    return evaluate_many(model_dir, [config], task, context_tokens, n, seed, max_new_tokens,
                         device)[0]


def weights_kl(
    model_dir: str | Path, reference_dir: str | Path, task: str | Task, context_tokens: int,
    n: int, seed: int, max_new_tokens: int = 12, device: str = "cpu",
) -> float:
    """Mean KL(p_reference ‖ p_model) in nats over question + answer positions, both with a
    16-bit cache, on the same n seeded samples: what the weights alone (AWQ) do to the answers.

    `evaluate` measures every configuration against its own weights with a 16-bit cache, so its
    KL holds the KV cache's damage; this is the rest (the two add: `bench/awq_kl.py`)."""
    kls = weights_kl_prompts(model_dir, reference_dir, task, context_tokens, n, seed,
                             max_new_tokens, device)
    return max(sum(kls) / len(kls), 0.0) if kls else float("nan")


def weights_kl_prompts(
    model_dir: str | Path, reference_dir: str | Path, task: str | Task, context_tokens: int,
    n: int, seed: int, max_new_tokens: int = 12, device: str = "cpu",
) -> list[float]:
    """`weights_kl` of each of the n samples (their spread is the prompt-to-prompt part of the
    weights' own KL)."""
    the_task = _task(task)
    model, reference = (use_gqa_sdpa(load_model(Path(folder), device, packed=False))
                        for folder in (model_dir, reference_dir))
    tok = AutoTokenizer.from_pretrained(reference_dir, trust_remote_code=False)
    kls = []
    for sample in the_task.generate(tok, context_tokens, n, seed):
        ids = sample_ids(tok, sample)
        ref = reference_pass(reference, ids, max_new_tokens, tok.eos_token_id)[2]
        out = reference_pass(model, ids, max_new_tokens, tok.eos_token_id, against=ref)[1]
        kls.append(float(out.kl.mean()))
    return kls
