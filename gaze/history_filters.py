"""Which records and roll-up rows a History query reads: the `Filters` (module, device, user) and the
WHERE clauses of a range of local days — on the raw records (counted ones only) or on the roll-ups
(usage_dim for one filter, usage_daily for several). gaze/history.py's queries are built from them.

`typed_filters` is the one rule for what the admin types in /history's device and user filters (the
page, its charts and its CSV download alike): part of an address or of a device's name, part of a
user name, any case.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, case, distinct, func, or_, select

from gaze.devices import LabelError, canonical_ip
from gaze.localtime import Range
from gaze.logline import GUEST
from gaze.records import RECORDS, not_marked
from gaze.rollups import DAILY, DIMS, IP, MODULE, USER

_ADDRESS_CHARS = frozenset("0123456789abcdef.:")  # what part of an IPv4 or IPv6 address may hold


@dataclass(frozen=True, slots=True)
class Match:
    """Values holding `part` (any case), or equal to one of `also` (the devices whose name holds it)."""

    part: str
    also: tuple[str, ...] = ()

    def where(self, column: Any) -> ColumnElement[bool]:
        holds = func.lower(column).contains(self.part.lower(), autoescape=True)
        return or_(holds, column.in_(self.also)) if self.also else holds


@dataclass(frozen=True, slots=True)
class Filters:
    """Exact module slug; device IP and user id exact (a str) or typed by the admin (a `Match`);
    None = all."""

    module: str | None = None
    ip: str | Match | None = None
    user: str | Match | None = None

    def __bool__(self) -> bool:
        return self.module is not None or self.ip is not None or self.user is not None


NO_FILTERS = Filters()


def typed_filters(module: str, device: str, user: str, labels: Mapping[str, str]) -> tuple[Filters, str]:
    """The filters for what the admin chose and typed, and a note on the device filter ('' if none).

    A whole IP address means that device. Other text matches every address holding it ("192.168",
    "4.75") and every device whose name (`labels`, ip -> name) holds it, any case; the user filter
    matches every user name holding its text, any case."""
    device, user = device.strip(), user.strip()
    ip: str | Match | None = None
    note = ""
    if device:
        try:
            ip = canonical_ip(device)
        except LabelError:
            wanted = device.casefold()
            named = tuple(sorted(a for a, label in labels.items() if wanted in label.casefold()))
            ip = Match(device, named)
            if named:
                shown = ", ".join(f"{labels[a]} · {a}" for a in named[:5])
                note = f"named {shown}" + (f" and {len(named) - 5} more" if len(named) > 5 else "")
            elif not set(wanted) <= _ADDRESS_CHARS:
                note = f"no device is named {_shown(device)} (names are set on Devices)"
    return Filters(module.strip() or None, ip, Match(user) if user else None), note


def _shown(value: str) -> str:
    return repr(value[:40] + ("…" if len(value) > 40 else ""))


def _where(column: Any, value: str | Match) -> ColumnElement[bool]:
    return column == value if isinstance(value, str) else value.where(column)


def _filtered(stmt: Select[Any], table: Any, filters: Filters) -> Select[Any]:
    if filters.module is not None:
        stmt = stmt.where(table.c.module == filters.module)
    if filters.ip is not None:
        stmt = stmt.where(_where(table.c.ip, filters.ip))
    if filters.user is not None:
        stmt = stmt.where(_where(table.c.user_id, filters.user))
    return stmt


def _in_days(stmt: Select[Any], table: Any, days: tuple[int, int]) -> Select[Any]:
    return stmt.where(table.c.day >= days[0], table.c.day <= days[1])


def _raw(stmt: Select[Any], rng: Range, filters: Filters) -> Select[Any]:
    r = RECORDS.c
    stmt = stmt.where(r.end_ms >= rng.start_ms, r.end_ms < rng.end_ms, not_marked())
    return _filtered(stmt, RECORDS, filters)


def records_in(rng: Range, filters: Filters, *columns: Any, order: Sequence[Any] = ()) -> Select[Any]:
    """SELECT `columns` of the counted records ending in `rng` (the CSV export), in `order`
    (gaze.history_url.order_by: the session table's), else oldest end first."""
    return _raw(select(*columns), rng, filters).order_by(*(order or (RECORDS.c.end_ms, RECORDS.c.id)))


def _users(column: Any) -> Any:
    return func.count(distinct(case((column != GUEST, column))))


def _single(filters: Filters) -> tuple[str, str | Match] | None:
    """(dim, value) when exactly one of the filters is set."""
    chosen = [(d, v) for d, v in ((MODULE, filters.module), (IP, filters.ip), (USER, filters.user)) if v is not None]
    return chosen[0] if len(chosen) == 1 else None


def _dim(stmt: Select[Any], days: tuple[int, int], dim: str, value: str | Match | None = None) -> Select[Any]:
    stmt = stmt.where(DIMS.c.dim == dim, DIMS.c.day >= days[0], DIMS.c.day <= days[1])
    return stmt if value is None else stmt.where(_where(DIMS.c.value, value))


def _daily(stmt: Select[Any], days: tuple[int, int], filters: Filters) -> Select[Any]:
    return _filtered(_in_days(stmt, DAILY, days), DAILY, filters)
