"""Runtime profiles: the attention kernel and logits a deployment runs, and what it adds beyond
what the allocator counts. One model's peak differs by runtime as much as by quantization.

A profile states the transient terms from first principles (`first_principles`); a calibration
fit measured on one runtime replaces them for that runtime only (`models.artifact`'s
`MemoryFit`s, one per profile), and an answer for any other runtime says its memory is
first-principles. Torch-free: names and bytes only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from models.memory.terms import DEFAULT_COEFFICIENTS, TRANSIENT_TERMS, MemoryCoefficients

Attention = Literal["sdpa", "eager", "flash"]
Logits = Literal["last", "chunk"]

# eager attention (transformers' eager_attention_forward) on CPU: softmax(dtype=float32) first
# converts the 16-bit scores to a float32 copy, so the 16-bit scores, that copy and the float32
# probabilities are live at once: 2 + 4 + 4 bytes a score (= 5 × HALF). Fitted on the testbed's
# eager probes: 5.20 (docs/memory.md#runtime-profiles).
EAGER_SCORE_COPIES = 5.0
# logits of every chunk position in the model's 16-bit dtype (transformers 5 upcasts only when
# it computes a loss)
CHUNK_LOGIT_COPIES = 1.0
# A CUDA context (driver, kernels, cuBLAS handles) lives outside the caching allocator: its
# `max_memory_allocated` never sees it. 723 MiB is one public report (PyTorch forum, a first
# `.cuda()` call); it depends on the GPU, driver and CUDA version and was not measured here.
CUDA_CONTEXT_BYTES = 723 * 2**20


@dataclass(frozen=True)
class RuntimeProfile:
    """How a runtime runs a prefill: its attention kernel, which logits it makes, and a
    constant it adds outside the allocator's counters (bytes)."""

    name: str
    doc: str
    attention: Attention
    logits: Logits
    overhead_bytes: int = 0

    def first_principles(self) -> MemoryCoefficients:
        """This runtime's transient coefficients from first principles (not fitted)."""
        c = dict(DEFAULT_COEFFICIENTS)
        if self.attention == "eager":
            # the score matrix replaces the fused kernel's tile and its masked-score term
            c |= {"eager_scores": EAGER_SCORE_COPIES, "sdpa_block": 0.0, "scores": 0.0}
        elif self.attention == "flash":
            # no score matrix, no GQA copy of K/V, causal masking inside the kernel
            c |= {"sdpa_block": 0.0, "scores": 0.0, "kv_repeat": 0.0, "mask": 0.0}
        if self.logits == "chunk":
            c["chunk_logits"] = CHUNK_LOGIT_COPIES
        return MemoryCoefficients(c, self.overhead_bytes, fitted=False)

    def absent(self) -> frozenset[str]:
        """Terms this runtime never makes: a fit on its measurements leaves them at 0."""
        gone = {"eager": {"sdpa_block", "scores"},
                "flash": {"sdpa_block", "scores", "kv_repeat", "mask", "eager_scores"},
                "sdpa": {"eager_scores"}}[self.attention]
        return frozenset(gone | ({"chunk_logits"} if self.logits == "last" else set()))

    def fitted_terms(self) -> tuple[str, ...]:
        """The transient terms a fit on this runtime's measured peaks sets."""
        return tuple(t for t in TRANSIENT_TERMS if t not in self.absent())


PROFILES: dict[str, RuntimeProfile] = {p.name: p for p in (
    RuntimeProfile("hf-sdpa", "transformers with SDPA (PyTorch's fused attention; on CPU its "
                   "blocked flash kernel) and the last token's logits, as generate() makes "
                   "them: what the CPU probe measures by default", "sdpa", "last"),
    RuntimeProfile("hf-sdpa-full-logits", "hf-sdpa, but a plain forward: logits for every "
                   "position of the chunk", "sdpa", "chunk"),
    RuntimeProfile("hf-eager", "transformers' eager attention (a chunk × context score matrix "
                   "per head, softmax in float32) and logits for every position of the chunk, "
                   "as a plain forward or an evaluation harness makes them", "eager", "chunk"),
    RuntimeProfile("hf-eager-generate", "eager attention with the last token's logits only "
                   "(generate())", "eager", "last"),
    RuntimeProfile("flash", "a flash-style kernel (FlashAttention-2, llama.cpp, vLLM): no score "
                   "matrix, no GQA copy of K/V, no mask; the last token's logits", "flash",
                   "last"),
    RuntimeProfile("flash-cuda", "flash on a GPU: plus a CUDA context the allocator does not "
                   "count (723 MiB, a public report; not measured here)", "flash", "last",
                   CUDA_CONTEXT_BYTES),
)}
DEFAULT_RUNTIME = "hf-sdpa"
RUNTIME_NAMES = tuple(PROFILES)


def runtime_profile(name: str) -> RuntimeProfile:
    """The profile called `name`; ValueError naming the allowed ones."""
    try:
        return PROFILES[name]
    except KeyError:
        raise ValueError(f"unknown runtime {name!r}; allowed: {', '.join(PROFILES)}") from None


def profile_of(attention: str, logits: str = "last") -> str | None:
    """The profile a measurement with this attention implementation and these logits belongs
    to (the probe makes the last token's logits), None when no shipped one matches."""
    for p in PROFILES.values():
        if p.attention == attention and p.logits == logits and not p.overhead_bytes:
            return p.name
    return None
