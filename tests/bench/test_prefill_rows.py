"""bench.prefill_rows on the shipped testbed: both runs, one table row a configuration."""

from __future__ import annotations

import pytest

from bench.prefill_rows import main


def test_prefill_rows_prints_both_runs(capsys: pytest.CaptureFixture[str]) -> None:
    configs = "w16-k4v2-token-ks-r0-c64,w16-k8v4-block32-r32-c64,w16-k2v2-tensor-r0-c128"
    main(["--model", "models/testbed/testbed-llama", "--context", "256", "--n", "2",
          "--task", "passkey", "--configs", configs, "--rows", "4"])
    out = capsys.readouterr().out
    assert "alone" in out
    assert "4 rows a batch" in out
    for c in configs.split(","):
        assert f"| {c} |" in out
    with pytest.raises(SystemExit):
        main(["--model", "x", "--rows", "1"])
