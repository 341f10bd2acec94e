"""bench.probe_rss: one line a probe, and a process whose RSS does not grow probe by probe."""

import re
from pathlib import Path

from bench.probe_rss import main

ROOT = Path(__file__).resolve().parents[2]


def test_probes_in_a_row_print_their_peaks_and_hold_rss_flat(capsys):
    configs = ["w16-k4v4-token-r0-c64"] * 4
    main(["--model", str(ROOT / "models" / "testbed" / "testbed-llama"), "--context", "512",
          "--task", "passkey", "--configs", ",".join(configs)])
    lines = [ln for ln in capsys.readouterr().out.splitlines() if " at 512: " in ln]
    assert len(lines) == 4
    peaks = {re.search(r"peak ([\d,]+) B", ln).group(1) for ln in lines}
    assert len(peaks) == 1  # byte-repeatable
    rss = [float(re.search(r"RSS now ([\d.]+) GB", ln).group(1)) for ln in lines]
    assert rss[-1] <= rss[0] + 0.05
