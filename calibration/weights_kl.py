"""The 4-bit weights' own KL on one prompt set, measured once and kept in the store.

Runs measure KL against their own weights with a 16-bit cache (the cache's damage); the
weights' own KL vs the 16-bit weights is the rest (`calibration.harness.weights_kl`).
"""

from __future__ import annotations

from pathlib import Path

from calibration.store import Store


def stored_weights_kl(store: Store, model: str, model_dir: str | Path, weights_id: str,
                      task: str, context_tokens: int, seed: int, n: int,
                      device: str = "cpu") -> tuple[float, bool]:
    """(KL, whether it was measured now): read from the store, else measured and stored."""
    key = (weights_id, task, context_tokens, seed, n)
    have = store.weights_kl(model, device)
    if key in have:
        return have[key], False
    from calibration.awq_cache import awq_folder
    from calibration.harness import weights_kl
    from calibration.measurement import MAX_NEW_TOKENS

    folder = awq_folder(Path(model_dir), weights_id)  # 4-bit weights: their AWQ folder
    kl = weights_kl(folder, model_dir, task, context_tokens, n, seed, MAX_NEW_TOKENS, device)
    store.save_weights_kl(model, device, *key, kl)
    return kl, True
