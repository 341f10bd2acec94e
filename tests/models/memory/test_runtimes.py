"""Runtime profiles: each changes exactly the terms its kernel and logits change."""

from __future__ import annotations

import typing

import numpy as np
import pytest

from models.memory import (
    DEFAULT_COEFFICIENTS,
    DEFAULT_RUNTIME,
    HALF,
    PROFILES,
    RUNTIME_NAMES,
    TRANSIENT_TERMS,
    GridLedger,
    grid_arrays,
    ledger,
    profile_of,
    runtime_profile,
)
from models.memory.runtimes import CHUNK_LOGIT_COPIES, CUDA_CONTEXT_BYTES, EAGER_SCORE_COPIES
from models.space import BASELINE, parse_config
from models.specs import load_spec

SPEC = load_spec("Llama-3.1-8B-Instruct")


def test_the_default_profile_is_the_ledger_as_it_was():
    assert runtime_profile(DEFAULT_RUNTIME).first_principles().coefficients == (
        DEFAULT_COEFFICIENTS)


def test_unknown_runtime_names_the_allowed_ones():
    with pytest.raises(ValueError, match="allowed: hf-sdpa, hf-sdpa-full-logits"):
        runtime_profile("vllm")


def test_the_service_schema_spells_every_profile():
    from service.schemas.common import RuntimeName

    assert typing.get_args(RuntimeName) == RUNTIME_NAMES


@pytest.mark.parametrize("context", [512, 10_000])
def test_eager_holds_the_score_matrix_of_a_one_pass_prefill(context):
    eager = ledger(SPEC, BASELINE, context, PROFILES["hf-eager-generate"].first_principles())
    scores = EAGER_SCORE_COPIES * context * context * SPEC.num_heads * HALF
    assert eager.dominant_phase == "attention"
    assert eager.terms["transient.eager_scores"] == round(scores)


def test_eager_scores_of_a_chunk_are_chunk_by_context():
    config = parse_config("w16-k16v16-c256")
    led = ledger(SPEC, config, 10_000, PROFILES["hf-eager-generate"].first_principles())
    last = 10_000 - 39 * 256  # the remainder chunk
    feats = GridLedger(SPEC, grid_arrays([config])).features(10_000)
    assert feats["eager_scores"][0] == last * 10_000 * SPEC.num_heads * HALF
    assert led.phases["attention"] > 0


def test_whole_chunk_logits_cost_chunk_by_vocab():
    config = parse_config("w16-k16v16-c512")
    full = GridLedger(SPEC, grid_arrays([config]),
                      PROFILES["hf-sdpa-full-logits"].first_principles())
    last = GridLedger(SPEC, grid_arrays([config]))
    extra = full.phase_peaks(4096)["logits"][0] - last.phase_peaks(4096)["logits"][0]
    assert extra == round(CHUNK_LOGIT_COPIES * 512 * SPEC.vocab_size * HALF)


def test_flash_makes_no_gqa_copy_mask_or_tile():
    coef = PROFILES["flash"].first_principles().coefficients
    assert all(coef[t] == 0.0 for t in ("kv_repeat", "mask", "sdpa_block", "scores",
                                        "eager_scores"))
    grid = grid_arrays([parse_config("w16-k16v16-c256")])
    flash = GridLedger(SPEC, grid, PROFILES["flash"].first_principles()).at(32768)
    sdpa = GridLedger(SPEC, grid).at(32768)
    assert flash.transient_total[0] < sdpa.transient_total[0]


def test_a_cuda_profile_adds_its_context_outside_the_allocator():
    grid = grid_arrays([BASELINE])
    cuda = GridLedger(SPEC, grid, PROFILES["flash-cuda"].first_principles()).at(1024)
    flash = GridLedger(SPEC, grid, PROFILES["flash"].first_principles()).at(1024)
    assert int(cuda.peak[0] - flash.peak[0]) == CUDA_CONTEXT_BYTES


@pytest.mark.parametrize("name", RUNTIME_NAMES)
def test_a_fit_sets_only_the_terms_its_runtime_makes(name):
    p = PROFILES[name]
    coef = p.first_principles().coefficients
    assert set(p.fitted_terms()) | p.absent() == set(TRANSIENT_TERMS)
    assert all(coef[t] == 0.0 for t in p.absent())


def test_a_probe_measurement_belongs_to_the_profile_of_its_attention():
    assert profile_of("sdpa") == "hf-sdpa"
    assert profile_of("eager") == "hf-eager-generate"
    assert profile_of("eager", "chunk") == "hf-eager"
    assert profile_of("paged") is None


def test_eager_peaks_grow_with_the_square_of_a_one_pass_context():
    led = GridLedger(SPEC, grid_arrays([BASELINE]), PROFILES["hf-eager"].first_principles())
    t = np.array([led.at(c).transient_total[0] for c in (4096, 8192)], dtype=float)
    assert t[1] / t[0] > 3.5  # scores (quadratic) dominate
