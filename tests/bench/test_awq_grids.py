"""bench.awq_grids: both AutoAWQ grids and plain rounding measured on a cut of the testbed."""

from __future__ import annotations

import re

import pytest

from bench.awq_grids import main

TESTBED = "models/testbed/testbed-llama"


def test_each_grid_and_rounding_get_a_measured_error(capsys) -> None:
    main(["--model", TESTBED, "--layers", "1", "--group", "64"])
    out = capsys.readouterr().out
    errors = [float(e) for e in re.findall(r"^\s+\S.*?\s([0-9.]+) %", out, flags=re.M)]
    assert len(errors) == 3  # duo grid, x-only grid, round to nearest
    assert all(0 < e < 100 for e in errors)
    assert "first 1 of 2 layers" in out


@pytest.mark.parametrize(("argv", "message"), [
    (["--model", TESTBED, "--layers", "0"], "--layers: between 1 and 2"),
    (["--model", "models/testbed"], "holds no model.safetensors"),
])
def test_bad_input_is_refused(argv, message, capsys) -> None:
    with pytest.raises(SystemExit) as e:
        main(argv)
    assert e.value.code == 2
    assert message in capsys.readouterr().err
