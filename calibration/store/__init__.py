"""The calibration results store: SQLAlchemy 2 tables, run keys and the `Store` repository.

SQLite by default (`KVPARETO_DB`, default runs/kvpareto.db); any SQLAlchemy URL is accepted.
"""

from calibration.store.records import Measurement, RunKey
from calibration.store.repository import Store

__all__ = ["Measurement", "RunKey", "Store"]
