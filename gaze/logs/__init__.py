"""The session and access log files that cdn-auto copies (DESIGN §4): a public contract.

format.py: their names and line formats (pure); files.py: `DailyLog`, one plain file of the day and
its rotation; archives.py: the daily zip archives and their retention; writer.py: each record written
exactly once; importer.py: log files and archives read back into the database.

The importer is not listed here: it writes through gaze.records, which itself uses this package's
formats, so it is imported as `gaze.logs.importer`.
"""

from gaze.logs.files import DailyLog, LogDirError
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
from gaze.logs.writer import ExactlyOnceLog, SessionLogWriter

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
