"""Small safety helpers shared by the CLI, the services and the pages (no UI here).

- `redact(text)`: passwords out of any message that may hold a database URL or a libpq conninfo
  (exception texts, log lines, /healthz, the status strip). `RedactingFormatter` applies it to
  every log line, tracebacks included.
- `BrowserLogFilter`: what a page's script sends on NiceGUI's log channel (any visitor of /login can
  send it) is logged quoted on one line, as a browser's words, and at most `BROWSER_LINES_PER_MINUTE`
  of them a minute: a browser cannot forge lines of ours nor flood the journal. `PerMinute` is that
  limit, also used for the count of malformed websocket messages (pages/socket_guard.py).
- `private_dir` / `private_sqlite_file`: our data directory (0700) and SQLite database (0600) are
  readable by their owner only — created that way, tightened on start when looser.
- `port_in_use`: can the HTTP port be bound? Asked before anything is created at start-up.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import re
import socket
import stat
import time
from pathlib import Path

log = logging.getLogger(__name__)

REDACTED = "***"
# scheme://user:password@host — the password runs to the last "@" before the host (a raw "@" in a
# password is common even though it should be percent-encoded).
_URL_PASSWORD = re.compile(r"(?P<head>\b[A-Za-z][A-Za-z0-9+.-]*://[^:/@\s'\"]*):(?P<pw>[^\s/'\"]*)@")
# libpq key=value form and query parameters: password=…, passwd=…, pwd=…
_KEY_PASSWORD = re.compile(r"(?P<head>(?:password|passwd|pwd)\s*=\s*)(?P<pw>'(?:[^'\\]|\\.)*'|[^\s&;'\",)]+)", re.I)

DIR_MODE = 0o700
FILE_MODE = 0o600


def redact(text: str) -> str:
    """`text` with every URL password and `password=` value replaced by `***`."""
    if "@" not in text and "=" not in text:
        return text
    text = _URL_PASSWORD.sub(lambda m: f"{m['head']}:{REDACTED}@", text)
    return _KEY_PASSWORD.sub(lambda m: f"{m['head']}{REDACTED}", text)


class RedactingFormatter(logging.Formatter):
    """A formatter whose output (message, arguments and traceback) never shows a password."""

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


def redact_logging() -> None:
    """Put `RedactingFormatter` on every handler of the root logger (keeping each one's format)."""
    for handler in logging.getLogger().handlers:
        current = handler.formatter
        fmt = current._fmt if current is not None else None
        datefmt = current.datefmt if current is not None else None
        if not isinstance(current, RedactingFormatter):
            handler.setFormatter(RedactingFormatter(fmt, datefmt))


BROWSER_LINES_PER_MINUTE = 30
BROWSER_TEXT_CHARS = 300


class PerMinute:
    """At most `limit` of something in a minute (counted from the first one of that minute): what a
    browser may make us write to the log."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._window = 0.0
        self._count = 0

    def allow(self) -> bool:
        now = time.monotonic()
        if now - self._window >= 60:
            self._window, self._count = now, 0
        self._count += 1
        return self._count <= self.limit


class BrowserLogFilter(logging.Filter):
    """On NiceGUI's logger: a message a browser sent (NiceGUI's `Client.handle_log_message` logs it
    as given) becomes `a browser says: '…'` — repr-quoted, so a newline cannot start a line of
    ours — cut to `BROWSER_TEXT_CHARS`; beyond `BROWSER_LINES_PER_MINUTE` a minute they are dropped."""

    def __init__(self, per_minute: int = BROWSER_LINES_PER_MINUTE) -> None:
        super().__init__()
        self.per_minute = per_minute
        self._lines = PerMinute(per_minute)
        self.dropped = 0

    def filter(self, record: logging.LogRecord) -> bool:
        if record.funcName != "handle_log_message":
            return True
        if not self._lines.allow():
            self.dropped += 1
            return False
        text = record.getMessage()
        record.msg, record.args = "a browser says: %r", (text[:BROWSER_TEXT_CHARS],)
        return True


def guard_browser_logs() -> None:
    """Put `BrowserLogFilter` on NiceGUI's logger (once)."""
    nicegui_log = logging.getLogger("nicegui")
    if not any(isinstance(f, BrowserLogFilter) for f in nicegui_log.filters):
        nicegui_log.addFilter(BrowserLogFilter())


def _tighten(path: Path, mode: int) -> None:
    info = path.stat()
    current = stat.S_IMODE(info.st_mode)
    if current & stat.S_ISVTX or info.st_uid != os.geteuid():  # a shared folder such as /tmp: leave it
        log.warning("%s is shared (mode %o, owner uid %d): not made private", path, current, info.st_uid)
        return
    if current & ~mode:
        try:
            path.chmod(current & mode)
        except OSError as exc:  # not ours: say so, do not stop
            log.warning("cannot make %s private (mode %o): %s", path, current, exc.strerror or exc)


def private_dir(path: Path) -> Path:
    """Create `path` (and parents) with mode 0700 for the last one; tighten it when it is looser."""
    path.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    _tighten(path, DIR_MODE)
    return path


def sqlite_path(url: str) -> Path | None:
    """The file of a `sqlite:///…` URL, None for other databases and in-memory SQLite."""
    if not url.startswith("sqlite"):
        return None
    path = url.split("///", 1)[-1].split("?", 1)[0] if "///" in url else ""
    return Path(path) if path and path != ":memory:" else None


def private_sqlite_file(url: str) -> None:
    """Create the SQLite file of `url` with mode 0600 before SQLite does (it would use 0644), or
    tighten an existing one and its -wal/-shm/-journal companions (SQLite gives new companions the
    database file's mode)."""
    path = sqlite_path(url)
    if path is None:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE))
    for candidate in (path, *(path.with_name(path.name + s) for s in ("-wal", "-shm", "-journal"))):
        if candidate.exists():
            _tighten(candidate, FILE_MODE)


def port_in_use(port: int, host: str = "0.0.0.0") -> str | None:
    """None when `host:port` can be bound (as the web server will, with SO_REUSEADDR), else why not."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return f"port {port} is already in use (another program, or Module Gaze running twice?)"
            return f"cannot listen on port {port} ({exc.strerror or exc})"
    return None


def error_text(exc: BaseException) -> str:
    """A database exception as one line of words (no password): the driver's message, not SQLAlchemy's
    wrapper (its `orig`). Here, without SQLAlchemy: a command without a database does not load it."""
    text = str(getattr(exc, "orig", None) or exc).strip()
    return redact(text.splitlines()[0] if text else type(exc).__name__)[:200]
