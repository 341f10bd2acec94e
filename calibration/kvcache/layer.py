"""`QuantizedKVLayer`: one decoder layer's quantized KV cache behind transformers' cache-layer seam.

Implements `transformers.cache_utils.CacheLayerMixin` (update, lazy init, lengths, mask sizes)
for any `models.space.KVScheme`; the byte layout is the one `models.memory` documents.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor
from transformers.cache_utils import CacheLayerMixin

from calibration.kvcache.grouping import grouping_for
from calibration.kvcache.store import SideStore, storage_bytes
from models.space import BLOCK_GROUPS, KVScheme


class QuantizedKVLayer(CacheLayerMixin):
    """K and V of one layer: packed codes + fp16 scale/zero + a 16-bit window of recent tokens.

    `update` receives K, V [B, H_kv, T_new, D] (keys already rotated by RoPE) and returns all
    K, V [B, H_kv, T, D] in the model dtype: older tokens dequantized, the window and the new
    tokens exact. With key smoothing, the per-channel mean μ [B, H_kv, 1, D] (fp16) of the first
    update's keys is subtracted from every key, 16-bit ones included; q·(k − μ) shifts all scores
    of a query by the same constant, so softmax — hence attention — needs nothing added back.
    """

    is_compileable = False
    is_sliding = False
    is_croppable = False

    def __init__(self, scheme: KVScheme, track_error: bool = False, smooth_keys: bool = False,
                 **kwargs: Any) -> None:
        super().__init__()
        self.scheme = scheme
        # a 16-bit cache may smooth too: the context every smoothed unchunked scheme prefills
        self.smooth_keys = scheme.smooth_keys or smooth_keys
        quant_k, quant_v = scheme.k_bits < 16, scheme.v_bits < 16
        residual = scheme.residual
        self.key_store = SideStore(
            scheme.k_bits, grouping_for(scheme, True) if quant_k else None, residual, track_error
        )
        self.value_store = SideStore(
            scheme.v_bits, grouping_for(scheme, False) if quant_v else None, residual, track_error
        )
        self.key_mean: Tensor | None = None  # [B, H_kv, 1, D] fp16, with key smoothing
        self.tokens = 0

    def lazy_initialization(self, key_states: Tensor, value_states: Tensor) -> None:
        head_dim = key_states.shape[-1]
        if self.scheme.granularity == "block" and head_dim % int(self.scheme.group or 1):
            allowed = ", ".join(str(g) for g in BLOCK_GROUPS if head_dim % g == 0) or "none"
            raise ValueError(
                f"block group {self.scheme.group} does not divide head_dim {head_dim}; "
                f"allowed block groups: {allowed}"
            )
        self.dtype, self.device = key_states.dtype, key_states.device
        self.is_initialized = True

    def update(
        self,
        key_states: Tensor,
        value_states: Tensor,
        cache_kwargs: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> tuple[Tensor, Tensor]:
        """Append K, V [B, H_kv, T_new, D]; return K, V [B, H_kv, T, D] for attention."""
        if not self.is_initialized:
            self.lazy_initialization(key_states, value_states)
        if self.smooth_keys:
            if self.key_mean is None:
                self.key_mean = key_states.float().mean(dim=2, keepdim=True).to(torch.float16)
            key_states = (key_states.float() - self.key_mean.float()).to(key_states.dtype)
        self.tokens += key_states.shape[2]
        keys = self.key_store.append(key_states)
        values = self.value_store.append(value_states)
        return keys, values

    def fill(self, keys: Tensor, values: Tensor, key_mean: Tensor | None) -> None:
        """Take an empty layer's first tokens already smoothed by `key_mean` (another cache's
        context): the state an update with these raw keys would leave, to the bit."""
        if self.tokens or (key_mean is None) == self.smooth_keys:
            raise ValueError("fill needs an empty layer and a key mean exactly when it smooths")
        self.lazy_initialization(keys, values)
        self.key_mean = key_mean
        self.tokens = keys.shape[2]
        self.key_store.append(keys)
        self.value_store.append(values)

    def get_seq_length(self) -> int:
        return self.tokens

    def mark(self) -> tuple[Any, ...]:
        """A state `rewind` returns to (the smoothing mean is fixed by the first update)."""
        return self.tokens, self.key_store.mark(), self.value_store.mark()

    def rewind(self, state: tuple[Any, ...]) -> None:
        self.tokens, keys, values = state
        self.key_store.rewind(keys)
        self.value_store.rewind(values)

    def get_mask_sizes(self, query_length: int) -> tuple[int, int]:
        return self.tokens + query_length, 0

    def get_max_length(self) -> int:
        return -1

    @property
    def nbytes(self) -> int:
        """Bytes of every tensor this layer holds (codes, scales, zeros, window, key mean)."""
        return self.key_store.nbytes + self.value_store.nbytes + storage_bytes(self.key_mean)

    def reconstruction_error(self) -> tuple[float, float]:
        """Relative RMS error ‖x − x̂‖/‖x‖ of the flushed K and V (NaN before any flush or when
        not tracking)."""

        def rel(store: SideStore) -> float:
            return (store.error_sq / store.signal_sq) ** 0.5 if store.signal_sq else float("nan")

        return rel(self.key_store), rel(self.value_store)

    def reset(self) -> None:
        self.__init__(self.scheme, self.key_store.track_error,  # type: ignore[misc]
                      self.smooth_keys)

    def offload(self) -> None:
        raise NotImplementedError("QuantizedKVLayer does not support offloading")

    def prefetch(self) -> None:
        raise NotImplementedError("QuantizedKVLayer does not support offloading")

    def reorder_cache(self, beam_idx: torch.LongTensor) -> None:
        raise NotImplementedError("QuantizedKVLayer does not support beam search")

    def crop(self, tokens_to_remove: int) -> None:
        raise NotImplementedError("QuantizedKVLayer cannot be cropped (its codes are final)")
