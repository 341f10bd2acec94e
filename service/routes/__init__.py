"""Thin route modules: parse, call `service.engine`/`answers`/`capacity`, shape the answer.

Each module owns one `APIRouter`; `service.main` includes them all.
"""
