"""bench.transfer: the source's fit, the target's anchors and K/V errors, the target's runs."""

from pathlib import Path

import pytest

from bench.transfer import Side, anchors_of, main, transferred
from calibration.fitting import fit_accuracy
from calibration.store import Store

ROOT = Path(__file__).resolve().parents[2]
DB = str(ROOT / "runs" / "testbed.db")


def test_the_transferred_fit_keeps_the_source_shape_and_takes_the_target_level():
    source, target = Side(Store(DB), "testbed-llama", "passkey"), Side(Store(DB), "testbed-qwen2",
                                                                       "kv_retrieval")
    fit = fit_accuracy(source.runs(), source.kv_error(), source.task)["answer_nll"]
    base, spread = anchors_of(target.runs(), "answer_nll", 0.9)
    assert set(base) >= {256, 512}
    own = fit_accuracy(target.runs(), target.kv_error(), target.task)["answer_nll"]
    assert base == own.baseline  # the anchors the target's own fit would take
    assert spread  # four prompt sets: their spread too
    assert spread == own.baseline_spread
    moved = transferred(fit, target.task, base, spread)
    assert moved.baseline == base
    assert moved.baseline_spread == spread
    assert moved.task == "kv_retrieval"
    assert moved.coef == fit.coef  # how error becomes loss is the source's
    assert moved.weights_kl is None  # the target's 4-bit weights were never measured


def test_transfer_between_testbed_models_prints_each_metric(capsys):
    main(["--from-db", DB, "--from-model", "testbed-llama", "--from-task", "kv_retrieval",
          "--to-db", DB, "--to-model", "testbed-qwen2", "--to-task", "kv_retrieval"])
    out = capsys.readouterr().out
    lines = {ln.split()[0]: ln for ln in out.splitlines() if ln.startswith("  ")}
    assert set(lines) == {"exact_match", "answer_nll", "kl"}
    ratio = float(lines["kl"].split("= ")[1].split("×")[0])
    assert ratio < 0.5  # measured 0.19: the error → KL map carries across these models


def test_a_store_without_the_target_table_is_a_clear_exit(tmp_path):
    with pytest.raises(SystemExit, match="no K/V error table"):
        Side(Store(str(tmp_path / "e.db")), "nothing", "passkey").kv_error()
