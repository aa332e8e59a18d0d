"""What /history shows, as a URL query: range, dates, filters, page and sort, read back leniently.

`HistoryQuery.parse(params)` turns the query of a shared or reloaded link into a valid state and a
list of notes for every value it had to ignore (never an exception); `params()` is the query again.
What the device and user filters match is gaze/history_filters.py's `typed_filters`;
`order_by` is the SQL order of the session table for a sort column (names sort as shown: the
device's label, the module's name).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, case, func

from gaze import history
from gaze.history import Range
from gaze.records import RECORDS

RANGES = {
    "today": "Today",
    "yesterday": "Yesterday",
    "7d": "Last 7 days",
    "month": "This month",
    "year": "This year",
    "custom": "Custom",
}
SORTS = {"end": "Ended", "user": "User", "device": "Device", "module": "Module", "duration": "Duration"}
DEFAULT_SORT = "end"
MAX_TEXT = 200  # a filter value longer than this is not a module, IP, name or user
_SLUG = re.compile(r"^[^\x00-\x1f\x7f]{1,200}$")


def resolve_range(key: str, date_from: str | None = None, date_to: str | None = None) -> Range:
    """The local-time range a page or export asks for; ValueError when it makes no sense."""
    if key == "today":
        return history.today()
    if key == "yesterday":
        return history.yesterday()
    if key == "7d":
        return history.last_days(7)
    if key == "month":
        return history.this_month()
    if key == "year":
        return history.this_year()
    if key == "custom":
        if not date_from or not date_to:
            raise ValueError("choose both dates")
        try:
            return history.custom(date.fromisoformat(date_from), date.fromisoformat(date_to))
        except OverflowError:  # 9999-12-31: the range's end (the next midnight) is past the calendar
            raise ValueError("date out of range") from None
    raise ValueError(f"unknown range {key!r}")


def _shown(value: str) -> str:
    return repr(value[:40] + ("…" if len(value) > 40 else ""))


@dataclass(frozen=True, slots=True)
class HistoryQuery:
    range: str = "today"
    date_from: str = ""
    date_to: str = ""
    module: str = ""
    device: str = ""  # (part of) an IP address or a device name, as typed
    user: str = ""
    page: int = 1
    sort: str = DEFAULT_SORT
    descending: bool = True

    @classmethod
    def parse(cls, params: Mapping[str, str]) -> tuple[HistoryQuery, list[str]]:
        """The state a URL query asks for, and a note for each value ignored."""
        notes: list[str] = []
        q = cls()
        key = params.get("range", "today")
        if key in RANGES:
            q = replace(q, range=key)
        else:
            notes.append(f"range {_shown(key)} is not one of {', '.join(RANGES)}: showing Today")
        if q.range == "custom":
            date_from, date_to = params.get("date_from", ""), params.get("date_to", "")
            try:
                resolve_range("custom", date_from, date_to)
            except ValueError as exc:
                notes.append(f"dates {_shown(date_from)} – {_shown(date_to)} ignored ({exc}): showing Today")
                q = replace(q, range="today")
            else:
                q = replace(q, date_from=date_from, date_to=date_to)
        texts: dict[str, str] = {}
        for name in ("module", "device", "user"):
            value = params.get(name, "").strip()
            if not value:
                continue
            if _SLUG.match(value):
                texts[name] = value
            else:
                notes.append(f"{name} filter {_shown(value)} ignored (too long or control characters)")
        q = replace(q, module=texts.get("module", ""), device=texts.get("device", ""), user=texts.get("user", ""))
        if "ip" in params and not q.device:  # the CSV export's name for the device filter
            value = params["ip"].strip()
            if value and _SLUG.match(value):
                q = replace(q, device=value)
        page = params.get("page", "1")
        if re.fullmatch(r"[0-9]{1,7}", page) and 1 <= int(page) <= 1_000_000:
            q = replace(q, page=int(page))
        else:
            notes.append(f"page {_shown(page)} ignored: showing page 1")
        sort = params.get("sort", "")
        if sort:
            column = sort.removeprefix("-")
            if column in SORTS:
                q = replace(q, sort=column, descending=sort.startswith("-"))
            else:
                notes.append(f"sort {_shown(sort)} ignored: sorting by {SORTS[DEFAULT_SORT]}, newest first")
        return q, notes

    def rng(self) -> Range:
        return resolve_range(self.range, self.date_from, self.date_to)

    @property
    def sort_param(self) -> str:
        return ("-" if self.descending else "") + self.sort

    def params(self) -> dict[str, str]:
        """The URL query for this state; defaults left out."""
        out = {"range": self.range}
        if self.range == "custom":
            out |= {"date_from": self.date_from, "date_to": self.date_to}
        out |= {k: v for k, v in (("module", self.module), ("device", self.device), ("user", self.user)) if v}
        if self.page != 1:
            out["page"] = str(self.page)
        if (self.sort, self.descending) != (DEFAULT_SORT, True):
            out["sort"] = self.sort_param
        return out


def _named(column: ColumnElement[Any], names: Mapping[str, str]) -> ColumnElement[Any]:
    """`column` as its shown name (lower case, for a case-blind order); the value itself when unnamed."""
    if not names:
        return column
    return func.lower(case(dict(names), value=column, else_=column))


def order_by(
    sort: str, descending: bool, labels: Mapping[str, str], module_names: Mapping[str, str]
) -> tuple[ColumnElement[Any], ...]:
    """ORDER BY for the session table, with the record id last so that pages never overlap."""
    r = RECORDS.c
    column: ColumnElement[Any]
    if sort == "end":
        column = r.end_ms
    elif sort == "user":
        column = func.lower(r.user_id)
    elif sort == "device":
        column = _named(r.ip, labels)
    elif sort == "module":
        column = _named(r.module, module_names)
    elif sort == "duration":
        column = r.duration_s
    else:
        raise ValueError(f"unknown sort column {sort!r}")
    if descending:
        return column.desc(), r.end_ms.desc(), r.id.desc()
    return column.asc(), r.end_ms.asc(), r.id.asc()
