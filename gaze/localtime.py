"""Local calendar days, local hours and date ranges — the centre's local time of DESIGN §4 (a record
belongs to the local day its end falls in; daily archives are local days) and of the History page.

- `local_day(ms)`: the local calendar day of an epoch-ms time (None: today) — the one local-day
  helper of the log files, the monitor, the roll-ups and the queries;
- days as YYYYMMDD integers (`day_number`, `day_of_number`), the local midnight that starts a day
  (`local_midnight_ms`), and `hour_pieces`: a span cut at local hour boundaries (DST-safe: a 25-hour
  day has hour 1 twice, a 23-hour day no hour 2);
- `Range`: [start_ms, end_ms) of epoch ms, and its constructors (today, yesterday, last n days,
  this month, this year, custom dates), all from local midnight to local midnight.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta

__all__ = [
    "HOUR_MS",
    "Range",
    "custom",
    "day_number",
    "day_of_number",
    "hour_pieces",
    "last_days",
    "local_day",
    "local_midnight_ms",
    "local_time",
    "this_month",
    "this_year",
    "today",
    "yesterday",
]

HOUR_MS = 3_600_000
_SLOT_MS = 900_000  # time zone offsets and changes fall on quarter hours


class LocalTime:
    """(day YYYYMMDD, hour, UTC offset ms) of a time, cached per quarter hour and per time zone."""

    def __init__(self) -> None:
        self._zone: tuple[object, ...] | None = None
        self._slots: dict[int, tuple[int, int, int]] = {}
        self._lock = threading.Lock()

    def check_zone(self) -> None:
        """Forget the cache when the machine's time zone changed."""
        zone = (os.environ.get("TZ"), time.tzname, time.timezone, time.altzone)
        if zone != self._zone:
            with self._lock:
                self._slots = {}
                self._zone = zone

    def slot(self, ms: int) -> tuple[int, int, int]:
        key = ms // _SLOT_MS
        found = self._slots.get(key)
        if found is None:
            t = time.localtime(key * _SLOT_MS // 1000)
            found = (t.tm_year * 10000 + t.tm_mon * 100 + t.tm_mday, t.tm_hour, t.tm_gmtoff * 1000)
            if len(self._slots) > 200_000:
                self._slots = {}
            self._slots[key] = found
        return found


local_time = LocalTime()


def local_day(epoch_ms: float | None = None) -> date:
    """The local calendar day of an epoch-ms time (None: now)."""
    return datetime.fromtimestamp(time.time() if epoch_ms is None else epoch_ms / 1000).date()


def day_number(d: date) -> int:
    """A date as the YYYYMMDD integer the roll-ups use."""
    return d.year * 10000 + d.month * 100 + d.day


def day_of_number(n: int) -> date:
    return date(n // 10000, n // 100 % 100, n % 100)


def local_midnight_ms(d: date) -> int:
    """Epoch ms of the local midnight that starts day `d` (DST-safe: mktime of the local wall time)."""
    return int(datetime(d.year, d.month, d.day).timestamp()) * 1000


def hour_pieces(start_ms: int, end_ms: int) -> Iterator[tuple[int, int]]:
    """(local hour, milliseconds) pieces of [start_ms, end_ms), cut at local hour boundaries."""
    t = start_ms
    slot = local_time.slot
    while t < end_ms:
        _, hour, offset = slot(t)
        boundary = t + HOUR_MS - (t + offset) % HOUR_MS
        piece_end = boundary if boundary < end_ms else end_ms
        yield hour, piece_end - t
        t = piece_end


# ====================================================================== ranges


@dataclass(frozen=True, slots=True)
class Range:
    """[start_ms, end_ms) in epoch ms; a session is in it when its end is."""

    start_ms: int
    end_ms: int
    label: str

    def days(self) -> tuple[int, int] | None:
        """(first, last) YYYYMMDD days when the range starts and ends at local midnights, else None."""
        if self.end_ms <= self.start_ms:
            return None
        try:
            first = local_day(self.start_ms)
            after = local_day(self.end_ms)
        except (ValueError, OverflowError, OSError):  # beyond what the calendar can say
            return None
        if local_midnight_ms(first) != self.start_ms or local_midnight_ms(after) != self.end_ms:
            return None
        return day_number(first), day_number(after - timedelta(days=1))

    @classmethod
    def of_days(cls, first: date, last: date, label: str) -> Range:
        return cls(local_midnight_ms(first), local_midnight_ms(last + timedelta(days=1)), label)


def _today(now: datetime | None) -> date:
    if now is None:
        return date.today()
    return (now.astimezone() if now.tzinfo is not None else now).date()


def today(now: datetime | None = None) -> Range:
    d = _today(now)
    return Range.of_days(d, d, "Today")


def yesterday(now: datetime | None = None) -> Range:
    d = _today(now) - timedelta(days=1)
    return Range.of_days(d, d, "Yesterday")


def last_days(n: int, now: datetime | None = None) -> Range:
    """Today and the n − 1 days before it."""
    if n < 1:
        raise ValueError("last_days needs at least one day")
    d = _today(now)
    return Range.of_days(d - timedelta(days=n - 1), d, f"Last {n} days")


def this_month(now: datetime | None = None) -> Range:
    """From the 1st of this month to the end of the month."""
    d = _today(now)
    first = d.replace(day=1)
    following = (first + timedelta(days=32)).replace(day=1)
    return Range.of_days(first, following - timedelta(days=1), "This month")


def this_year(now: datetime | None = None) -> Range:
    d = _today(now)
    return Range.of_days(date(d.year, 1, 1), date(d.year, 12, 31), "This year")


def custom(date_from: date, date_to: date) -> Range:
    """Both dates included (given the other way round, they are swapped)."""
    if date_to < date_from:
        date_from, date_to = date_to, date_from
    label = date_from.isoformat() if date_from == date_to else f"{date_from.isoformat()} – {date_to.isoformat()}"
    return Range.of_days(date_from, date_to, label)
