"""Quantized KV cache for transformers 5.x: every `models.space.KVScheme`, byte-exact to the ledger.

Public: `QuantizedKVCache`, `QuantizedKVLayer`, `StackedKVCache` (configurations as the rows of
an answer pass), `RowsKVCache` (as the rows of a prefill);
pure `quantize`, `dequantize`, `pack`, `unpack`.
"""

from calibration.kvcache.cache import QuantizedKVCache
from calibration.kvcache.layer import QuantizedKVLayer
from calibration.kvcache.quantizer import dequantize, pack, quantize, unpack
from calibration.kvcache.rows import RowsKVCache
from calibration.kvcache.stacked import StackedKVCache

__all__ = [
    "QuantizedKVCache", "QuantizedKVLayer", "RowsKVCache", "StackedKVCache", "dequantize", "pack",
    "quantize", "unpack",
]
