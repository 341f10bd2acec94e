"""bench.awq_additivity: interaction verdicts, input checks, a real run on the testbed."""

from __future__ import annotations

import pytest

from bench.awq_additivity import SCHEMES, config_id, main, verdict


def test_config_ids_are_canonical_for_every_default_scheme() -> None:
    assert config_id("w16", None, "full") == "w16-k16v16-cfull"
    assert config_id("w4g64", "k4v4-token-ks-r0", "256") == "w4g64-k4v4-token-ks-r0-c256"
    for s in SCHEMES:
        assert config_id("w4g32", s, "full").startswith("w4g32-" + s.split("-")[0])


def test_verdicts_read_exact_match_first_then_nll() -> None:
    flat = (0.0, -0.01, 0.01)
    assert verdict((12, 3, 21), flat) == "compound (exact match)"
    assert verdict((-12, -21, -3), flat) == "less than the sum (exact match)"
    assert verdict((2, -5, 9), (0.2, 0.1, 0.3)).startswith("compound on NLL only")
    assert verdict((2, -5, 9), (-0.2, -0.3, -0.1)).startswith("less than the sum on NLL")
    assert verdict((2, -5, 9), flat) == "add (within ±9 points)"


@pytest.mark.parametrize(("argv", "message"), [
    (["--weights", "w8"], "not one of w4, w4g64, w4g32"),
    (["--schemes", "k5v4-token-r0"], "--schemes/--chunk"),
    (["--chunk", "big"], "--schemes/--chunk"),
    (["--task", "no_such_task"], "--task"),
])
def test_bad_input_is_refused_with_the_allowed_values(argv, message, capsys) -> None:
    with pytest.raises(SystemExit) as e:
        main(["--model", "models/testbed/testbed-llama", *argv])
    assert e.value.code == 2
    assert message in capsys.readouterr().err


def test_a_real_run_on_the_testbed_pairs_both_weight_settings(tmp_path, capsys) -> None:
    out = tmp_path / "awq.md"
    main(["--model", "models/testbed/testbed-llama", "--weights", "w4g64", "--context", "256",
          "--n", "3", "--task", "passkey", "--schemes", "k4v4-token-ks-r0,k2v2-token-r0",
          "--out", str(out)])
    text = out.read_text()
    assert text in capsys.readouterr().out
    for cid in ("w16-k16v16-cfull", "w4g64-k16v16-cfull", "w16-k2v2-token-r0-cfull",
                "w4g64-k4v4-token-ks-r0-cfull"):
        assert f"| {cid} |" in text
    assert text.count("| k2v2-token-r0 |") == 1
    assert "AWQ w4g64 alone (16-bit cache)" in text
