"""The 4-bit weights' own KL on one prompt set, measured once and kept in the store.

Runs measure KL against their own weights with a 16-bit cache (the cache's damage); the
weights' own KL vs the 16-bit weights is the rest (`calibration.harness.weights_kl`).
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

from calibration.store import Store


class WeightsProbe(NamedTuple):
    """One measurement of the weights' own KL: which 4-bit weights, on which prompts (the
    store's key)."""

    weights_id: str
    task: str
    context_tokens: int
    seed: int
    n: int


def stored_weights_kl(store: Store, model: str, model_dir: str | Path, probe: WeightsProbe,
                      device: str = "cpu") -> tuple[float, bool]:
    """(KL, whether it was measured now): read from the store, else measured and stored."""
    weights_id, task, context_tokens, seed, n = probe
    have = store.weights_kl(model, device)
    if probe in have:
        return have[probe], False
    import statistics

    from calibration.awq_cache import awq_folder
    from calibration.harness.evaluate import weights_kl_prompts
    from calibration.measurement import MAX_NEW_TOKENS

    folder = awq_folder(Path(model_dir), weights_id)  # 4-bit weights: their AWQ folder
    kls = weights_kl_prompts(folder, model_dir, task, context_tokens, n, seed, MAX_NEW_TOKENS,
                             device)
    kl = max(statistics.fmean(kls), 0.0) if kls else float("nan")
    sd = statistics.stdev(kls) if len(kls) > 1 else None
    store.save_weights_kl(model, device, (weights_id, task, context_tokens, seed, n), kl, sd)
    return kl, True
