"""What the log files look like — DESIGN §4: their names (plain files, daily archives, upstream's
older archives) and their lines (session and access lines, the ISO UTC time they start with).

Pure functions and patterns, no file access: gaze.logs.files writes and rotates the files, the
importer and backfill read them, the History page lists the archives by `ARCHIVE_NAME`.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

from gaze.localtime import local_day

__all__ = [
    "ACCESS_STEM",
    "ARCHIVE_NAME",
    "MF_FILE",
    "SESSIONS_STEM",
    "SESSION_LOG_FILE",
    "archive_re",
    "clean_field",
    "format_access_line",
    "format_session_line",
    "iso_utc_ms",
    "line_day",
    "member_name",
]

SESSIONS_STEM = "modulegaze-sessions"
ACCESS_STEM = "modulegaze-access"

_DAY = r"\d{4}-\d{2}-\d{2}"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)
# Every control character, U+0000-U+001F and U+007F (DESIGN §4), becomes one space.
_CONTROL_TO_SPACE = str.maketrans(dict.fromkeys([*range(0x20), 0x7F], " "))
_CONTROL = re.compile("[\x00-\x1f\x7f]")


# ---------------------------------------------------------------- names


def member_name(stem: str, day: date) -> str:
    """`<stem>-YYYY-MM-DD.log`: the plain file of `day` inside its archive `<member>.zip`."""
    return f"{stem}-{day.isoformat()}.log"


def archive_re(*stems: str, upstream: bool = False) -> re.Pattern[str]:
    """Names of the daily archives `<stem>-YYYY-MM-DD.log.zip` of these stems (group 1: the day); with
    `upstream`, also upstream's second archive of a day, `<stem>-YYYY-MM-DD-<epochMs>.log.zip`."""
    names = "|".join(re.escape(stem) for stem in stems)
    suffix = r"(?:-\d{1,15})?" if upstream else ""
    return re.compile(rf"^(?:{names})-({_DAY}){suffix}\.log\.zip$")


# Our own daily archives of either file (what the History page offers for download).
ARCHIVE_NAME = archive_re(SESSIONS_STEM, ACCESS_STEM)
# Every file that holds session lines: the plain file and the archives, ours and upstream's
# (groups: the day, upstream's epochMs, ".zip").
SESSION_LOG_FILE = re.compile(rf"{re.escape(SESSIONS_STEM)}(?:-({_DAY})(?:-(\d{{1,15}}))?)?\.log(\.zip)?")
# Upstream's oldest per-session files, `mf-<recordedAt>-<random>.zip|.tar.gz` (group 1: the day,
# when the name starts with one).
MF_FILE = re.compile(rf"mf-({_DAY})?[^/]*\.(?:zip|tar\.gz)")


# ---------------------------------------------------------------- lines


def iso_utc_ms(epoch_ms: int) -> str:
    """Format epoch milliseconds as ISO 8601 UTC with milliseconds and ``Z``.

    >>> iso_utc_ms(1777905040000)
    '2026-05-04T14:30:40.000Z'
    """
    dt = _EPOCH + timedelta(milliseconds=epoch_ms)
    return (
        f"{dt.year:04d}-{dt.month:02d}-{dt.day:02d}T{dt.hour:02d}:{dt.minute:02d}:{dt.second:02d}"
        f".{dt.microsecond // 1000:03d}Z"
    )


def clean_field(value: str) -> str:
    """Replace each control character (U+0000-U+001F, U+007F: CR, LF, TAB and NUL among them) with
    one space, so a value cannot break the line format and every database can store it.

    The one normalisation of identities and module ids (DESIGN §4): the parser (gaze.logline), the
    log writers, the database insert path (gaze.records.add_records) and the CSV (gaze.csvrow) all
    apply it, so a record reads the same in the files, the database, the CSV and the uplink.
    """
    if value.isascii() and value.isprintable():  # the usual value: no control character, no copy
        return value
    if _CONTROL.search(value) is None:
        return value
    return value.translate(_CONTROL_TO_SPACE)


def format_session_line(end_ms: int, user: str, ip: str, module: str, duration_s: int) -> str:
    """One line of ``modulegaze-sessions.log`` (TAB-separated, ``\\n``-terminated)."""
    return (
        f"{iso_utc_ms(end_ms)}\tuserId={clean_field(user)}|{clean_field(ip)}\tmoduleId={clean_field(module)}"
        f"\tdurationSeconds={int(duration_s)}\tschemaVersion=1\n"
    )


def format_access_line(now_ms: int, raw: str) -> str:
    """One line of ``modulegaze-access.log``: ``<ISO now>\\t<raw line>\\n``."""
    return f"{iso_utc_ms(now_ms)}\t{clean_field(raw)}\n"


def line_day(head: bytes) -> date | None:
    """Local date of the ISO UTC timestamp at the start of ``head``, or None if unparseable."""
    first = head.split(b"\n", 1)[0].split(b"\t", 1)[0].strip()
    try:
        dt = datetime.fromisoformat(first.decode("ascii"))
    except (UnicodeDecodeError, ValueError):
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    try:
        return local_day((dt - _EPOCH) // _MS)
    except (OverflowError, OSError, ValueError):
        return None
