"""The harness on a tiny random Llama with the testbed's word tokenizer and the passkey task.

A random model retrieves nothing (accuracy 0), so the checks are on fidelity and errors: the
16-bit configuration is its own reference, fidelity falls and K/V error rises with fewer bits.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from calibration.engine.tiny import tiny_model
from calibration.harness import EvalResult, evaluate, evaluate_many
from calibration.testbed.tokenizer import build_tokenizer
from models.space import parse_config

CONFIGS = ["w16-k16v16-cfull", "w16-k8v8-token-r0-cfull", "w16-k2v2-tensor-r0-cfull",
           "w16-k4v2-channel-ks-r32-c64", "w16-k4v4-token-ks-r0-cfull", "w16-k2v4-block32-r0-c64"]


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("tiny")
    tok = build_tokenizer()
    tiny_model("llama", vocab_size=len(tok)).save_pretrained(path)
    tok.save_pretrained(path)
    return path


@pytest.fixture(scope="module")
def results(folder: Path) -> dict[str, EvalResult]:
    """Every configuration as the rows of one batch: answer passes, and the c64 prefills."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(sys.modules["calibration.harness.contexts"], "PREFILL_ROWS", 8)
        out = evaluate_many(folder, [parse_config(c) for c in CONFIGS], "passkey", 300, 3, seed=0)
    return {r.config_id: r for r in out}


def test_baseline_is_its_own_reference(results: dict[str, EvalResult]) -> None:
    base = results["w16-k16v16-cfull"]
    assert base.mean_kl == pytest.approx(0.0, abs=1e-9)
    assert base.top1_agreement == 1.0
    assert base.k_error == (0.0, 0.0)
    assert base.n == 3
    assert 0.0 <= base.accuracy_low <= base.accuracy <= base.accuracy_high <= 1.0


def test_fidelity_and_error_order_by_bits(results: dict[str, EvalResult]) -> None:
    k8, k2 = results["w16-k8v8-token-r0-cfull"], results["w16-k2v2-tensor-r0-cfull"]
    assert k8.mean_kl < k2.mean_kl
    assert k8.top1_agreement >= k2.top1_agreement
    assert all(a < b for a, b in zip(k8.k_error, k2.k_error, strict=True))
    assert all(0 < e < 0.01 for e in k8.k_error + k8.v_error)
    assert k8.kv_cache_bytes < results["w16-k16v16-cfull"].kv_cache_bytes


def test_per_layer_fields(results: dict[str, EvalResult]) -> None:
    r = results["w16-k4v2-channel-ks-r32-c64"]
    assert len(r.k_error) == len(r.v_error) == len(r.key_outlier_ratio) == 2
    assert all(x >= 1.0 for x in r.key_outlier_ratio)
    assert r.answer_nll > 0
    assert len(r.predictions) == 3


def test_evaluate_single_matches_many(folder: Path, results: dict[str, EvalResult]) -> None:
    one = evaluate(folder, parse_config("w16-k8v8-token-r0-cfull"), "passkey", 300, 3, seed=0)
    assert one == results["w16-k8v8-token-r0-cfull"]


def test_chunked_caches_need_one_chunk_size() -> None:
    from calibration.harness.contexts import chunked_caches

    for mixed in (["w16-k8v8-token-r0-c64", "w16-k8v8-token-r0-c128"], ["w16-k8v8-token-r0-cfull"]):
        with pytest.raises(ValueError, match="need one chunk size"):
            chunked_caches(None, None, [parse_config(c) for c in mixed])  # type: ignore[arg-type]


def test_refusals(folder: Path) -> None:
    with pytest.raises(ValueError, match="unknown task .nope.; allowed: .*passkey"):
        evaluate(folder, parse_config("w16-k16v16-cfull"), "nope", 300, 1, seed=0)
    with pytest.raises(ValueError, match="asks for w4"):
        evaluate(folder, parse_config("w4-k16v16-cfull"), "passkey", 300, 1, seed=0)


def test_weights_kl_is_zero_against_itself_and_grows_with_the_weights_change(
        folder: Path, tmp_path: Path) -> None:
    import torch

    from calibration.harness import weights_kl
    from calibration.testbed.tokenizer import build_tokenizer

    assert weights_kl(folder, folder, "passkey", 300, 2, seed=0) == pytest.approx(0.0, abs=1e-9)
    kls = []
    for scale in (0.02, 0.2):
        tok = build_tokenizer()
        model = tiny_model("llama", vocab_size=len(tok))
        with torch.no_grad():  # the same weights, perturbed: a stand-in for quantized ones
            gen = torch.Generator().manual_seed(1)
            for p in model.parameters():
                p.add_(scale * p.float().std() * torch.randn(p.shape, generator=gen).to(p.dtype))
        out = tmp_path / f"noisy{scale}"
        model.save_pretrained(out)
        tok.save_pretrained(out)
        kls.append(weights_kl(out, folder, "passkey", 300, 2, seed=0))
    assert 0 < kls[0] < kls[1]


def test_batched_answer_passes_match_one_at_a_time(
    folder: Path, results: dict[str, EvalResult], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The rows of one batch (answer passes, and the two c64 prefills) answer as each
    configuration does alone (float32 tiny model: the same predictions and errors; KL and NLL
    to rounding)."""
    # the module, not the function the package exports under the same name
    module = sys.modules["calibration.harness.evaluate"]
    monkeypatch.setattr(module, "ANSWER_ROWS", 1)
    monkeypatch.setattr(sys.modules["calibration.harness.contexts"], "PREFILL_ROWS", 1)
    alone = evaluate_many(folder, [parse_config(c) for c in CONFIGS], "passkey", 300, 3, seed=0)
    for one in alone:
        batched = results[one.config_id]
        assert one.predictions == batched.predictions
        assert (one.k_error, one.v_error, one.kv_cache_bytes) == (
            batched.k_error, batched.v_error, batched.kv_cache_bytes)
        assert one.mean_kl == pytest.approx(batched.mean_kl, rel=1e-3, abs=1e-6)
        assert one.answer_nll == pytest.approx(batched.answer_nll, rel=1e-3)
