"""Taking over a log folder another writer filled — DESIGN §4 (upstream's app, or an earlier install).

The first start with no checkpoint of ours over a log folder that holds session lines:
- takes the folder's records into the history once (`gaze.logs.importer.import_logs`, which skips the
  records already stored), so /history shows the months before the hand-over;
- reads oc4d's log from the end of the latest record there (when that is later than
  MODULEGAZE_JOURNAL_SINCE), and starts the session clock at that end: a request logged a little
  before it counts at it, so every record we write starts at or after that end and lasts a second
  or more (zero-second sessions are not recorded) — none ends at or before it, and no session the
  folder holds is written again. A session still open at the hand-over (not in the folder) is
  written by us, from its first request read.
"""

from __future__ import annotations

import io
import logging
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import Engine

from gaze.logs.format import ACCESS_STEM
from gaze.logs.importer import import_logs

log = logging.getLogger(__name__)

# journalctl's time-span units (systemd's parse_sec), in milliseconds.
_UNIT_MS = {
    **dict.fromkeys(("usec", "us"), 0.001),
    **dict.fromkeys(("msec", "ms"), 1),
    **dict.fromkeys(("seconds", "second", "sec", "s"), 1000),
    **dict.fromkeys(("minutes", "minute", "min", "m"), 60_000),
    **dict.fromkeys(("hours", "hour", "hr", "h"), 3_600_000),
    **dict.fromkeys(("days", "day", "d"), 86_400_000),
    **dict.fromkeys(("weeks", "week", "w"), 604_800_000),
    **dict.fromkeys(("months", "month", "M"), 2_629_800_000),
    **dict.fromkeys(("years", "year", "y"), 31_557_600_000),
}
_SPAN_PART = re.compile(r"(\d+) ?([A-Za-z]+)")
_DATE = re.compile(r"(\d{4}-\d{2}-\d{2})(?: (\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,6}))?)?)?(?: (\S+))?")
_CLOCK = re.compile(r"(\d{2}):(\d{2})(?::(\d{2}))?")


def _span_ms(text: str) -> float | None:
    parts = _SPAN_PART.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text.replace(" ", ""):
        return None
    total = 0.0
    for number, unit in parts:
        if unit not in _UNIT_MS:
            return None
        total += int(number) * _UNIT_MS[unit]
    return total


def _local_ms(day: date, at: time = time(0)) -> int:
    """Epoch ms of a local wall time (the machine's time zone, as journalctl reads it)."""
    return int(datetime.combine(day, at).astimezone().timestamp() * 1000)


def since_ms(since: str, now_ms: int) -> int | None:
    """When journalctl's `--since=<since>` starts (epoch ms), for the forms MODULEGAZE_JOURNAL_SINCE
    accepts (gaze.config); None when it cannot be told here (an unknown time-zone name)."""
    today = datetime.fromtimestamp(now_ms / 1000).date()
    if since == "now":
        return now_ms
    if since in ("today", "yesterday"):
        return _local_ms(today if since == "today" else today - timedelta(days=1))
    if since.startswith("@"):
        try:
            return int(float(since[1:]) * 1000)
        except ValueError:
            return None
    if since.endswith(" ago") or since[:1] in "+-":
        span = _span_ms(since.removesuffix(" ago").lstrip("+-").strip())
        if span is None:
            return None
        return int(now_ms + span) if since.startswith("+") else int(now_ms - span)
    if match := _CLOCK.fullmatch(since):
        return _local_ms(today, time(int(match[1]), int(match[2]), int(match[3] or 0)))
    if match := _DATE.fullmatch(since):
        try:
            day = date.fromisoformat(match[1])
            at = time(int(match[2] or 0), int(match[3] or 0), int(match[4] or 0), int((match[5] or "0").ljust(6, "0")))
        except ValueError:
            return None
        zone = match[6]
        if zone is None:
            return _local_ms(day, at)
        try:
            tz = UTC if zone.upper() == "UTC" else ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError):
            return None
        return int(datetime.combine(day, at, tzinfo=tz).timestamp() * 1000)
    return None


def at_end(end_ms: int) -> str:
    """journalctl's `--since` for the entries from `end_ms` on (inclusive, to the microsecond).

    From the end itself, not a microsecond later: the request that ended the latest record by
    opening another module is logged at that very time, and its session starts there (as the
    earlier writer had it). Nothing ending at or before `end_ms` can be written again all the same:
    the session clock starts at `end_ms` (see the module doc)."""
    return f"@{end_ms // 1000}.{end_ms % 1000:03d}"


def _when(epoch_ms: int) -> str:
    return datetime.fromtimestamp(epoch_ms / 1000).astimezone().strftime("%Y-%m-%d %H:%M:%S")


@dataclass(frozen=True, slots=True)
class Takeover:
    """What the first start found in the log folder and where it starts reading."""

    log_dir: Path
    records: int  # session records the folder holds
    added: int  # of them, taken into the history by this start (the others were there already)
    latest_end_ms: int  # the end of the latest of them
    since: str | None  # journalctl's --since for the first reading (None: the whole journal)
    from_ms: int  # when reading starts
    unreadable: tuple[str, ...] = ()
    teed_until_ms: int | None = None  # the time of the last line the earlier writer put in the access log

    @property
    def from_latest(self) -> bool:
        """Reading starts just after the folder's latest record (not at MODULEGAZE_JOURNAL_SINCE)."""
        return self.from_ms == self.latest_end_ms

    def log_text(self) -> str:
        where = "then on" if self.from_latest else f"{_when(self.from_ms)} (MODULEGAZE_JOURNAL_SINCE)"
        text = (
            f"taking over the log folder {self.log_dir}: it holds {self.records:,} session records, the latest"
            f" ended {_when(self.latest_end_ms)}; {self.added:,} taken into the history"
            f" ({self.records - self.added:,} were there already); reading oc4d's log from {where}"
            f" (--since={self.since}), so none of them is written again"
        )
        if self.teed_until_ms is not None:
            text += f"; its access log holds oc4d's lines up to {_when(self.teed_until_ms)}: not written again"
        if self.unreadable:
            text += f"; could not read {', '.join(self.unreadable)}"
        return text

    def status_text(self) -> str:
        """The status strip's words (no "journal" or "cursor": an admin reads it)."""
        start = "then on" if self.from_latest else _when(self.from_ms)
        return (
            f"Log folder taken over: {self.records:,} earlier sessions up to {_when(self.latest_end_ms)}"
            f" kept and in the history; monitoring oc4d's log from {start}"
        )


def take_over(engine: Engine, log_dir: Path, since_arg: str | None, now_ms: int) -> Takeover | None:
    """On a first start with no checkpoint (blocking): import the folder's records and choose where the
    first reading starts. None when the folder holds no session record (nothing to take over).
    `since_arg`: journalctl's --since from MODULEGAZE_JOURNAL_SINCE (None: the whole journal)."""
    if not log_dir.is_dir():
        return None
    log.info("first start: looking for session records in the log folder %s", log_dir)
    errors = io.StringIO()
    summary = import_logs(engine, log_dir, stderr=errors)
    for line in errors.getvalue().splitlines():
        log.warning("%s", line)
    latest = summary.latest_end_ms
    if latest is None:
        return None
    records = summary.added + summary.duplicates
    configured = None if since_arg is None else since_ms(since_arg, now_ms)
    if since_arg is not None and configured is not None and configured > latest:
        since, from_ms = since_arg, configured
    else:
        since, from_ms = at_end(latest), latest
    if latest > now_ms:
        log.warning("the latest record in %s ends in the future (%s): is the clock right?", log_dir, _when(latest))
    teed = last_access_ms(log_dir)
    teed = teed if teed is not None and teed > from_ms else None  # lines after from_ms are there already
    takeover = Takeover(log_dir, records, summary.added, latest, since, from_ms, tuple(summary.unreadable), teed)
    log.warning("%s", takeover.log_text())
    return takeover


def last_access_ms(log_dir: Path) -> int | None:
    """When the earlier writer wrote the last line of the plain access log (its `<ISO now>` field,
    DESIGN §4): it teed oc4d's lines as it read them, so the lines logged up to then are in the file
    (None: no access log, or no line we can read the time of)."""
    path = log_dir / f"{ACCESS_STEM}.log"
    try:
        with path.open("rb") as f:
            f.seek(max(0, f.seek(0, 2) - 65_536))
            tail = f.read()
    except OSError:
        return None
    lines = tail.rstrip(b"\n").rsplit(b"\n", 1)
    stamp = lines[-1].split(b"\t", 1)[0].decode("ascii", "replace").strip()
    try:
        when = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return None
    return int((when if when.tzinfo else when.replace(tzinfo=UTC)).timestamp() * 1000)
