"""Artifacts: JSON round trip, atomic write, and clear refusals of corrupt or foreign files."""

import json

import pytest

from models.accuracy import MetricModel, Target
from models.artifact import (
    Artifact,
    ArtifactError,
    MemoryFit,
    artifact_path,
    load_artifact,
    write_json_atomic,
)
from models.space import Config, KVScheme
from models.specs import shipped_specs


def make_artifact():
    configs = [Config(), Config(kv=KVScheme(4, 4, "token")), Config(kv=KVScheme(2, 2, "token"))]
    table = {"k4-token": 0.05, "v4-token": 0.05, "k2-token": 0.3, "v2-token": 0.3}
    fit = MetricModel(Target("passkey", "exact_match", "accuracy"), folds=2).fit(
        configs * 2, [256] * 3 + [512] * 3, [1, 1, 0.4, 1, 0.95, 0.3], table).to_fit()
    return Artifact(
        model="testbed-x",
        config_json=json.loads(shipped_specs()["Qwen2.5-0.5B-Instruct"].read_text()),
        memory=MemoryFit(runtime="cpu-sdpa", coefficients={"hidden": 3.5}, overhead_bytes=10,
                         contexts=[256, 512]),
        kv_error=table,
        accuracy={"passkey": {"exact_match": fit}},
        calibrated_contexts=[256, 512],
        tasks=["passkey"],
    )


def test_round_trip(tmp_path):
    art = make_artifact()
    path = write_json_atomic(artifact_path(tmp_path, art.model), art)
    assert load_artifact(path) == art
    assert not list(tmp_path.glob(".*.tmp"))


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        ("{not json", "corrupt JSON"),
        ('{"kind": "something.else", "schema_version": 4}', "not a kvpareto.artifact"),
        ('{"kind": "kvpareto.artifact", "schema_version": 99}', "schema version 99"),
        ('{"kind": "kvpareto.artifact", "schema_version": 4, "model": "x"}', "config_json"),
        ("[1, 2]", "not a kvpareto.artifact"),
    ],
    ids=["corrupt", "foreign", "version", "missing-field", "wrong-type"],
)
def test_refusals_are_clear(tmp_path, content, needle):
    path = tmp_path / "m.json"
    path.write_text(content)
    with pytest.raises(ArtifactError, match=needle):
        load_artifact(path)


def test_truncated_file_is_refused(tmp_path):
    path = write_json_atomic(tmp_path / "m.json", make_artifact())
    path.write_text(path.read_text()[:200])
    with pytest.raises(ArtifactError, match="corrupt"):
        load_artifact(path)


@pytest.mark.parametrize("name", ["../etc/passwd", "a/b", "", ".hidden"])
def test_model_names_cannot_escape_the_folder(tmp_path, name):
    with pytest.raises(ArtifactError):
        artifact_path(tmp_path, name)


def test_unknown_memory_term_is_refused():
    with pytest.raises(ValueError, match="unknown transient coefficient"):
        MemoryFit(runtime="cpu", coefficients={"bogus": 1.0}, overhead_bytes=0, contexts=[1])


@pytest.mark.parametrize("bits", [[], [8], [16, 3]], ids=["empty", "eight", "three"])
def test_weight_bits_name_a_served_setting(tmp_path, bits):
    data = make_artifact().model_dump(mode="json")
    path = tmp_path / "m.json"
    path.write_text(json.dumps({**data, "weight_bits": bits}))
    with pytest.raises(ArtifactError, match="weight_bits"):
        load_artifact(path)
    path.write_text(json.dumps({**data, "weight_bits": [16]}))
    assert load_artifact(path).weight_bits == [16]
