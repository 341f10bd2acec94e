"""The served models and their calibration artifacts, loaded together and swapped atomically.

Model names come only from `models.specs.shipped_specs()`; artifact files are looked up by that
name, never by a path built from a request. A corrupt or foreign artifact is refused.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field, fields
from functools import cached_property
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from models.accuracy import Design, design, predict, scope_rows
from models.artifact import Artifact, ArtifactError, MemoryFit, load_artifact
from models.memory import (
    DEFAULT_RUNTIME,
    GRAN_CHANNEL,
    GridLedger,
    MemoryCoefficients,
    ledger_grid,
    runtime_profile,
)
from models.specs import ArchSpec, UnsupportedArchitecture, shipped_specs, spec_from_config
from service.grid import ModelGrid, model_grid
from service.lru import LRU

SHAPE_FIELDS = tuple(
    f.name for f in fields(ArchSpec) if f.name not in ("name", "reference_parameters")
)


@dataclass(frozen=True, eq=False)
class Calibration:
    """A loaded artifact and what it lets the service predict for one model's grid."""

    artifact: Artifact
    path: Path
    coefficients: MemoryCoefficients | None
    predictable: NDArray[np.int64]  # grid rows in the artifact's scope (models.accuracy.scope)
    design: Design | None  # over the predictable rows, in that order
    unrun_bits: tuple[int, ...] = ()  # weight bits the grid serves but the calibration never ran

    @cached_property
    def design_classes(self) -> tuple[Design, NDArray[np.intp]]:
        """(one design row per class, class of each design row): rows alike in all a
        prediction reads (K/V errors, 4-bit weights, residual window, channel grouping; not
        the chunk, say) are predicted alike, so each class is predicted once."""
        d = self.design
        if d is None:
            raise ValueError("no accuracy model")
        cols = np.stack([d.k_error, d.v_error, d.w4, d.grid.residual,
                         d.grid.gran == GRAN_CHANNEL], axis=1)
        _, first, inverse = np.unique(cols, axis=0, return_index=True, return_inverse=True)
        sub = Design(d.grid.take(first), d.k_error[first], d.v_error[first], d.w4[first])
        return sub, inverse.ravel()

    @property
    def fitted_runtimes(self) -> list[str]:
        """The runtime profiles the artifact fits memory for (the default's is `memory`)."""
        art = self.artifact
        return ([DEFAULT_RUNTIME] if art.memory else []) + sorted(art.memory_profiles)

    def default_task(self) -> str | None:
        tasks = [t for t in self.artifact.tasks if t in self.artifact.accuracy]
        tasks = tasks or sorted(self.artifact.accuracy)
        return tasks[0] if tasks else None

    def default_metric(self, task: str) -> str:
        fits = self.artifact.accuracy[task]
        accuracy = [m for m, f in sorted(fits.items()) if f.kind == "accuracy"]
        return (accuracy or sorted(fits))[0]


@dataclass(frozen=True, eq=False)
class ModelEntry:
    """One served model under one runtime profile (`for_runtime` gives the others)."""

    name: str
    grid: ModelGrid
    calibration: Calibration | None
    cache: LRU[object] = field(default_factory=LRU, repr=False)  # per-context evaluations
    runtime: str = DEFAULT_RUNTIME
    views: dict[str, ModelEntry] = field(default_factory=dict, repr=False)  # runtime → entry

    @property
    def spec(self) -> ArchSpec:
        return self.grid.spec

    def for_runtime(self, runtime: str | None) -> ModelEntry:
        """This model under `runtime` (None: the default), made once and kept: its own ledger
        and evaluation cache, the same grid and artifact."""
        runtime = runtime or DEFAULT_RUNTIME
        if runtime == self.runtime:
            return self
        runtime_profile(runtime)  # ValueError naming the profiles
        if runtime not in self.views:
            self.views[runtime] = ModelEntry(self.name, self.grid, self.calibration,
                                             runtime=runtime)
        return self.views[runtime]

    @property
    def memory_fit(self) -> MemoryFit | None:
        """The artifact's memory fit for this runtime; None: its terms are first-principles."""
        cal = self.calibration
        if cal is None:
            return None
        if self.runtime == DEFAULT_RUNTIME:
            return cal.artifact.memory
        return cal.artifact.memory_profiles.get(self.runtime)

    @cached_property
    def coefficients(self) -> MemoryCoefficients | None:
        """The memory coefficients of this runtime: fitted when the artifact has a fit for it,
        else its first-principles terms (None: the default runtime's defaults)."""
        fit = self.memory_fit
        if fit is not None:
            return fit.to_coefficients()
        if self.runtime == DEFAULT_RUNTIME:
            return None
        return runtime_profile(self.runtime).first_principles()

    @cached_property
    def ledger(self) -> GridLedger:
        """The whole grid's ledger at this model and artifact (keeps what is context-free)."""
        return GridLedger(self.spec, self.grid.arrays, self.coefficients)


@dataclass(frozen=True, eq=False)
class Registry:
    """Immutable snapshot: replaced as a whole on reload, so a request sees one consistent set."""

    models: dict[str, ModelEntry]
    unsupported: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)  # artifact file → why it was refused
    answers: LRU[bytes] = field(default_factory=LRU, repr=False)  # serialised answers

    @property
    def artifacts_loaded(self) -> int:
        return sum(1 for e in self.models.values() if e.calibration is not None)


def _check_foreign(
    artifact: Artifact, path: Path, grid: ModelGrid | None, known: list[str]
) -> ModelGrid:
    if path.stem != artifact.model:
        raise ArtifactError(
            f"{path.name}: foreign artifact: the file holds model {artifact.model!r}")
    if grid is None:
        raise ArtifactError(
            f"{path}: foreign artifact: {artifact.model!r} is not a served model; "
            f"served: {', '.join(known)}"
        )
    try:
        theirs = spec_from_config(dict(artifact.config_json), artifact.model)
    except ValueError as exc:
        raise ArtifactError(f"{path.name}: foreign artifact: {exc}") from None
    for name in SHAPE_FIELDS:
        if getattr(theirs, name) != getattr(grid.spec, name):
            raise ArtifactError(
                f"{path.name}: foreign artifact: {name} is {getattr(theirs, name)!r} but the "
                "served "
                f"{artifact.model} has {getattr(grid.spec, name)!r}"
            )
    return grid


def calibrate(grid: ModelGrid, artifact: Artifact, path: Path) -> Calibration:
    """Check an artifact against the model's grid and precompute its design matrix inputs."""
    errors = artifact.kv_error
    rows = scope_rows(artifact, grid.configs)
    predictable = np.asarray(rows, dtype=np.int64)
    des = design([grid.configs[i] for i in rows], errors) if artifact.accuracy else None
    if des is not None:
        probe = max(artifact.calibrated_contexts or [1024])
        for task, by_metric in artifact.accuracy.items():
            for metric, fit in by_metric.items():
                try:
                    predict(fit, des, probe)
                except (ValueError, IndexError, KeyError) as exc:
                    raise ArtifactError(
                        f"{path.name}: accuracy model {task}/{metric}: {exc}") from None
    coefficients = artifact.memory.to_coefficients() if artifact.memory else None
    _sane(grid, artifact, coefficients, des, path.name)
    ran = artifact.weight_bits
    unrun = () if ran is None else tuple(sorted({c.weights.bits for c in grid.configs} - set(ran)))
    return Calibration(artifact, path, coefficients, predictable, des, unrun)


def _sane(
    grid: ModelGrid, artifact: Artifact, coefficients: MemoryCoefficients | None,
    des: Design | None, name: str,
) -> None:
    """What the schema cannot see: the 16-bit peak positive and non-decreasing in the context
    over the served range, and every predicted interval ordered and finite."""
    top = grid.spec.max_positions or 1 << 17
    contexts = np.unique(np.geomspace(1, top, 24).astype(np.int64))
    base = grid.arrays.take(np.array([grid.baseline_row], dtype=np.int64))
    fits = {"memory": coefficients} | {
        f"memory_profiles[{k}]": f.to_coefficients() for k, f in artifact.memory_profiles.items()}
    for which, coef in fits.items():
        with np.errstate(all="ignore"):  # an overflowing fit is what this looks for
            peaks = np.array([int(ledger_grid(grid.spec, base, int(c), coef).peak[0])
                              for c in contexts])
        if np.any(peaks <= 0):
            at = int(contexts[np.argmax(peaks <= 0)])
            raise ArtifactError(f"{name}: {which} fit gives a non-positive 16-bit peak at "
                                f"{at} tokens")
        if np.any(np.diff(peaks) < 0):
            at = int(contexts[1:][np.argmax(np.diff(peaks) < 0)])
            raise ArtifactError(f"{name}: {which} fit gives a 16-bit peak that falls with the "
                                f"context (at {at} tokens)")
    if des is None:
        return
    probes = sorted({*(artifact.calibrated_contexts or [1024]), top})
    for by_metric in artifact.accuracy.values():
        for fit in by_metric.values():
            for ctx in probes:
                pred = predict(fit, des, ctx)
                with np.errstate(invalid="ignore"):
                    finite = np.isfinite(pred.mean)
                    bad = ~finite | (pred.lower > pred.mean + 1e-9) | (
                        pred.upper < pred.mean - 1e-9)
                    bad |= finite & ~(np.isfinite(pred.lower) & np.isfinite(pred.upper))
                if np.any(bad):
                    raise ArtifactError(
                        f"{name}: accuracy model {fit.task}/{fit.metric} predicts non-finite "
                        f"or unordered intervals at {ctx} tokens")


def load_one(path: Path, grids: dict[str, ModelGrid]) -> Calibration:
    artifact = load_artifact(path)
    grid = _check_foreign(artifact, path, grids.get(artifact.model), sorted(grids))
    return calibrate(grid, artifact, path)


def load_registry(
    artifact_dir: Path, strict: bool, names: Collection[str] | None = None
) -> Registry:
    """All shipped models, with the artifacts found in `artifact_dir`.

    strict: raise ArtifactError on the first bad artifact (reload); otherwise skip and record it.
    names: only these shipped models and their artifact files (`<name>.json`), e.g. the one
    model a CLI command asks about; a name that is not shipped is simply absent.
    """
    grids: dict[str, ModelGrid] = {}
    unsupported: dict[str, str] = {}
    for name in shipped_specs():
        if names is not None and name not in names:
            continue
        try:
            grids[name] = model_grid(name)
        except (UnsupportedArchitecture, ValueError) as exc:
            unsupported[name] = str(exc)
    calibrations: dict[str, Calibration] = {}
    errors: dict[str, str] = {}
    paths = sorted(artifact_dir.glob("*.json")) if artifact_dir.is_dir() else []
    if names is not None:  # an artifact must be named after its model (`_check_foreign`)
        paths = [p for p in paths if p.stem in names]
    for path in paths:
        try:
            cal = load_one(path, grids)
        except ArtifactError as exc:
            if strict:
                raise
            errors[path.name] = str(exc)
            continue
        calibrations[cal.artifact.model] = cal
    entries = {n: ModelEntry(n, g, calibrations.get(n)) for n, g in grids.items()}
    return Registry(entries, unsupported, errors)
