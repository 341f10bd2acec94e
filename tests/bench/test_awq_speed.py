"""bench.awq_speed: both loads of an AWQ folder timed, their logits compared; bad input refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.awq_speed import main

TESTBED = Path("models/testbed/testbed-llama")


def test_packed_and_dequantized_once_are_timed_and_agree(capsys) -> None:
    from calibration.awq_cache import awq_folder

    folder = awq_folder(TESTBED, "w4g64")
    main(["--model", str(folder), "--context", "64", "--rows", "2", "--steps", "1",
          "--repeat", "1"])
    out = capsys.readouterr().out
    assert "packed            prefill" in out
    assert "dequantized once  prefill" in out
    assert "identical: True" in out


@pytest.mark.parametrize(("argv", "message"), [
    (["--model", str(TESTBED), "--context", "0"], "must be at least 1"),
    (["--model", "models/testbed"], "--model"),
    (["--model", str(TESTBED)], "is a 16-bit folder"),
])
def test_bad_input_is_refused(argv, message, capsys) -> None:
    with pytest.raises(SystemExit) as e:
        main(argv)
    assert e.value.code == 2
    assert message in capsys.readouterr().err
