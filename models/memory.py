"""The memory ledger: integer bytes per term, vectorised over a grid of configurations.

    peak = weights + kv_cache(L) + transient_peak(config, L) + runtime_overhead

`weights` and `kv_cache` are exact (they count what a checkpoint and the project's quantized
cache really hold); the transient terms are analytic features whose coefficients a calibration
fit sets (`MemoryCoefficients`), defaults from first principles. Units (GiB) only at the edges.

The transient peak is the MAX over the stages (`PHASES`) of one decoder layer's forward pass of
the sum of the terms live in that stage, not the sum of every term: the attention block's
buffers are freed before the MLP's are made. Fitted on short runs and predicted at 4x the
context, the sum was off by a median 14% on the testbed, the max of phases by a few percent,
and the max of phases fitted phase by phase on the probe's per-phase peaks by well under 1%.
A chunked prefill is evaluated at its last chunk and, when that is a remainder, also at the
full chunk before it (`STEPS`).

KV cache layout (per layer, K and V alike unless said; H = KV heads, D = head_dim, b = bits):
- 16-bit side: H·T·D·2 bytes.
- quantized side: the oldest T_q tokens as codes packed along D, H·T_q·ceil(D·b/8) bytes, plus
  one fp16 scale and one fp16 zero (4 bytes) per group; the newest T − T_q tokens stay 16-bit.
  T_q = max(T − R, 0), except `channel`, which quantizes whole groups of CHANNEL_GROUP_TOKENS
  tokens: T_q = ⌊max(T − R, 0)/32⌋·32 for both sides.
- groups: `token` one per token-head; `block` D/G per token-head; `channel` keys one per
  head-channel per 32-token group, values one per token-head; `tensor` one per flush segment
  (each cache update that pushes tokens out of the residual window quantizes them together).
- key smoothing: one fp16 mean per head and channel of the keys (H·D·2 bytes).
The counts assume the cache state after a prefill of L tokens in chunks of C.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from models.space import CHANNEL_GROUP_TOKENS, Config, Weights
from models.specs import ArchSpec

I64 = NDArray[np.int64]
F64 = NDArray[np.float64]
HALF = 2  # bytes of a 16-bit element
META = 4  # fp16 scale + fp16 zero per group
GRAN_CODES = {None: 0, "tensor": 1, "token": 2, "block": 3, "channel": 4}
GIB = 1024**3


@dataclass(frozen=True)
class GridArrays:
    """Columns of a list of configurations, for vectorised evaluation (N rows)."""

    w_bits: I64
    w_group: I64
    k_bits: I64
    v_bits: I64
    gran: I64
    group: I64
    smooth: I64
    residual: I64
    chunk: I64  # 0 = no chunking
    # Context-free per-row constants, memoised per architecture (see `_row_constants`).
    memo: dict[Any, Any] = field(default_factory=dict, compare=False, repr=False)

    def __len__(self) -> int:
        return len(self.k_bits)

    def take(self, rows: NDArray[np.intp] | NDArray[np.int64]) -> GridArrays:
        """The given rows, with a fresh memo."""
        return GridArrays(
            self.w_bits[rows], self.w_group[rows], self.k_bits[rows], self.v_bits[rows],
            self.gran[rows], self.group[rows], self.smooth[rows], self.residual[rows],
            self.chunk[rows],
        )


def grid_arrays(configs: Sequence[Config]) -> GridArrays:
    def col(values: list[int]) -> I64:
        return np.asarray(values, dtype=np.int64)

    return GridArrays(
        w_bits=col([c.weights.bits for c in configs]),
        w_group=col([c.weights.group or 0 for c in configs]),
        k_bits=col([c.kv.k_bits for c in configs]),
        v_bits=col([c.kv.v_bits for c in configs]),
        gran=col([GRAN_CODES[c.kv.granularity] for c in configs]),
        group=col([c.kv.group or 0 for c in configs]),
        smooth=col([int(c.kv.smooth_keys) for c in configs]),
        residual=col([c.kv.residual for c in configs]),
        chunk=col([c.chunk or 0 for c in configs]),
    )


def check_compatible(spec: ArchSpec, config: Config) -> None:
    """Raise ValueError when a configuration cannot be applied to this architecture."""
    if config.kv.granularity == "block" and spec.head_dim % int(config.kv.group or 1):
        raise ValueError(
            f"block group {config.kv.group} does not divide {spec.name}'s head_dim "
            f"{spec.head_dim}; allowed block groups divide it: "
            + ", ".join(str(g) for g in (32, 64, 128) if spec.head_dim % g == 0)
        )
    if config.weights.bits == 4:
        awq_linear_bytes(spec, int(config.weights.group or 128))


def compatible(spec: ArchSpec, configs: Sequence[Config]) -> list[Config]:
    """The configurations that apply to this architecture."""
    keep = []
    for c in configs:
        try:
            check_compatible(spec, c)
        except ValueError:
            continue
        keep.append(c)
    return keep


# ---- weights (exact) -------------------------------------------------------------------------


def awq_linear_bytes(spec: ArchSpec, group: int) -> int:
    """Bytes of every decoder linear layer as an AWQ GEMM checkpoint stores it (all layers).

    qweight int32 [in, out/8] (int4 packed), qzeros int32 [in/g, out/8], scales fp16 [in/g, out],
    bias fp16 [out] where the layer has one.
    """
    total = 0
    for name, fan_in, fan_out, bias in spec.linear_shapes():
        if fan_in % group or fan_out % 8:
            raise ValueError(
                f"AWQ group {group} does not divide {spec.name}'s {name} in_features {fan_in} "
                f"(or out_features {fan_out} is not a multiple of 8); such a layer cannot be "
                "packed, use a group size that divides every in_features"
            )
        groups = fan_in // group
        total += fan_in * fan_out // 2 + groups * fan_out // 2 + groups * fan_out * HALF
        total += fan_out * HALF if bias else 0
    return total * spec.num_layers


def weight_bytes(spec: ArchSpec, weights: Weights) -> int:
    """Exact weight bytes: 2 per parameter at 16 bit; AWQ packs decoder linears only."""
    if weights.bits == 16:
        return HALF * spec.parameters
    linear_params = sum(
        a * b + (b if bias else 0) for _, a, b, bias in spec.linear_shapes()
    ) * spec.num_layers
    rest = spec.parameters - linear_params  # embeddings, lm_head, norms stay 16-bit
    return HALF * rest + awq_linear_bytes(spec, int(weights.group or 128))


def weight_bytes_grid(spec: ArchSpec, g: GridArrays) -> I64:
    out = np.full(len(g), weight_bytes(spec, Weights(16)), dtype=np.int64)
    for group in np.unique(g.w_group[g.w_bits == 4]):
        out[(g.w_bits == 4) & (g.w_group == group)] = weight_bytes(spec, Weights(4, int(group)))
    return out


# ---- KV cache (exact) ------------------------------------------------------------------------


def tensor_segments(tokens: I64, chunk: I64, residual: I64) -> I64:
    """Flush segments after a prefill of `tokens` in chunks (0 = one chunk), residual window R.

    Chunk i ends at e_i = min(i·C, T); its update flushes iff e_i > R.
    """
    c = np.where(chunk > 0, chunk, np.maximum(tokens, 1))
    n = -(-tokens // c)
    early = np.minimum(np.maximum(n - 1, 0), residual // c)
    return np.asarray(np.where(tokens > residual, n - early, 0), dtype=np.int64)


def quantized_tokens(tokens: I64, g: GridArrays) -> I64:
    """T_q: how many of the oldest tokens are held quantized."""
    beyond = np.maximum(tokens - g.residual, 0)
    channel = (beyond // CHANNEL_GROUP_TOKENS) * CHANNEL_GROUP_TOKENS
    return np.asarray(np.where(g.gran == GRAN_CODES["channel"], channel, beyond), dtype=np.int64)


@dataclass(frozen=True)
class _SideConstants:
    """Per-row bytes of one side (K or V) of one layer: the ledger is linear in T_q and T."""

    per_quantized_token: I64  # packed codes + per-token share of the group metadata
    per_16bit_token: I64
    fixed: I64  # smoothing means
    quantized: NDArray[np.bool_]


def _side_constants(spec: ArchSpec, g: GridArrays, keys: bool) -> _SideConstants:
    h, d = spec.num_kv_heads, spec.head_dim
    bits = g.k_bits if keys else g.v_bits
    quant = bits < 16
    codes = h * (-(-d * bits // 8))
    block_groups = d // np.maximum(g.group, 1)
    # `channel` keys: one scale+zero per head-channel per 32-token group, i.e. H·D·4/32 bytes per
    # token (exact, because channel T_q is a whole number of groups and D is a multiple of 8).
    channel_meta = (h * d * META) // CHANNEL_GROUP_TOKENS if keys else h * META
    meta = np.select(
        [g.gran == 2, g.gran == 3, g.gran == 4],
        [np.full(len(g), h * META), h * META * block_groups, np.full(len(g), channel_meta)],
        default=0,
    )
    smooth = np.where(quant & (g.smooth == 1), h * d * HALF, 0) if keys else np.zeros(len(g))
    return _SideConstants(
        per_quantized_token=np.where(quant, codes + meta, 0).astype(np.int64),
        per_16bit_token=np.full(len(g), h * d * HALF, dtype=np.int64),
        fixed=np.asarray(smooth, dtype=np.int64),
        quantized=quant,
    )


def _row_constants(spec: ArchSpec, g: GridArrays) -> tuple[_SideConstants, _SideConstants]:
    key = ("kv", spec)
    if key not in g.memo:
        g.memo[key] = (_side_constants(spec, g, True), _side_constants(spec, g, False))
    return g.memo[key]  # type: ignore[no-any-return]


def _side_bytes(
    side: _SideConstants, g: GridArrays, tokens: I64, t_q: I64, segments: I64
) -> I64:
    tq = np.where(side.quantized, t_q, 0)
    total = side.per_quantized_token * tq + side.per_16bit_token * (tokens - tq)
    total += np.where(side.quantized & (tokens > 0), side.fixed, 0)
    total += np.where(side.quantized, segments, 0) * META  # `tensor` rows only (else 0)
    return np.asarray(total, dtype=np.int64)


def kv_cache_bytes_grid(spec: ArchSpec, g: GridArrays, context_tokens: int | I64) -> I64:
    """Exact KV-cache bytes for every row at `context_tokens` (scalar or array per row)."""
    tokens = np.broadcast_to(np.asarray(context_tokens, dtype=np.int64), (len(g),))
    keys, values = _row_constants(spec, g)
    t_q = quantized_tokens(tokens, g)
    tensor = g.gran == GRAN_CODES["tensor"]
    segments = np.zeros(len(g), dtype=np.int64)
    if tensor.any():
        segments[tensor] = tensor_segments(tokens[tensor], g.chunk[tensor], g.residual[tensor])
    per_layer = _side_bytes(keys, g, tokens, t_q, segments)
    per_layer += _side_bytes(values, g, tokens, t_q, segments)
    return per_layer * spec.num_layers


def kv_cache_bytes(spec: ArchSpec, config: Config, context_tokens: int) -> int:
    return int(kv_cache_bytes_grid(spec, grid_arrays([config]), context_tokens)[0])


# ---- transient peak (analytic, fitted) -------------------------------------------------------

TRANSIENT_TERMS = (
    "hidden",  # chunk × hidden: residual stream, normed copies, attention output
    "mlp",  # chunk × intermediate: gate, up and their product
    "scores",  # chunk × heads × L: attention scores / mask (multi-chunk prefill only)
    "kv_layer",  # L × kv_dim × 2: the 16-bit window concatenated with a new chunk (multi-chunk)
    "kv_repeat",  # L × q_dim × 2: K and V expanded to all query heads (GQA repeat)
    "quant_work",  # flushed × kv_dim × 2 if quantized: working copies while quantizing them
    "awq_dequant",  # largest linear in × out: a layer's weight dequantized on the fly
    "logits",  # logit positions × vocab
    "kv_dequant",  # L × kv_dim per quantized side: the fresh 16-bit K/V such a side returns
    "smooth_work",  # chunk × kv_dim × 6 with key smoothing: fp32 keys minus the mean, cast back
    "pack_work",  # flushed tokens × kv_dim × 2 if a side is below 8 bits: int32 codes in packing
    "mask",  # chunk × L × 1: the boolean causal mask of a later chunk, made before the layers
    "sdpa_block",  # q tile × min(L, KV_TILE) × 2: a blocked attention kernel's score tile
    "const",  # 1 byte: a constant (allocator, kernel workspaces), fitted per phase
)
# PyTorch's CPU flash-attention kernel (FlashAttentionKernel.cpp) scores a tile of q_tile queries
# against at most KV_TILE keys at a time in per-thread fp32 + 16-bit buffers: a term that grows
# with the context up to 512 keys, then stays. A GPU flash kernel keeps its tiles on chip (its
# fitted coefficient goes to 0). Measured on the testbed: without it, peaks fitted on ≤ 512
# tokens over-predicted 2,048-token chunked prefills by 3-5%. Below 512 keys it is collinear with
# the context terms, so a fit on short runs cannot find it: on CPU its coefficient is fixed at
# CPU_SDPA_BLOCK (fp32 + 16-bit tile, one thread: 6 bytes a pair = 3 × HALF).
KV_TILE = 512
CPU_SDPA_BLOCK = 3.0
Q_TILES = ((768, 256), (192, 64), (0, 32))  # (queries ≥, tile)
DEFAULT_COEFFICIENTS: dict[str, float] = {
    "hidden": 4.0,
    "mlp": 3.0,
    "scores": 0.0,
    "kv_layer": 1.0,
    "kv_repeat": 1.0,
    "quant_work": 2.0,
    "awq_dequant": 1.0,
    "logits": 2.0,
    "kv_dequant": 1.0,
    "smooth_work": 1.0,
    "pack_work": 4.0,
    "mask": 1.0,
    "sdpa_block": 0.0,
    "const": 0.0,
}
# The stages of one decoder layer's forward pass whose live buffers can make the transient
# peak, and the terms live in each (phase → terms). The cache update (quantize, pack, dequantize)
# runs before attention; a quantized side's returned K/V stay live through attention; AWQ's
# dequantized weight is made for the largest linear (an MLP projection), after attention.
# The probe measures each phase's own peak (calibration.engine.phases), so a fit may give a
# term its own coefficient per phase ("phase.term"; see `coefficient`).
PHASES: dict[str, tuple[str, ...]] = {
    "cache_update": ("hidden", "mask", "kv_layer", "kv_dequant", "quant_work", "smooth_work",
                     "pack_work", "const"),
    "attention": ("hidden", "mask", "kv_repeat", "scores", "kv_dequant", "kv_layer",
                  "sdpa_block", "const"),
    "awq_dequant": ("hidden", "mask", "awq_dequant", "const"),
    "mlp": ("hidden", "mask", "mlp", "const"),
    "logits": ("hidden", "mask", "logits", "const"),  # the last chunk's hidden states stay live
    "other": ("hidden", "mask", "const"),  # between the modules: embedding, norms, residual adds
}


def coefficient(coefficients: dict[str, float], phase: str, term: str) -> float:
    """A term's coefficient in a phase: "phase.term" when fitted per phase, else "term"."""
    return coefficients.get(f"{phase}.{term}", coefficients.get(term, 0.0))


def coefficient_key_error(key: str) -> str | None:
    """Why a coefficient key is not a term or a phase.term of `PHASES` (None when it is)."""
    phase, _, term = key.rpartition(".")
    if not phase and term in TRANSIENT_TERMS:
        return None
    if phase in PHASES and term in PHASES[phase]:
        return None
    return (f"unknown transient coefficient {key!r}; a key is a term "
            f"({', '.join(TRANSIENT_TERMS)}) or phase.term with the term live in that phase: "
            + "; ".join(f"{p}: {', '.join(ts)}" for p, ts in PHASES.items()))


@dataclass(frozen=True)
class MemoryCoefficients:
    """Per-model, per-runtime coefficients of the transient terms and the runtime overhead."""

    coefficients: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_COEFFICIENTS))
    overhead_bytes: int = 0
    fitted: bool = False


def q_tile(queries: F64) -> F64:
    """Queries the CPU kernel scores at a time, for a chunk of `queries` (at most all of them)."""
    tile = np.full(queries.shape, float(Q_TILES[-1][1]))
    for lo, size in reversed(Q_TILES[:-1]):  # ascending thresholds, the larger tile wins
        tile = np.where(queries >= lo, float(size), tile)
    return np.asarray(np.minimum(tile, queries), dtype=np.float64)


STEPS = ("last", "previous")


def transient_features(
    spec: ArchSpec, g: GridArrays, context_tokens: int | I64, logits_positions: int = 1,
    step: str = "last",
) -> dict[str, F64]:
    """Each transient term in bytes at coefficient 1, per row, during one prefill chunk.

    `step` "last" is the chunk that ends at L (a remainder when C does not divide L);
    "previous" the full chunk before such a remainder (more queries, fewer keys: either can make
    the peak; without a remainder it equals "last"). A prompt prefilled in one chunk has no
    past: nothing is concatenated to a cache window and no attention mask is made (causal
    SDPA), so `scores`, `mask` and `kv_layer` are 0 there.
    """
    if step not in STEPS:
        raise ValueError(f"step must be one of {STEPS}; got {step!r}")
    key = ("transient", spec)
    if key not in g.memo:
        largest = max(a * b for _, a, b, _ in spec.linear_shapes())
        quant_sides = (g.k_bits < 16).astype(np.float64) + (g.v_bits < 16)
        g.memo[key] = (
            (quant_sides > 0).astype(np.float64) * spec.kv_dim * 2 * HALF,
            (g.w_bits == 4).astype(np.float64) * largest * HALF,
            quant_sides * spec.kv_dim * HALF,
            ((g.k_bits < 16) & (g.smooth == 1)).astype(np.float64) * spec.kv_dim * 6,
            ((g.k_bits < 8) | (g.v_bits < 8)).astype(np.float64) * spec.kv_dim * HALF,
        )
    quant_per_token, awq, dequant_per_token, smooth_per_token, pack_per_token = g.memo[key]
    t = np.broadcast_to(np.asarray(context_tokens, dtype=np.float64), (len(g),))
    queries, end, past, flushed, dequant, mask, tile = _step_geometry(
        t, g.chunk.astype(np.float64), g.residual.astype(np.float64),
        g.gran == GRAN_CODES["channel"], step)
    return {
        "hidden": queries * (spec.hidden_size * HALF),
        "mlp": queries * (spec.intermediate_size * HALF),
        "scores": mask * (spec.num_heads * HALF),
        "mask": mask,
        "kv_layer": past * (spec.kv_dim * 2 * HALF),
        "kv_repeat": end * (spec.q_dim * 2 * HALF),
        "quant_work": flushed * quant_per_token,
        "awq_dequant": awq,
        "logits": np.full(len(g), float(logits_positions * spec.vocab_size * HALF)),
        "kv_dequant": dequant * dequant_per_token,
        "smooth_work": queries * smooth_per_token,
        "pack_work": flushed * pack_per_token,
        "sdpa_block": tile,
        "const": np.ones(len(g)),
    }


def _step_geometry(
    t: F64, chunk: F64, res: F64, channel: NDArray[np.bool_], step: str
) -> tuple[F64, F64, F64, F64, F64, F64, F64]:
    """Per row of one prefill step: queries, keys at its end, past keys (0 without a past),
    tokens it quantizes, keys of a dequantized copy, mask pairs, attention-tile pairs × 2."""
    size = np.where(chunk > 0, np.minimum(chunk, t), t)  # C, or L in one chunk
    last = t - (np.ceil(t / np.maximum(size, 1)) - 1) * size  # 1..C tokens
    end = t if step == "last" else np.where(t > size, t - last, t)
    queries = last if step == "last" else np.where(t > size, size, last)
    start = end - queries
    has_past = start > 0
    past = np.where(has_past, end, 0.0)
    # tokens this update quantizes: those it pushes out of the residual window
    flushed = np.maximum(end - res, 0.0) - np.maximum(start - res, 0.0)
    # a side returns a dequantized copy of every token only when codes existed before this
    # update (SideStore.append): never in a one-chunk prefill, nor while all fits the window
    beyond = np.maximum(start - res, 0.0)
    held = np.where(channel, np.floor(beyond / CHANNEL_GROUP_TOKENS) * CHANNEL_GROUP_TOKENS,
                    beyond)
    dequant = np.where(has_past & (held > 0), end, 0.0)
    tile = q_tile(queries) * np.minimum(end, KV_TILE) * HALF
    return queries, end, past, flushed, dequant, queries * past, tile


def phase_runs(phase: str, feats: dict[str, F64]) -> NDArray[np.bool_] | None:
    """Rows on which `phase` runs at all (None: every row). AWQ's dequantization only runs with
    4-bit weights: a 16-bit row has no such phase (its residual-stream terms would otherwise
    stand in for a peak that never happens; up to +13 % on short 16-bit testbed runs)."""
    return feats["awq_dequant"] > 0 if phase == "awq_dequant" else None


def _step_phases(
    coef: dict[str, float], feats: dict[str, F64], n: int
) -> dict[str, dict[str, I64]]:
    zero = np.zeros(n, dtype=np.int64)
    made: dict[tuple[str, float], I64] = {}  # a shared coefficient's bytes, made once
    out: dict[str, dict[str, I64]] = {}
    for phase, names in PHASES.items():
        out[phase] = {}
        runs = phase_runs(phase, feats)
        for name in names:
            c = coefficient(coef, phase, name)
            if not c:
                out[phase][name] = zero
                continue
            if (name, c) not in made:
                made[(name, c)] = np.rint(c * feats[name]).astype(np.int64)
            v = made[(name, c)]
            out[phase][name] = v if runs is None else np.where(runs, v, 0)
    return out


def has_remainder(g: GridArrays, context_tokens: int | I64) -> NDArray[np.bool_]:
    """Rows whose chunked prefill ends in a chunk shorter than the others."""
    t = np.broadcast_to(np.asarray(context_tokens, dtype=np.int64), (len(g),))
    multi = (g.chunk > 0) & (g.chunk < t)
    return np.asarray(multi & (t % np.maximum(g.chunk, 1) != 0), dtype=np.bool_)


def phase_bytes_grid(
    spec: ArchSpec,
    g: GridArrays,
    context_tokens: int | I64,
    coefficients: MemoryCoefficients | None = None,
) -> dict[str, dict[str, I64]]:
    """Bytes of each term live in each phase, per row (phase → term → bytes), in the prefill
    step (`STEPS`) whose largest phase is larger."""
    coef = (coefficients or MemoryCoefficients()).coefficients
    last = _step_phases(coef, transient_features(spec, g, context_tokens), len(g))
    if not has_remainder(g, context_tokens).any():  # "previous" equals "last" on every row
        return last
    prev = _step_phases(coef, transient_features(spec, g, context_tokens, step="previous"),
                        len(g))
    take_prev = transient_peak(prev) > transient_peak(last)
    if not take_prev.any():
        return last
    return {p: {t: np.where(take_prev, prev[p][t], v) for t, v in terms.items()}
            for p, terms in last.items()}


def phase_peaks_grid(
    spec: ArchSpec,
    g: GridArrays,
    context_tokens: int | I64,
    coefficients: MemoryCoefficients | None = None,
) -> dict[str, I64]:
    """Each phase's own peak over the prefill steps (what the probe measures per phase)."""
    coef = (coefficients or MemoryCoefficients()).coefficients
    steps = [phase_totals(_step_phases(coef, transient_features(spec, g, context_tokens,
                                                                step=s), len(g)))
             for s in STEPS]
    return {p: np.maximum(steps[0][p], steps[1][p]) for p in PHASES}


def phase_totals(phases: dict[str, dict[str, I64]]) -> dict[str, I64]:
    """Bytes live in each phase: the sum of its terms (`phase_bytes_grid` output)."""
    return {p: np.asarray(sum(terms.values()), dtype=np.int64) for p, terms in phases.items()}


def transient_peak(phases: dict[str, dict[str, I64]]) -> I64:
    """The transient peak per row: the largest phase total."""
    return np.asarray(np.max(np.stack(list(phase_totals(phases).values())), axis=0), np.int64)


def transient_peak_grid(
    spec: ArchSpec,
    g: GridArrays,
    context_tokens: int | I64,
    coefficients: MemoryCoefficients | None = None,
) -> I64:
    """max over prefill steps and `PHASES` of Σ coefficient·feature, per row (bytes).

    One (phases × terms) @ (terms × rows) product per step, rounded once at the end; the
    per-term breakdown (`phase_bytes_grid`) rounds each term, so its sums may differ from this
    by a few bytes."""
    if np.ndim(context_tokens) == 0 and len(g) > 1:
        # one context: rows that differ only in what no transient term reads (bit widths
        # beyond their class, block size, ...) share a peak; a grid of thousands has a few
        # hundred such classes, so compute there and gather
        if "classes" not in g.memo:
            quant = (g.k_bits < 16).astype(np.int64) + (g.v_bits < 16)
            cols = np.stack([g.chunk, g.residual, g.gran == GRAN_CODES["channel"], quant,
                             g.w_bits, g.w_group, (g.k_bits < 16) & (g.smooth == 1),
                             (g.k_bits < 8) | (g.v_bits < 8)], axis=1)
            _, first, inverse = np.unique(cols, axis=0, return_index=True, return_inverse=True)
            g.memo["classes"] = (g.take(first), inverse.ravel())
        classes, inverse = g.memo["classes"]
        if len(classes) < len(g):
            by_class = transient_peak_grid(spec, classes, context_tokens, coefficients)
            return np.asarray(by_class[inverse], dtype=np.int64)
    coef = (coefficients or MemoryCoefficients()).coefficients
    matrix = np.array([[coefficient(coef, p, t) if t in names else 0.0 for t in TRANSIENT_TERMS]
                       for p, names in PHASES.items()])
    steps = ["last", "previous"] if has_remainder(g, context_tokens).any() else ["last"]
    peak = None
    for step in steps:
        feats = transient_features(spec, g, context_tokens, step=step)
        totals = matrix @ np.vstack([feats[t] for t in TRANSIENT_TERMS])
        for i, phase in enumerate(PHASES):
            runs = phase_runs(phase, feats)
            if runs is not None:
                totals[i] = np.where(runs, totals[i], 0.0)
        top = totals.max(axis=0)
        peak = top if peak is None else np.maximum(peak, top)
    assert peak is not None
    return np.asarray(np.rint(peak), dtype=np.int64)


def _memo(g: GridArrays, key: object, make: Any) -> Any:
    if key not in g.memo:
        g.memo[key] = make()
    return g.memo[key]


# ---- the whole ledger ------------------------------------------------------------------------


@dataclass(frozen=True)
class LedgerGrid:
    """Bytes per term for N configurations at one context (arrays of length N)."""

    weights: I64
    kv_cache: I64
    transient_total: I64  # the transient peak: max over steps and phases (transient_peak_grid)
    overhead: int
    fitted: bool
    # what `phases` is made from, on first use (the per-term breakdown costs more than the peak)
    source: tuple[Any, ...] = field(default=(), compare=False, repr=False)

    @functools.cached_property
    def phases(self) -> dict[str, dict[str, I64]]:
        """phase → term → bytes live in it (the step that makes the peak)."""
        return phase_bytes_grid(*self.source)

    @property
    def peak(self) -> I64:
        return self.weights + self.kv_cache + self.transient_total + self.overhead


def ledger_grid(
    spec: ArchSpec,
    g: GridArrays,
    context_tokens: int | I64,
    coefficients: MemoryCoefficients | None = None,
) -> LedgerGrid:
    coefficients = coefficients or MemoryCoefficients()
    return LedgerGrid(
        weights=_memo(g, ("weights", spec), lambda: weight_bytes_grid(spec, g)),
        kv_cache=kv_cache_bytes_grid(spec, g, context_tokens),
        transient_total=transient_peak_grid(spec, g, context_tokens, coefficients),
        overhead=coefficients.overhead_bytes,
        fitted=coefficients.fitted,
        source=(spec, g, context_tokens, coefficients),
    )


@dataclass(frozen=True)
class Ledger:
    """The ledger of one configuration: bytes per term, and which terms are exact.

    The `transient.*` terms are what each term holds in the phase that makes the transient peak
    (`dominant_phase`), each rounded to a byte, so they sum to `transient_peak` within a few
    bytes; `phases` totals every phase.
    """

    terms: dict[str, int]
    exact: dict[str, bool]
    transient_peak: int = 0  # max over phases of the terms live together (rounded once)
    dominant_phase: str = ""  # the phase that makes the transient peak
    phases: dict[str, int] = field(default_factory=dict)

    @property
    def peak_bytes(self) -> int:
        """weights + kv_cache + transient_peak + runtime_overhead."""
        return (self.terms["weights"] + self.terms["kv_cache"] + self.transient_peak
                + self.terms["runtime_overhead"])


def ledger(
    spec: ArchSpec,
    config: Config,
    context_tokens: int,
    coefficients: MemoryCoefficients | None = None,
) -> Ledger:
    """The full ledger for one configuration; raises ValueError on bad input."""
    if context_tokens <= 0:
        raise ValueError(f"context_tokens must be a positive integer; got {context_tokens}")
    check_compatible(spec, config)
    grid = ledger_grid(spec, grid_arrays([config]), context_tokens, coefficients)
    phases = {k: int(v[0]) for k, v in phase_totals(grid.phases).items()}
    dominant = max(phases, key=lambda k: phases[k])
    terms = {"weights": int(grid.weights[0]), "kv_cache": int(grid.kv_cache[0])}
    live = grid.phases[dominant]
    terms |= {f"transient.{k}": int(live[k][0]) if k in live else 0 for k in TRANSIENT_TERMS}
    terms["runtime_overhead"] = grid.overhead
    exact = {k: k in ("weights", "kv_cache") for k in terms}
    return Ledger(terms, exact, int(grid.transient_total[0]), dominant, phases)


def kv_bytes_per_token_16bit(spec: ArchSpec) -> int:
    """2 (K, V) × layers × KV heads × head_dim × 2 bytes."""
    return 2 * spec.num_layers * spec.kv_dim * HALF


def gib(n_bytes: float) -> float:
    return float(n_bytes) / GIB
