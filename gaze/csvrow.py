"""The organisation's CSV row — DESIGN §4: what ComDevNet/cdn-auto's processor makes of one
modulegaze-sessions.log line, written by our CSV export and by the uplink alike.

- User, IP Address: the line's userId (`<user>|<ip>`) split at its LAST `|`;
- Access Date, Access Time: the record's END in UTC, as in the line (`YYYY-MM-DD`, `HH:MM:SS`);
- Module Viewed: the catalog name of the module, the raw moduleId when there is none;
- Duration Seconds: the line's durationSeconds.
Values are cleaned as the log line's are (CR, LF, TAB -> space), so a record reads the same
whichever way it travels.

`spreadsheet_safe` is for CSV handed to a person's spreadsheet (the History download and
`main.py export`), never for the uplink or the log files, which are read by programs as written.
"""

from __future__ import annotations

from datetime import UTC, datetime

from gaze.logs import clean_field

HEADER = ("User", "Access Time", "IP Address", "Access Date", "Module Viewed", "Duration Seconds")
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def cdn_row(end_ms: int, user: str, ip: str, module: str, duration_s: int, name: str | None = None) -> tuple[str, ...]:
    """The six columns of one record, as the organisation ingests them."""
    end = datetime.fromtimestamp(end_ms // 1000, UTC)
    who, _, address = f"{clean_field(user)}|{clean_field(ip)}".rpartition("|")
    return (
        who,
        end.strftime("%H:%M:%S"),
        address,
        end.strftime("%Y-%m-%d"),
        clean_field(name or module),
        str(int(duration_s)),
    )


def spreadsheet_safe(value: object) -> object:
    """A cell a spreadsheet will not run as a formula (OWASP CSV injection): text starting with
    = + - @ TAB or CR gets a leading apostrophe. Numbers stay numbers."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value
