"""The torch-free CLI commands: memory ledger, grid listing, one-line errors with exit 2."""

import json

import pytest
from typer.testing import CliRunner

from calibration.cli import app

runner = CliRunner()


def test_memory_json_gives_bytes_per_term():
    r = runner.invoke(app, ["memory", "--model", "Qwen2.5-7B-Instruct", "--context", "131072",
                            "--config", "w16-k16v16-cfull", "--json"])
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert doc["bytes"]["weights"] == 15_231_233_024
    assert doc["bytes"]["kv_cache"] == 131072 * 57_344
    assert doc["exact"]["kv_cache"] is True
    b = doc["bytes"]
    assert doc["peak_bytes"] == (b["weights"] + b["kv_cache"] + doc["transient_peak_bytes"]
                                 + b["runtime_overhead"])
    assert doc["transient_phase"] == "mlp"  # one 131k-token chunk: the MLP's buffers are largest


def test_memory_table_in_gib():
    r = runner.invoke(app, ["memory", "--model", "Llama-3.1-8B-Instruct", "--context", "1000",
                            "--config", "w4-k4v2-block64-ks-r0-c256"])
    assert r.exit_code == 0
    assert "GiB" in r.stdout
    assert "kv_cache" in r.stdout


def test_memory_reads_a_config_json_path(tmp_path):
    from models.specs import shipped_specs

    (tmp_path / "config.json").write_text(shipped_specs()["Qwen2.5-3B-Instruct"].read_text())
    r = runner.invoke(app, ["memory", "--model", str(tmp_path / "config.json"), "--context", "10",
                            "--json"])
    assert r.exit_code == 0
    assert json.loads(r.stdout)["bytes"]["kv_cache"] == 10 * 36_864


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--model", "nope", "--context", "10"], "unknown model 'nope'"),
        (["--model", "Qwen2.5-7B-Instruct", "--context", "0"], "positive"),
        (["--model", "Qwen2.5-7B-Instruct", "--context", "10", "--config", "w4-k9"], "malformed"),
        (["--model", "Qwen2.5-0.5B-Instruct", "--context", "10", "--config",
          "w16-k4v4-block128-r0-cfull"], "does not divide"),
    ],
    ids=["unknown-model", "context", "malformed-id", "group-vs-head-dim"],
)
def test_bad_input_is_one_line_and_exit_2(args, needle):
    r = runner.invoke(app, ["memory", *args])
    assert r.exit_code == 2
    assert needle in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def test_configs_lists_parseable_ids():
    from models.space import parse_config

    r = runner.invoke(app, ["configs"])
    ids = r.stdout.split()
    assert len(ids) > 1000
    assert all(parse_config(i).id == i for i in ids[::50])
