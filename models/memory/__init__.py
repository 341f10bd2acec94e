"""The memory model of a configuration: exact weights and KV cache, fitted transient terms.

    peak = weights + kv_cache(L) + transient_peak(config, L) + runtime_overhead

`grid` (configurations as columns), `weights`, `kv_cache` (exact bytes), `terms` (the registry
of transient terms), `transient` (their features and the max over phases), `ledger` (bytes per
term of a grid: `GridLedger`), `fit` (coefficients from measured peaks: `MemoryFitter`).
"""

from models.memory.fit import MemoryFitter, exact_bytes
from models.memory.grid import (
    GRAN_BLOCK,
    GRAN_CHANNEL,
    GRAN_CODES,
    GRAN_NONE,
    GRAN_TENSOR,
    GRAN_TOKEN,
    HALF,
    META,
    GridArrays,
    check_compatible,
    compatible,
    grid_arrays,
)
from models.memory.kv_cache import (
    kv_bytes_per_token_16bit,
    kv_cache_bytes,
    kv_cache_bytes_grid,
    quantized_tokens,
    tensor_segments,
)
from models.memory.ledger import (
    GIB,
    GridLedger,
    Ledger,
    LedgerGrid,
    gib,
    ledger,
    ledger_grid,
)
from models.memory.runtimes import (
    DEFAULT_RUNTIME,
    PROFILES,
    RUNTIME_NAMES,
    RuntimeProfile,
    profile_of,
    runtime_profile,
)
from models.memory.terms import (
    CPU_SDPA_BLOCK,
    DEFAULT_COEFFICIENTS,
    KV_TILE,
    PHASES,
    TERMS,
    TRANSIENT_TERMS,
    MemoryCoefficients,
    Term,
    coefficient,
    coefficient_key_error,
)
from models.memory.transient import (
    STEPS,
    has_remainder,
    phase_runs,
    phase_totals,
    q_tile,
    transient_features,
    transient_peak,
)
from models.memory.weights import awq_linear_bytes, weight_bytes, weight_bytes_grid

__all__ = [
    "CPU_SDPA_BLOCK", "DEFAULT_COEFFICIENTS", "DEFAULT_RUNTIME", "GIB", "GRAN_BLOCK",
    "GRAN_CHANNEL", "GRAN_CODES", "GRAN_NONE", "GRAN_TENSOR", "GRAN_TOKEN", "HALF", "KV_TILE",
    "META", "PHASES", "PROFILES", "RUNTIME_NAMES", "STEPS", "TERMS", "TRANSIENT_TERMS",
    "GridArrays", "GridLedger", "Ledger", "LedgerGrid", "MemoryCoefficients", "MemoryFitter",
    "RuntimeProfile", "Term", "awq_linear_bytes", "check_compatible", "coefficient",
    "coefficient_key_error", "compatible", "exact_bytes", "gib", "grid_arrays",
    "has_remainder", "kv_bytes_per_token_16bit", "kv_cache_bytes", "kv_cache_bytes_grid",
    "ledger", "ledger_grid", "phase_runs", "phase_totals", "profile_of", "q_tile",
    "quantized_tokens", "runtime_profile", "tensor_segments", "transient_features",
    "transient_peak", "weight_bytes", "weight_bytes_grid",
]
