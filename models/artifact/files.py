"""Reading and writing artifact and report files: atomic writes; reads of regular files only,
inside their folder, under a size limit, with finite numbers and the right kind and version."""

from __future__ import annotations

import json
import math
import os
import stat
import tempfile
from pathlib import Path

from pydantic import BaseModel, ValidationError

from models.artifact.bounds import (
    ARTIFACT_KIND,
    MAX_ARTIFACT_BYTES,
    MAX_REPORT_BYTES,
    REPORT_KIND,
    SCHEMA_VERSION,
    ArtifactError,
)
from models.artifact.report import ValidationReport
from models.artifact.schema import SAFE_NAME, Artifact


def artifact_path(folder: Path, model: str) -> Path:
    if not SAFE_NAME.match(model):
        raise ArtifactError(f"invalid model name {model!r}")
    return folder / f"{model}.json"


def write_json_atomic(path: Path, document: BaseModel) -> Path:
    """Write through a temporary file and rename, so readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(document.model_dump_json(indent=1))
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; artifacts are shared data
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def read_regular(path: Path, max_bytes: int, folder: Path | None = None) -> bytes:
    """The bytes of a regular file inside `folder` (default: its own folder), at most
    `max_bytes`; FIFOs, devices and symlinks out of the folder are refused without blocking."""
    name = path.name
    folder = (folder or path.parent).resolve()
    try:
        real = path.resolve(strict=True)
    except (OSError, RuntimeError) as exc:
        raise ArtifactError(f"{name}: cannot be read ({type(exc).__name__})") from None
    if not real.is_relative_to(folder):
        raise ArtifactError(f"{name}: refused: a link out of its folder")
    try:
        fd = os.open(real, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0))
    except OSError as exc:
        raise ArtifactError(f"{name}: cannot be read ({exc.strerror})") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise ArtifactError(f"{name}: refused: not a regular file")
        if st.st_size > max_bytes:
            raise ArtifactError(f"{name}: refused: {st.st_size} bytes, the limit is {max_bytes}")
        with os.fdopen(fd, "rb", closefd=False) as fh:
            data = fh.read(max_bytes + 1)
    except OSError as exc:
        raise ArtifactError(f"{name}: cannot be read ({exc.strerror})") from None
    finally:
        os.close(fd)
    if len(data) > max_bytes:
        raise ArtifactError(f"{name}: refused: over the limit of {max_bytes} bytes")
    return data


def _reject_constant(token: str) -> float:
    raise ValueError(f"non-finite number {token}")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"number {text} overflows")
    return value


def _read(path: Path, kind: str, max_bytes: int) -> dict[str, object]:
    name = path.name
    data = read_regular(path, max_bytes)
    try:
        raw = json.loads(data.decode(), parse_constant=_reject_constant, parse_float=_finite)
    except UnicodeDecodeError as exc:
        raise ArtifactError(f"{name}: cannot be read ({exc.reason})") from None
    except json.JSONDecodeError as exc:
        raise ArtifactError(f"{name}: corrupt JSON ({exc.msg} at line {exc.lineno})") from None
    except ValueError as exc:
        raise ArtifactError(f"{name}: invalid number: {exc}") from None
    if not isinstance(raw, dict) or raw.get("kind") != kind:
        found = raw.get("kind") if isinstance(raw, dict) else type(raw).__name__
        raise ArtifactError(f"{name}: not a {kind} document (kind {found!r})")
    if raw.get("schema_version") != SCHEMA_VERSION:
        raise ArtifactError(
            f"{name}: schema version {raw.get('schema_version')!r}, this code reads "
            f"{SCHEMA_VERSION}; re-run `kvpareto fit`"
        )
    return raw


def load_artifact(path: Path) -> Artifact:
    """Load and validate one artifact; raise ArtifactError with a clear message otherwise."""
    raw = _read(path, ARTIFACT_KIND, MAX_ARTIFACT_BYTES)
    try:
        return Artifact.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ArtifactError(f"{path.name}: invalid artifact at {where}: {first['msg']}") from None


def load_report(path: Path) -> ValidationReport:
    raw = _read(path, REPORT_KIND, MAX_REPORT_BYTES)
    try:
        return ValidationReport.model_validate(raw)
    except ValidationError as exc:
        msg = exc.errors()[0]["msg"]
        raise ArtifactError(f"{path.name}: invalid validation report: {msg}") from None
