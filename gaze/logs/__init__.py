"""The session and access log files that cdn-auto copies (DESIGN §4): a public contract.

format.py: their names and line formats (pure); files.py: `DailyLog`, one plain file of the day and
its rotation; archives.py: the daily zip archives and their retention; writer.py: each record written
exactly once; importer.py: log files and archives read back into the database.

The importer is not listed here: it writes through gaze.records, which itself uses this package's
formats, so it is imported as `gaze.logs.importer`. The formats are loaded with the package; the
files and the writer when first named (the parsing modules use the formats only, and backfill's
reading process must not load SQLAlchemy: gaze.backfill_stage).
"""

from typing import TYPE_CHECKING

from gaze.logs.format import (
    ACCESS_STEM,
    ARCHIVE_NAME,
    MF_FILE,
    SESSION_LOG_FILE,
    SESSIONS_STEM,
    clean_field,
    format_access_line,
    format_session_line,
    iso_utc_ms,
)

if TYPE_CHECKING:
    from gaze.logs.files import DailyLog, LogDirError
    from gaze.logs.writer import ExactlyOnceLog, SessionLogWriter

_LATER = {"DailyLog": "files", "LogDirError": "files", "ExactlyOnceLog": "writer", "SessionLogWriter": "writer"}

__all__ = [
    "ACCESS_STEM",
    "ARCHIVE_NAME",
    "MF_FILE",
    "SESSIONS_STEM",
    "SESSION_LOG_FILE",
    "DailyLog",
    "ExactlyOnceLog",
    "LogDirError",
    "SessionLogWriter",
    "clean_field",
    "format_access_line",
    "format_session_line",
    "iso_utc_ms",
]


def __getattr__(name: str) -> object:
    """DailyLog, LogDirError, ExactlyOnceLog and SessionLogWriter, imported when first asked for."""
    if name not in _LATER:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(f"gaze.logs.{_LATER[name]}"), name)
