"""The transient terms: ONE registry (`TERMS`), from which every list of them is derived.

Each term is an analytic feature of a decoder layer's forward pass (bytes at coefficient 1,
`models.memory.transient`); a calibration fit sets its coefficients (`MemoryCoefficients`),
defaults from first principles. The transient peak is the max over the stages of one layer's
forward pass (`PHASES`) of the sum of the terms live in that stage: the cache update (quantize,
pack, dequantize) runs before attention; a quantized side's returned K/V stay live through
attention; AWQ's dequantized weight is made for the largest linear (an MLP projection), after
attention. The probe measures each phase's own peak (calibration.engine.phases), so a fit may
give a term its own coefficient per phase ("phase.term"; see `coefficient`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

# The stages of one decoder layer's forward pass whose live buffers can make the transient peak.
PHASE_DOCS: dict[str, str] = {
    "cache_update": "the cache update: quantize, pack and dequantize the new tokens",
    "attention": "attention over the cache",
    "awq_dequant": "a 4-bit layer's weight dequantized for its largest linear",
    "mlp": "the MLP",
    "logits": "the LM head (the last chunk's hidden states stay live)",
    "other": "between the modules: embedding, norms, residual adds",
}
EVERY = tuple(PHASE_DOCS)
FIRST, LAST = -1.0, 99.0  # order keys: before / after every phase-specific term

# PyTorch's CPU flash-attention kernel (FlashAttentionKernel.cpp) scores a tile of q_tile queries
# against at most KV_TILE keys at a time in per-thread fp32 + 16-bit buffers: a term that grows
# with the context up to 512 keys, then stays. A GPU flash kernel keeps its tiles on chip (its
# fitted coefficient goes to 0). Measured on the testbed: without it, peaks fitted on ≤ 512
# tokens over-predicted 2,048-token chunked prefills by 3-5%. Below 512 keys it is collinear with
# the context terms, so a fit on short runs cannot find it: on CPU its coefficient is fixed at
# CPU_SDPA_BLOCK (fp32 + 16-bit tile, one thread: 6 bytes a pair = 3 × HALF).
KV_TILE = 512
CPU_SDPA_BLOCK = 3.0


@dataclass(frozen=True)
class Term:
    """One transient term: its name, default coefficient, one-line doc, and the phases it is
    live in, each with an order key (the order of a phase's terms is the column order of the
    per-phase fit and the key order of a fitted artifact's coefficients)."""

    name: str
    default: float
    doc: str
    phases: tuple[tuple[str, float], ...]


def _every(key: float) -> tuple[tuple[str, float], ...]:
    return tuple((p, key) for p in EVERY)


TERMS: tuple[Term, ...] = (
    Term("hidden", 4.0, "chunk × hidden: residual stream, normed copies, attention output",
         _every(FIRST - 1)),
    Term("mlp", 3.0, "chunk × intermediate: gate, up and their product", (("mlp", 0),)),
    Term("scores", 0.0, "chunk × heads × L: attention scores / mask (multi-chunk prefill only)",
         (("attention", 1),)),
    Term("kv_layer", 1.0, "L × kv_dim × 2: the 16-bit window concatenated with a new chunk "
         "(multi-chunk)", (("cache_update", 0), ("attention", 3))),
    Term("kv_repeat", 1.0, "L × q_dim × 2: K and V expanded to all query heads (GQA repeat)",
         (("attention", 0),)),
    Term("quant_work", 2.0, "flushed × kv_dim × 2 if quantized: working copies while "
         "quantizing them", (("cache_update", 2),)),
    Term("awq_dequant", 1.0, "largest linear in × out: a layer's weight dequantized on the fly",
         (("awq_dequant", 0),)),
    Term("logits", 2.0, "logit positions × vocab", (("logits", 0),)),
    Term("kv_dequant", 1.0, "L × kv_dim per quantized side: the fresh 16-bit K/V such a side "
         "returns", (("cache_update", 1), ("attention", 2))),
    Term("smooth_work", 1.0, "chunk × kv_dim × 6 with key smoothing: fp32 keys minus the mean, "
         "cast back", (("cache_update", 3),)),
    Term("pack_work", 4.0, "flushed tokens × kv_dim × 2 if a side is below 8 bits: int32 codes "
         "in packing", (("cache_update", 4),)),
    Term("mask", 1.0, "chunk × L × 1: the boolean causal mask of a later chunk, made before the "
         "layers", _every(FIRST)),
    Term("sdpa_block", 0.0, "q tile × min(L, KV_TILE) × 2: a blocked attention kernel's score "
         "tile", (("attention", 4),)),
    Term("eager_scores", 0.0, "chunk × heads × L × 2: the score matrix eager attention "
         "materialises (every step, one-chunk prefills too; 0 under a fused kernel)",
         (("attention", 5),)),
    Term("chunk_logits", 0.0, "chunk × vocab × 2: logits of every position of the chunk (a plain "
         "forward; 0 when only the last token's are made)", (("logits", 1),)),
    Term("const", 0.0, "1 byte: a constant (allocator, kernel workspaces), fitted per phase",
         _every(LAST)),
)

TRANSIENT_TERMS: tuple[str, ...] = tuple(t.name for t in TERMS)
DEFAULT_COEFFICIENTS: dict[str, float] = {t.name: t.default for t in TERMS}
# phase → the terms live in it, by their order keys
PHASES: dict[str, tuple[str, ...]] = {
    phase: tuple(name for _, name in sorted(
        (key, t.name) for t in TERMS for p, key in t.phases if p == phase))
    for phase in PHASE_DOCS
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
    # measured peak ≤ predicted × this at the fit's stated confidence (1: no measured spread)
    bound_factor: float = 1.0
