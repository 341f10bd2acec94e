"""Which configurations an artifact predicts accuracy for: those whose K/V sides it measured
(`kv_error`) and whose weight bits its accuracy runs used (`weight_bits`)."""

from __future__ import annotations

from collections.abc import Sequence

from models.artifact import Artifact
from models.space import Config


def in_scope(artifact: Artifact, config: Config) -> bool:
    table, bits = artifact.kv_error, artifact.weight_bits
    return (all(k in table for k in config.kv.side_keys())
            and (bits is None or config.weights.bits in bits))


def scope_rows(artifact: Artifact, configs: Sequence[Config]) -> list[int]:
    """Indices of `configs` the artifact predicts accuracy for, in order."""
    return [i for i, c in enumerate(configs) if in_scope(artifact, c)]
