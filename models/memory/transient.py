"""The transient peak: features of one prefill step, phase by phase, and their max.

    peak = weights + kv_cache(L) + transient_peak(config, L) + runtime_overhead

The transient peak is the MAX over the stages (`PHASES`) of one decoder layer's forward pass of
the sum of the terms live in that stage, not the sum of every term: the attention block's
buffers are freed before the MLP's are made. Fitted on short runs and predicted at 4x the
context, the sum was off by a median 14% on the testbed, the max of phases by a few percent,
and the max of phases fitted phase by phase on the probe's per-phase peaks by well under 1%.
A chunked prefill is evaluated at its last chunk and, when that is a remainder, also at the
full chunk before it (`STEPS`). Whole-grid evaluation (with caching) is `ledger.GridLedger`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from numpy.typing import NDArray

from models.memory.grid import F64, GRAN_CHANNEL, HALF, I64, GridArrays
from models.memory.terms import KV_TILE, PHASES, TRANSIENT_TERMS, coefficient
from models.space import CHANNEL_GROUP_TOKENS
from models.specs import ArchSpec

Q_TILES = ((768, 256), (192, 64), (0, 32))  # (queries ≥, tile)
STEPS = ("last", "previous")


@dataclass(frozen=True)
class TransientConstants:
    """Context-free bytes per row that the transient features scale (what a ledger may keep)."""

    quant_per_token: F64  # working copies of a flushed token, if a side is quantized
    awq: F64  # the largest linear's dequantized weight, 4-bit rows only
    dequant_per_token: F64  # a dequantized token of every quantized side
    smooth_per_token: F64  # fp32 keys minus the mean, with key smoothing
    pack_per_token: F64  # int32 codes of a flushed token, if a side is below 8 bits


def transient_constants(spec: ArchSpec, g: GridArrays) -> TransientConstants:
    largest = max(a * b for _, a, b, _ in spec.linear_shapes())
    quant_sides = (g.k_bits < 16).astype(np.float64) + (g.v_bits < 16)
    return TransientConstants(
        quant_per_token=(quant_sides > 0).astype(np.float64) * spec.kv_dim * 2 * HALF,
        awq=(g.w_bits == 4).astype(np.float64) * largest * HALF,
        dequant_per_token=quant_sides * spec.kv_dim * HALF,
        smooth_per_token=((g.k_bits < 16) & (g.smooth == 1)).astype(np.float64)
        * spec.kv_dim * 6,
        pack_per_token=((g.k_bits < 8) | (g.v_bits < 8)).astype(np.float64) * spec.kv_dim * HALF,
    )


class StepGeometry(NamedTuple):
    """Per row of one prefill step (tokens, float)."""

    queries: F64  # the step's queries
    end: F64  # keys at its end
    past: F64  # past keys (0 without a past)
    flushed: F64  # tokens it quantizes
    dequant: F64  # keys of a dequantized copy
    mask: F64  # mask pairs
    tile: F64  # attention-tile pairs × 2


def q_tile(queries: F64) -> F64:
    """Queries the CPU kernel scores at a time, for a chunk of `queries` (at most all of them)."""
    tile = np.full(queries.shape, float(Q_TILES[-1][1]))
    for lo, size in reversed(Q_TILES[:-1]):  # ascending thresholds, the larger tile wins
        tile = np.where(queries >= lo, float(size), tile)
    return np.asarray(np.minimum(tile, queries), dtype=np.float64)


def step_geometry(g: GridArrays, t: F64, step: str) -> StepGeometry:
    chunk, res = g.chunk.astype(np.float64), g.residual.astype(np.float64)
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
    held = np.where(g.gran == GRAN_CHANNEL,
                    np.floor(beyond / CHANNEL_GROUP_TOKENS) * CHANNEL_GROUP_TOKENS, beyond)
    dequant = np.where(has_past & (held > 0), end, 0.0)
    tile = q_tile(queries) * np.minimum(end, KV_TILE) * HALF
    return StepGeometry(queries, end, past, flushed, dequant, queries * past, tile)


def transient_features(
    spec: ArchSpec, g: GridArrays, context_tokens: int | I64, logits_positions: int = 1,
    step: str = "last", constants: TransientConstants | None = None,
) -> dict[str, F64]:
    """Each transient term in bytes at coefficient 1, per row, during one prefill chunk.

    `step` "last" is the chunk that ends at L (a remainder when C does not divide L);
    "previous" the full chunk before such a remainder (more queries, fewer keys: either can make
    the peak; without a remainder it equals "last"). A prompt prefilled in one chunk has no
    past: nothing is concatenated to a cache window and no attention mask is made (causal
    SDPA), so `scores`, `mask` and `kv_layer` are 0 there. `constants`: this grid's
    `transient_constants`, when the caller keeps them.
    """
    if step not in STEPS:
        raise ValueError(f"step must be one of {STEPS}; got {step!r}")
    c = constants or transient_constants(spec, g)
    t = np.broadcast_to(np.asarray(context_tokens, dtype=np.float64), (len(g),))
    s = step_geometry(g, t, step)
    return {
        "hidden": s.queries * (spec.hidden_size * HALF),
        "mlp": s.queries * (spec.intermediate_size * HALF),
        "scores": s.mask * (spec.num_heads * HALF),
        "mask": s.mask,
        "kv_layer": s.past * (spec.kv_dim * 2 * HALF),
        "kv_repeat": s.end * (spec.q_dim * 2 * HALF),
        "quant_work": s.flushed * c.quant_per_token,
        "awq_dequant": c.awq,
        "logits": np.full(len(g), float(logits_positions * spec.vocab_size * HALF)),
        "kv_dequant": s.dequant * c.dequant_per_token,
        "smooth_work": s.queries * c.smooth_per_token,
        "pack_work": s.flushed * c.pack_per_token,
        "sdpa_block": s.tile,
        "eager_scores": s.queries * s.end * (spec.num_heads * HALF),
        "chunk_logits": s.queries * (spec.vocab_size * HALF),
        "const": np.ones(len(g)),
    }


def phase_runs(phase: str, feats: dict[str, F64]) -> NDArray[np.bool_] | None:
    """Rows on which `phase` runs at all (None: every row). AWQ's dequantization only runs with
    4-bit weights: a 16-bit row has no such phase (its residual-stream terms would otherwise
    stand in for a peak that never happens; up to +13 % on short 16-bit testbed runs)."""
    return feats["awq_dequant"] > 0 if phase == "awq_dequant" else None


def step_phases(
    coef: dict[str, float], feats: dict[str, F64], n: int
) -> dict[str, dict[str, I64]]:
    """Bytes of each term live in each phase (phase → term → bytes), each rounded to a byte."""
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


def phase_matrix(coef: dict[str, float]) -> F64:
    """(phases × `TRANSIENT_TERMS`) coefficients, 0 where a term is not live in a phase."""
    return np.array([[coefficient(coef, p, t) if t in names else 0.0 for t in TRANSIENT_TERMS]
                     for p, names in PHASES.items()])


def matrix_peak(matrix: F64, feats: dict[str, F64]) -> F64:
    """The largest phase total per row of one step, unrounded (one matrix product)."""
    totals = matrix @ np.vstack([feats[t] for t in TRANSIENT_TERMS])
    for i, phase in enumerate(PHASES):
        runs = phase_runs(phase, feats)
        if runs is not None:
            totals[i] = np.where(runs, totals[i], 0.0)
    return np.asarray(totals.max(axis=0), dtype=np.float64)


def has_remainder(g: GridArrays, context_tokens: int | I64) -> NDArray[np.bool_]:
    """Rows whose chunked prefill ends in a chunk shorter than the others."""
    t = np.broadcast_to(np.asarray(context_tokens, dtype=np.int64), (len(g),))
    multi = (g.chunk > 0) & (g.chunk < t)
    return np.asarray(multi & (t % np.maximum(g.chunk, 1) != 0), dtype=np.bool_)


def peak_classes(g: GridArrays) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
    """(first row, class per row) of the rows that differ only in what no transient term reads
    (bit widths beyond their class, block size, ...): such rows share a transient peak."""
    quant = (g.k_bits < 16).astype(np.int64) + (g.v_bits < 16)
    cols = np.stack([g.chunk, g.residual, g.gran == GRAN_CHANNEL, quant, g.w_bits, g.w_group,
                     (g.k_bits < 16) & (g.smooth == 1), (g.k_bits < 8) | (g.v_bits < 8)], axis=1)
    # one integer key per row, ordered as the rows are lexicographically (mixed radix of each
    # column's rank): a 1-d unique, many times faster than `np.unique(cols, axis=0)`, same answer
    key = np.zeros(len(g), dtype=np.int64)
    for col in cols.T:
        values, rank = np.unique(col, return_inverse=True)
        key = key * len(values) + rank.ravel()
    _, first, inverse = np.unique(key, return_index=True, return_inverse=True)
    return first, inverse.ravel()


def phase_totals(phases: dict[str, dict[str, I64]]) -> dict[str, I64]:
    """Bytes live in each phase: the sum of its terms (`step_phases` output)."""
    return {p: np.asarray(sum(terms.values()), dtype=np.int64) for p, terms in phases.items()}


def transient_peak(phases: dict[str, dict[str, I64]]) -> I64:
    """The transient peak per row: the largest phase total."""
    return np.asarray(np.max(np.stack(list(phase_totals(phases).values())), axis=0), np.int64)
