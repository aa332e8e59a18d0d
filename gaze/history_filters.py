"""Which records and roll-up rows a History query reads: the `Filters` (module, device, user) and the
WHERE clauses of a range of local days — on the raw records (counted ones only) or on the roll-ups
(usage_dim for one filter, usage_daily for several). gaze/history.py's queries are built from them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, case, distinct, func, select

from gaze.localtime import Range
from gaze.logline import GUEST
from gaze.records import RECORDS, not_marked
from gaze.rollups import DAILY, DIMS, IP, MODULE, USER


@dataclass(frozen=True, slots=True)
class Filters:
    """Exact module slug, device IP and user id; None = all."""

    module: str | None = None
    ip: str | None = None
    user: str | None = None

    def __bool__(self) -> bool:
        return self.module is not None or self.ip is not None or self.user is not None


NO_FILTERS = Filters()


def _filtered(stmt: Select[Any], table: Any, filters: Filters) -> Select[Any]:
    if filters.module is not None:
        stmt = stmt.where(table.c.module == filters.module)
    if filters.ip is not None:
        stmt = stmt.where(table.c.ip == filters.ip)
    if filters.user is not None:
        stmt = stmt.where(table.c.user_id == filters.user)
    return stmt


def _in_days(stmt: Select[Any], table: Any, days: tuple[int, int]) -> Select[Any]:
    return stmt.where(table.c.day >= days[0], table.c.day <= days[1])


def _raw(stmt: Select[Any], rng: Range, filters: Filters) -> Select[Any]:
    r = RECORDS.c
    stmt = stmt.where(r.end_ms >= rng.start_ms, r.end_ms < rng.end_ms, not_marked())
    return _filtered(stmt, RECORDS, filters)


def records_in(rng: Range, filters: Filters, *columns: Any) -> Select[Any]:
    """SELECT `columns` of the counted records ending in `rng`, oldest end first (the CSV export)."""
    return _raw(select(*columns), rng, filters).order_by(RECORDS.c.end_ms, RECORDS.c.id)


def _users(column: Any) -> Any:
    return func.count(distinct(case((column != GUEST, column))))


def _single(filters: Filters) -> tuple[str, str] | None:
    """(dim, value) when exactly one of the filters is set."""
    chosen = [(d, v) for d, v in ((MODULE, filters.module), (IP, filters.ip), (USER, filters.user)) if v is not None]
    return chosen[0] if len(chosen) == 1 else None


def _dim(stmt: Select[Any], days: tuple[int, int], dim: str, value: str | None = None) -> Select[Any]:
    stmt = stmt.where(DIMS.c.dim == dim, DIMS.c.day >= days[0], DIMS.c.day <= days[1])
    return stmt if value is None else stmt.where(DIMS.c.value == value)


def _daily(stmt: Select[Any], days: tuple[int, int], filters: Filters) -> Select[Any]:
    return _filtered(_in_days(stmt, DAILY, days), DAILY, filters)
