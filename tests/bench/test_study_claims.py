"""bench.study_claims: paired intervals, verdicts, and a real run on the shipped testbed."""

from __future__ import annotations

import numpy as np
import pytest

from bench.study_claims import BASE, CLAIMS, Claim, configurations, main, paired_interval, verdict
from models.space import parse_config


def test_every_named_configuration_parses_once_baseline_first() -> None:
    names = configurations()
    assert names[0] == BASE
    assert len(names) == len(set(names))
    for name in names:
        parse_config(name)
    assert {c.kind for c in CLAIMS} == {"better", "same"}


def test_paired_interval_sees_a_difference_that_pairing_reveals() -> None:
    rng = np.random.default_rng(0)
    noise = rng.normal(0, 10, 64)  # prompt-to-prompt spread shared by both arms
    value, lo, hi = paired_interval(noise + 1.0, noise, "diff", rng)
    assert value == pytest.approx(1.0)
    assert 0 < lo <= hi  # paired: the shared spread cancels
    ratio, r_lo, r_hi = paired_interval(np.full(8, 2.0), np.full(8, 1.0), "ratio", rng)
    assert (ratio, r_lo, r_hi) == (2.0, 2.0, 2.0)


def test_verdicts() -> None:
    better = Claim("t", "s", "a", "b")
    same = Claim("t", "s", "a", "b", "same")
    flat = (1.0, 1.0, 1.0)
    assert verdict(better, (20, 5, 35), flat) == "holds (exact match)"
    assert verdict(better, (-20, -35, -5), flat) == "reversed (exact match)"
    assert verdict(better, (0, -10, 10), (0.5, 0.4, 0.6)).startswith("holds on KL only")
    assert verdict(better, (0, -10, 10), (2.0, 1.5, 2.5)).startswith("reversed on KL")
    assert verdict(better, (0, -10, 10), (1.0, 0.8, 1.2)) == "cannot tell at this n"
    assert verdict(same, (0, -6, 4), flat) == (
        "no exact-match difference beyond ±6 points at this n")
    # the chunk rows on SmolLM2: exact match cannot tell, KL doubles
    assert verdict(same, (0, -6, 4), (2.04, 1.71, 2.42)).endswith("but KL differs (A / B ×2.04)")
    assert "KL differs" not in verdict(same, (0, -6, 4), (1.1, 0.9, 1.3))
    assert verdict(same, (10, 2, 18), flat).startswith("does not hold")


def test_a_real_run_on_the_testbed_writes_every_claim(tmp_path, capsys) -> None:
    out = tmp_path / "claims.md"
    saved = tmp_path / "claims.json"
    main(["--model", "models/testbed/testbed-llama", "--context", "256", "--n", "3",
          "--task", "passkey", "--out", str(out), "--save-json", str(saved)])
    text = out.read_text()
    assert text in capsys.readouterr().out
    assert text.count("\n| ") >= len(CLAIMS) + len(configurations())
    for claim in CLAIMS:
        assert claim.study in text
    again = tmp_path / "again.md"  # re-rendered from the per-prompt values, no inference
    main(["--from-json", str(saved), "--out", str(again)])
    assert again.read_text() == text


def test_from_json_refuses_what_it_cannot_render(tmp_path, capsys) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"settings": {}}')
    with pytest.raises(SystemExit):
        main(["--from-json", str(bad)])
    assert "not a study_claims JSON" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main([])
    assert "--model is required" in capsys.readouterr().err
