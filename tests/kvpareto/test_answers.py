"""`kvpareto frontier | recommend | capacity` answer as the API does: `--json` is the service's
response body byte for byte for the same request (TestClient on the live app), the table shows
the answer, and bad input is one `error:` line with exit status 2."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
LLAMA = "Llama-3.1-8B-Instruct"  # a shipped spec without an artifact: memory-only answers
TESTBED = "testbed-llama"  # calibrated (the shipped artifact)

# id: (CLI args, the API request body the same question is)
SAME_QUESTION = {
    "frontier-calibrated": (
        ["frontier", "--model", TESTBED, "--context", "1024", "--task", "kv_retrieval"],
        "/v1/frontier", {"model": TESTBED, "context_tokens": 1024, "task": "kv_retrieval"}),
    "frontier-filtered-budget": (
        ["frontier", "--model", TESTBED, "--context", "2048", "--budget", "0.006", "--metric",
         "kl", "--weights", "w4,w16", "--k-bits", "4", "--k-bits", "8", "--v-bits", "2"],
        "/v1/frontier", {"model": TESTBED, "context_tokens": 2048, "budget_gib": 0.006,
                         "metric": "kl", "weights": ["w4", "w16"], "k_bits": [4, 8],
                         "v_bits": [2]}),
    "frontier-memory-only": (
        ["frontier", "--model", LLAMA, "--context", "32768", "--budget", "12", "--limit", "7"],
        "/v1/frontier", {"model": LLAMA, "context_tokens": 32768, "budget_gib": 12.0,
                         "limit": 7}),
    "recommend-feasible": (
        ["recommend", "--model", TESTBED, "--context", "1024", "--budget", "0.004",
         "--max-drop", "0.02"],
        "/v1/recommend", {"model": TESTBED, "context_tokens": 1024, "budget_gib": 0.004,
                          "max_drop": 0.02}),
    "recommend-conservative-floor": (
        ["recommend", "--model", TESTBED, "--context", "1024", "--budget", "0.005",
         "--task", "passkey", "--accuracy-floor", "0.9", "--conservative"],
        "/v1/recommend", {"model": TESTBED, "context_tokens": 1024, "budget_gib": 0.005,
                          "task": "passkey", "accuracy_floor": 0.9, "conservative": True}),
    "recommend-nothing-fits": (
        ["recommend", "--model", TESTBED, "--context", "1024", "--budget", "0.001"],
        "/v1/recommend", {"model": TESTBED, "context_tokens": 1024, "budget_gib": 0.001}),
    "recommend-memory-only-refusal": (
        ["recommend", "--model", LLAMA, "--context", "32768", "--budget", "12"],
        "/v1/recommend", {"model": LLAMA, "context_tokens": 32768, "budget_gib": 12.0}),
    "capacity-calibrated": (
        ["capacity", "--model", TESTBED, "--budget", "0.004", "--max-drop", "0.02"],
        "/v1/capacity", {"model": TESTBED, "budget_gib": 0.004, "max_drop": 0.02}),
    "capacity-memory-only": (
        ["capacity", "--model", LLAMA, "--budget", "8", "--max-context", "65536"],
        "/v1/capacity", {"model": LLAMA, "budget_gib": 8.0, "max_context_tokens": 65536}),
}


@pytest.mark.parametrize("case", list(SAME_QUESTION))
def test_json_is_the_service_body(case, kvpareto, service):
    args, path, body = SAME_QUESTION[case]
    live = service.post(path, json=body)
    assert live.status_code == 200, live.text
    result = kvpareto(*args, "--json")
    assert result.exit_code == 0, (result.output, result.exception)
    assert result.stdout == live.text + "\n"  # the same bytes, one newline for the terminal


def test_plot_asks_for_every_point_and_json_says_so(kvpareto, service, tmp_path):
    body = {"model": TESTBED, "context_tokens": 1024, "budget_gib": 0.004,
            "include_points": True}
    result = kvpareto("frontier", "--model", TESTBED, "--context", "1024", "--budget", "0.004",
                      "--plot", str(tmp_path / "f.png"), "--json")
    assert result.exit_code == 0, (result.output, result.exception)
    assert result.stdout == service.post("/v1/frontier", json=body).text + "\n"
    assert json.loads(result.stdout)["points"]["config"]


def test_runtime_is_sent_only_when_given(kvpareto, service):
    """`--runtime` becomes the body's `runtime`."""
    args = ["frontier", "--model", TESTBED, "--context", "1024", "--runtime", "hf-sdpa"]
    result = kvpareto(*args, "--json")
    live = service.post("/v1/frontier", json={"model": TESTBED, "context_tokens": 1024,
                                              "runtime": "hf-sdpa"})
    assert result.stdout == live.text + "\n"


def test_recommend_table_names_the_recommendation(kvpareto, service):
    args, path, body = SAME_QUESTION["recommend-feasible"]
    rec = service.post(path, json=body).json()["recommendation"]
    out = kvpareto(*args).stdout
    assert rec["config"] in out
    assert "w16-k16v16-cfull" in out
    assert "16-bit baseline" in out
    assert "exact_match mean" in out
    assert "90% interval" in out
    assert "warning: accuracy extrapolated" in out


def test_calibrated_frontier_table_has_accuracy_and_intervals(kvpareto, service):
    args, path, body = SAME_QUESTION["frontier-calibrated"]
    live = service.post(path, json=body).json()
    out = kvpareto(*args).stdout
    for point in live["frontier"]:
        assert point["config"] in out
    assert "exact_match mean" in out
    assert "90% interval" in out
    assert "drop" in out
    assert f"{live['evaluated']:,} configurations evaluated" in out


def test_memory_only_table_has_no_accuracy(kvpareto):
    out = kvpareto("frontier", "--model", LLAMA, "--context", "32768", "--budget", "12",
                   "--limit", "3").stdout
    assert "memory only (no accuracy model)" in " ".join(out.split())  # the title may wrap
    assert "interval" not in out
    assert "mean" not in out
    assert "11,550 more not listed (--limit)" in out
    assert "warning: no accuracy model for this model" in out


def test_refusal_prints_its_reason(kvpareto):
    out = kvpareto("recommend", "--model", LLAMA, "--context", "32768", "--budget", "12").stdout
    assert "refused: " in out
    assert "has no calibration artifact" in out


ERRORS = {  # id: (args, words the one line must hold)
    "unknown-model": (["frontier", "--model", "nosuch", "--context", "10"],
                      "--model 'nosuch' is not a served model; allowed: Llama-3.1-70B"),
    "malformed-model": (["capacity", "--model", "../etc", "--budget", "1"],
                        "--model '../etc': String should match pattern"),
    "zero-context": (["frontier", "--model", TESTBED, "--context", "0"],
                     "--context 0: Input should be greater than 0; allowed: prompt length in "
                     "tokens (1 to 16,777,216)"),
    "negative-context": (["recommend", "--model", TESTBED, "--context", "-5", "--budget", "1"],
                         "--context -5: Input should be greater than 0"),
    "nan-budget": (["frontier", "--model", TESTBED, "--context", "10", "--budget", "nan"],
                   "--budget nan: Input should be a finite number; allowed: memory budget in "
                   "GiB"),
    "inf-budget": (["capacity", "--model", TESTBED, "--budget", "inf"],
                   "--budget inf: Input should be a finite number"),
    "unknown-task": (["recommend", "--model", TESTBED, "--context", "1024", "--budget", "1",
                      "--task", "nosuch"],
                     "--task: testbed-llama has no accuracy model for task 'nosuch'; "
                     "calibrated tasks: kv_retrieval, passkey"),
    "unknown-metric": (["frontier", "--model", TESTBED, "--context", "1024", "--metric", "f1"],
                       "--metric: testbed-llama/kv_retrieval has no metric 'f1'; available:"),
    "bad-k-bits": (["frontier", "--model", TESTBED, "--context", "1024", "--k-bits", "3"],
                   "--k-bits 3: Input should be 16, 8, 4 or 2"),
    "bad-weights": (["frontier", "--model", TESTBED, "--context", "1024", "--weights", "w8"],
                    "--weights 'w8': Input should be 'w16', 'w4', 'w4g64' or 'w4g32'"),
    "negative-drop": (["capacity", "--model", TESTBED, "--budget", "1", "--max-drop", "-1"],
                      "--max-drop -1.0: Input should be greater than or equal to 0"),
    "json-and-csv": (["frontier", "--model", TESTBED, "--context", "10", "--json", "--csv"],
                     "--json and --csv exclude each other"),
    "plot-not-png": (["frontier", "--model", TESTBED, "--context", "10", "--plot", "f.jpg"],
                     "--plot 'f.jpg': give a file name ending in .png"),
    "artifacts-missing": (["frontier", "--model", TESTBED, "--context", "10", "--artifacts",
                           "/no/such/folder"], "--artifacts '/no/such/folder' is not a folder"),
}


@pytest.mark.parametrize("case", list(ERRORS))
def test_bad_input_is_one_line_and_exit_2(case, kvpareto, refused):
    args, needle = ERRORS[case]
    refused(kvpareto(*args), needle)


def test_a_refused_artifact_is_a_note_and_a_memory_only_answer(kvpareto, tmp_path):
    (tmp_path / f"{TESTBED}.json").write_text("{not json")
    result = kvpareto("frontier", "--model", TESTBED, "--context", "1024", "--limit", "2",
                      "--artifacts", str(tmp_path))
    assert result.exit_code == 0, result.output
    assert result.stderr.startswith(f"note: artifact {TESTBED}.json refused")
    assert "memory only (no accuracy model)" in " ".join(result.stdout.split())


def run_module(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO), "HF_HUB_OFFLINE": "1"}
    return subprocess.run([sys.executable, "-m", "kvpareto", *args], capture_output=True,
                          text=True, env=env, cwd=REPO, timeout=120)


def test_python_m_kvpareto_answers_and_refuses(service):
    """The real process (`python -m kvpareto`, what the `kvpareto` script runs)."""
    args, path, body = SAME_QUESTION["recommend-feasible"]
    ok = run_module(*args, "--json")
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout == service.post(path, json=body).text + "\n"
    bad = run_module("frontier", "--model", TESTBED, "--context", "0")
    assert bad.returncode == 2
    assert bad.stderr.strip().splitlines() == [
        "error: --context 0: Input should be greater than 0; allowed: prompt length in tokens "
        "(1 to 16,777,216)"]
