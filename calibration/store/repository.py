"""`Store`: the results store over any SQLAlchemy URL (SQLite file by default).

Each run is committed in its own transaction; the unique run key makes recording idempotent.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, delete, event, inspect, select, text
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from calibration.settings import database_url
from calibration.store.records import Measurement, RunKey
from calibration.store.tables import (
    ArtifactRow,
    Base,
    KVErrorRow,
    ModelRow,
    RunRow,
    ValidationRow,
    WeightsKLRow,
)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cur = dbapi_connection.cursor()
    cur.execute("PRAGMA journal_mode=WAL")  # readers never block the writing driver
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


def _add_new_columns(engine: Engine) -> None:
    """Add the nullable columns a store made by an older version lacks (the schema only grows),
    so its runs stay readable and resumable; their new columns read as NULL."""
    have = inspect(engine)
    for table in Base.metadata.sorted_tables:
        if not have.has_table(table.name):
            continue
        present = {c["name"] for c in have.get_columns(table.name)}
        for col in table.columns:
            if col.name in present:
                continue
            if not col.nullable:
                raise RuntimeError(f"store table {table.name} lacks required column {col.name}; "
                                   "use a new store (--db) for this version")
            kind = col.type.compile(dialect=engine.dialect)
            with engine.begin() as conn:
                conn.execute(text(f'ALTER TABLE {table.name} ADD COLUMN "{col.name}" {kind}'))


WeightsKey = tuple[str, str, int, int, int]  # weights, task, context_tokens, seed, n


def _weights_key(model: str, device: str, probe: WeightsKey) -> dict[str, object]:
    weights, task, context_tokens, seed, n = probe
    return dict(model=model, device=device, weights=weights, task=task,
                context_tokens=context_tokens, seed=seed, n=n)


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


class Store:
    """Open (and create) the store at `url` (None: settings / KVPARETO_DB)."""

    def __init__(self, url: str | None = None) -> None:
        self.url = database_url(url)
        self.engine = create_engine(self.url)
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)
        try:
            Base.metadata.create_all(self.engine)
        except OperationalError:  # another process made the tables between check and create
            Base.metadata.create_all(self.engine)
        _add_new_columns(self.engine)
        self._session = sessionmaker(self.engine, expire_on_commit=False)

    def close(self) -> None:
        self.engine.dispose()

    def session(self) -> Session:
        return self._session()

    # ---- models ----------------------------------------------------------------------------

    def model_id(
        self, name: str, source: str = "", config_json: dict[str, Any] | None = None
    ) -> int:
        """The id of a model row, created on first use."""
        with self.session() as s:
            row = s.scalar(select(ModelRow).where(ModelRow.name == name))
            if row is not None:
                return row.id
            s.add(ModelRow(name=name, source=source, config_json=config_json or {}))
            try:
                s.commit()
            except IntegrityError:  # another writer created it
                s.rollback()
            return int(s.scalar(select(ModelRow.id).where(ModelRow.name == name)) or 0)

    # ---- runs ------------------------------------------------------------------------------

    def done(self, keys: Iterable[RunKey]) -> set[RunKey]:
        """The subset of `keys` already stored (ok or failed)."""
        wanted = list(keys)
        stored = {self._key(r, name) for r, name in self._rows({k.model for k in wanted})}
        return {k for k in wanted if k in stored}

    def record(self, key: RunKey, m: Measurement) -> bool:
        """Store one run in its own transaction; False when the key was already stored."""
        model_id = self.model_id(key.model)
        row = RunRow(
            model_id=model_id, config=key.config, context_tokens=key.context_tokens,
            task=key.task, seed=key.seed, n=key.n, device=key.device, **m.as_dict(),
        )
        with self.session() as s:
            s.add(row)
            try:
                s.commit()
            except IntegrityError:
                s.rollback()
                return False
        return True

    def runs(
        self, model: str, status: str | None = "ok", device: str | None = None
    ) -> list[tuple[RunKey, Measurement]]:
        """Stored runs of a model as (key, measurement), oldest first."""
        out = []
        for r, name in self._rows({model}):
            if (status is None or r.status == status) and (device is None or r.device == device):
                values = {c: getattr(r, c) for c in Measurement.__dataclass_fields__}
                out.append((self._key(r, name), Measurement.from_dict(values)))
        return out

    def _rows(self, models: set[str]) -> list[tuple[RunRow, str]]:
        with self.session() as s:
            q = (select(RunRow, ModelRow.name).join(ModelRow, RunRow.model_id == ModelRow.id)
                 .where(ModelRow.name.in_(models)).order_by(RunRow.id))
            return [(r, n) for r, n in s.execute(q).all()]

    def add_versions(self, key: RunKey, extra: dict[str, str]) -> None:
        """Add facts to a stored run's `versions` (what it ran on), keeping what it has."""
        with self.session() as s:
            q = (select(RunRow).join(ModelRow, RunRow.model_id == ModelRow.id)
                 .where(ModelRow.name == key.model, RunRow.config == key.config,
                        RunRow.context_tokens == key.context_tokens, RunRow.task == key.task,
                        RunRow.seed == key.seed, RunRow.n == key.n, RunRow.device == key.device))
            row = s.execute(q).scalar_one()
            row.versions = {**(row.versions or {}), **extra}
            s.commit()

    @staticmethod
    def _key(r: RunRow, model: str) -> RunKey:
        return RunKey(model, r.config, r.context_tokens, r.task, r.seed, r.n, r.device)

    # ---- K/V reconstruction errors ---------------------------------------------------------

    def save_kv_error(self, model: str, device: str, table: dict[str, float]) -> None:
        """Replace the model's K/V error table for `device` (one transaction)."""
        with self.session() as s:
            s.execute(delete(KVErrorRow).where(KVErrorRow.model == model,
                                               KVErrorRow.device == device))
            s.add_all(KVErrorRow(model=model, device=device, side=k, error=float(v))
                      for k, v in table.items())
            s.commit()

    def kv_error(self, model: str, device: str = "cpu") -> dict[str, float]:
        with self.session() as s:
            q = select(KVErrorRow).where(KVErrorRow.model == model, KVErrorRow.device == device)
            return {r.side: r.error for r in s.scalars(q).all()}

    def save_weights_kl(self, model: str, device: str, probe: WeightsKey,
                        kl: float, kl_sd: float | None = None) -> None:
        """Record (or replace) one measured weights KL and its spread over the prompts
        (`tables.WeightsKLRow`); `probe` is (weights, task, context_tokens, seed, n)."""
        self.delete_weights_kl(model, device, probe)
        with self.session() as s:
            s.add(WeightsKLRow(**_weights_key(model, device, probe), kl=float(kl),
                               kl_sd=None if kl_sd is None else float(kl_sd)))
            s.commit()

    def delete_weights_kl(self, model: str, device: str, probe: WeightsKey) -> None:
        """Forget one measured weights KL (to measure it again)."""
        with self.session() as s:
            s.execute(delete(WeightsKLRow).filter_by(**_weights_key(model, device, probe)))
            s.commit()

    def _weights_kl_rows(self, model: str, device: str) -> list[WeightsKLRow]:
        with self.session() as s:
            q = select(WeightsKLRow).where(WeightsKLRow.model == model,
                                           WeightsKLRow.device == device)
            return list(s.scalars(q).all())

    def weights_kl(self, model: str, device: str = "cpu") -> dict[WeightsKey, float]:
        """(weights, task, context_tokens, seed, n) → KL of those weights vs the 16-bit ones."""
        return {(r.weights, r.task, r.context_tokens, r.seed, r.n): r.kl
                for r in self._weights_kl_rows(model, device)}

    def weights_kl_sd(self, model: str, device: str = "cpu") -> dict[WeightsKey, float]:
        """The same keys → the KL's standard deviation over the n prompts, where recorded."""
        return {(r.weights, r.task, r.context_tokens, r.seed, r.n): r.kl_sd
                for r in self._weights_kl_rows(model, device) if r.kl_sd is not None}

    # ---- artifacts and reports -------------------------------------------------------------

    def add_artifact(self, model: str, path: Path) -> None:
        with self.session() as s:
            s.add(ArtifactRow(model=model, path=str(path), sha256=sha256_of(path)))
            s.commit()

    def add_validation(
        self, model: str, task: str, context_tokens: int, path: Path, summary: dict[str, Any]
    ) -> None:
        with self.session() as s:
            s.add(ValidationRow(model=model, task=task, context_tokens=context_tokens,
                                path=str(path), sha256=sha256_of(path), summary=summary))
            s.commit()

    def artifacts(self, model: str) -> list[ArtifactRow]:
        with self.session() as s:
            q = select(ArtifactRow).where(ArtifactRow.model == model).order_by(ArtifactRow.id)
            return list(s.scalars(q).all())
