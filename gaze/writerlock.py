"""One writer per data directory and per log directory.

Two processes writing the same state each write every record (a dashboard and `main.py follow` on
the same settings doubled every session line and every database row). So the processes that write
take an advisory lock (`flock`, exclusive, non-blocking) on a `.modulegaze.lock` file in each
directory they write, before they write anything, and keep it for their lifetime. The kernel drops
it when the holder's last descriptor closes — also on SIGKILL, so no lock ever goes stale. The
file holds the holder's pid and command line so a refused process can name it; it is only a hint
(read with a size limit, the pid checked to be alive, the text cleaned of control characters).

The lock descriptor is opened close-on-exec: journalctl and the migration child do not inherit it.
Within one process, taking the same directory again is a no-op (a data directory that is also the
log directory holds one lock), recognised by the lock file's inode.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import shlex
import sys
from pathlib import Path

from gaze.config import SettingsError
from gaze.hardening import FILE_MODE, redact

LOCK_FILE = ".modulegaze.lock"
_HINT_BYTES = 4096  # what is read of a holder's note
_COMMAND_CHARS = 200
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")
UNKNOWN_HOLDER = "another Module Gaze process"


class DirectoryInUse(Exception):
    """Another process holds the directory's lock; str() is the one line to print."""


_held: dict[tuple[int, int], int] = {}  # lock file (device, inode) -> descriptor, for this process's lifetime


def holder_note() -> str:
    """What this process writes into the lock files it holds: pid, then the command line (no
    password: a `--database-url` may carry one)."""
    argv = getattr(sys, "orig_argv", None) or [sys.executable, *sys.argv]
    command = _CONTROL.sub(" ", redact(shlex.join(argv)))[:_COMMAND_CHARS]
    return f"{os.getpid()}\n{command}\n"


def describe_holder(note: bytes) -> str:
    """`pid 1234 (python main.py follow)` from a lock file's note, or UNKNOWN_HOLDER when the note
    is empty, malformed or names a process that is gone."""
    pid_text, _, rest = note[:_HINT_BYTES].decode("utf-8", "replace").partition("\n")
    if not pid_text.strip().isdigit() or not 0 < int(pid_text) < 2**22:
        return UNKNOWN_HOLDER
    pid = int(pid_text)
    if not Path(f"/proc/{pid}").exists():
        return UNKNOWN_HOLDER
    command = _CONTROL.sub(" ", rest).strip()[:_COMMAND_CHARS]
    return f"pid {pid} ({command})" if command else f"pid {pid}"


def _open(path: Path) -> tuple[int, bool]:
    """The lock file's descriptor and whether we may write our note into it. A lock file another
    user made (say root ran a command once) can still be locked read-only."""
    flags = os.O_CLOEXEC | os.O_NOFOLLOW
    try:
        return os.open(path, os.O_RDWR | os.O_CREAT | flags, FILE_MODE), True
    except PermissionError:
        return os.open(path, os.O_RDONLY | flags), False


def hold(directory: Path, variable: str) -> None:
    """Take `directory`'s writer lock for the rest of this process (the directory exists), or raise
    DirectoryInUse naming the holder; SettingsError naming `variable` when it cannot be locked at all."""
    path = Path(os.path.abspath(directory / LOCK_FILE))
    try:
        fd, writable = _open(path)
        info = os.fstat(fd)
    except OSError as exc:
        raise SettingsError(f"{variable}: cannot lock {path} ({exc.strerror or exc})") from None
    key = (info.st_dev, info.st_ino)
    if key in _held:  # this process holds it already (the same directory under two names)
        os.close(fd)
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        try:
            note = os.pread(fd, _HINT_BYTES, 0)
        except OSError:
            note = b""
        os.close(fd)
        raise DirectoryInUse(
            f"{variable}: {directory} is in use by {describe_holder(note)}; "
            "one Module Gaze process writes there at a time"
        ) from None
    except OSError as exc:
        os.close(fd)
        raise SettingsError(f"{variable}: cannot lock {path} ({exc.strerror or exc})") from None
    if writable:
        with contextlib.suppress(OSError):  # the note is a courtesy: the lock is what counts
            os.ftruncate(fd, 0)
            os.pwrite(fd, holder_note().encode(), 0)
    _held[key] = fd


def release_all() -> None:
    """Give up every lock this process holds (after its last write: the process ends, or a test's
    app shuts down)."""
    while _held:
        _, fd = _held.popitem()
        with contextlib.suppress(OSError):
            os.close(fd)
