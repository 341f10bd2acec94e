"""`QuantizedKVCache`: a `transformers.cache_utils.Cache` of `QuantizedKVLayer`s, one per layer.

Pass it as `past_key_values=`; `nbytes` is what `models.memory.kv_cache_bytes` predicts.
"""

from __future__ import annotations

from typing import Any

from transformers.cache_utils import Cache

from calibration.kvcache.layer import QuantizedKVLayer
from models.space import KVScheme


class QuantizedKVCache(Cache):
    """The KV cache of a whole model under one `KVScheme` (the k16v16 baseline included)."""

    def __init__(self, scheme: KVScheme, num_layers: int, track_error: bool = False,
                 smooth_keys: bool = False) -> None:
        """`smooth_keys` on a k16v16 scheme: a 16-bit cache of smoothed keys, the source of
        `quantized_copy` for schemes with key smoothing."""
        if num_layers <= 0:
            raise ValueError(f"num_layers must be a positive integer; got {num_layers!r}")
        self.scheme = scheme
        self.smooth_keys = scheme.smooth_keys or smooth_keys
        self.spans: Any = None  # a probe's phase marker (calibration.engine.phases), when set
        super().__init__(layers=[QuantizedKVLayer(scheme, track_error, smooth_keys)
                                 for _ in range(num_layers)])

    def update(
        self, key_states: Any, value_states: Any, layer_idx: int, *args: Any, **kwargs: Any
    ) -> tuple[Any, Any]:
        if self.spans is None:
            return super().update(key_states, value_states, layer_idx, *args, **kwargs)
        self.spans.enter("cache_update")
        try:
            return super().update(key_states, value_states, layer_idx, *args, **kwargs)
        finally:
            self.spans.exit("cache_update")

    @classmethod
    def for_model(cls, scheme: KVScheme, model: Any, track_error: bool = False,
                  smooth_keys: bool = False) -> QuantizedKVCache:
        """A cache sized for a Hugging Face causal LM (reads `config.num_hidden_layers`)."""
        return cls(scheme, int(model.config.num_hidden_layers), track_error, smooth_keys)

    @property
    def nbytes(self) -> int:
        """Sum over layers of the bytes really held."""
        return sum(layer.nbytes for layer in self.layers)  # type: ignore[attr-defined]

    def quantized_copy(self, scheme: KVScheme, track_error: bool = False) -> QuantizedKVCache:
        """Feed this k16v16 cache's K, V [B, H, T, D] per layer into a fresh cache of `scheme`
        in one update each — what an unchunked prefill under `scheme` would hold, to the bit.
        A smoothed scheme copies a smoothed 16-bit cache (its keys and their mean as they are):
        an unchunked prefill attends to its keys before any flush, so every smoothed scheme's
        prefill is that cache's."""
        if not self.scheme.is_baseline:
            raise ValueError(
                f"only a k16v16 cache can be re-quantized; this one is {self.scheme.id}"
            )
        if scheme.smooth_keys != self.smooth_keys:
            raise ValueError(
                f"{scheme.id} {'smooths' if scheme.smooth_keys else 'does not smooth'} keys but "
                f"this 16-bit cache {'does' if self.smooth_keys else 'does not'}: copy from a "
                "16-bit cache made with smooth_keys equal to the scheme's"
            )
        copy = QuantizedKVCache(scheme, len(self.layers), track_error)
        for idx, layer in enumerate(self.layers):
            keys, values = layer.key_store.recent, layer.value_store.recent  # type: ignore[attr-defined]
            if keys is not None and values is not None:
                copy.layers[idx].fill(keys, values, layer.key_mean)  # type: ignore[attr-defined]
        return copy

    def remember_decoded(self) -> QuantizedKVCache:
        """Keep every layer's quantized tokens decoded from now on (decode steps then decode only
        new flushes); the held bytes `nbytes` reports stay the scheme's. Returns self."""
        for layer in self.layers:
            layer.key_store.remember_decoded()  # type: ignore[attr-defined]
            layer.value_store.remember_decoded()  # type: ignore[attr-defined]
        return self

    def reconstruction_errors(self) -> list[tuple[float, float]]:
        """Per layer (K, V) relative RMS reconstruction error (needs `track_error=True`)."""
        return [layer.reconstruction_error() for layer in self.layers]  # type: ignore[attr-defined]
