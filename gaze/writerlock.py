"""One writer per data directory and per log directory.

Two processes writing the same state each write every record (a dashboard and `main.py follow` on
the same settings doubled every session line and every database row). So the processes that write
take an advisory lock (`flock`, exclusive, non-blocking) on each directory they write — on the
directory itself, so no file of ours appears in the centre's log folder — before they write
anything, and keep it for their lifetime. The kernel drops it when the holder's last descriptor
closes — also on SIGKILL, so no lock ever goes stale. A refused process names the holder from the
kernel's own table (/proc/locks: pid and the directory's inode) and /proc/<pid>/cmdline, cleaned of
control characters and passwords.

The lock descriptor is opened close-on-exec: journalctl and the migration child do not inherit it.
Within one process, taking the same directory again is a no-op (a data directory that is also the
log directory holds one lock), recognised by the directory's inode.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import shlex
from pathlib import Path

from gaze.config import SettingsError
from gaze.hardening import redact

_COMMAND_CHARS = 200
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")
UNKNOWN_HOLDER = "another Module Gaze process"


class DirectoryInUse(Exception):
    """Another process holds the directory's lock; str() is the one line to print."""


_held: dict[tuple[int, int], int] = {}  # directory (device, inode) -> descriptor, for this process's lifetime


def describe_holder(pid: int | None) -> str:
    """`pid 1234 (python main.py follow)` for a running process, or UNKNOWN_HOLDER."""
    if pid is None or not 0 < pid < 2**22:
        return UNKNOWN_HOLDER
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes()[:4096].decode("utf-8", "replace").split("\0")
    except OSError:
        return UNKNOWN_HOLDER
    command = _CONTROL.sub(" ", redact(shlex.join(a for a in argv if a))).strip()[:_COMMAND_CHARS]
    return f"pid {pid} ({command})" if command else f"pid {pid}"


def lock_holder(info: os.stat_result) -> int | None:
    """The pid holding a flock on the file or directory `info` describes, from /proc/locks."""
    where = f"{os.major(info.st_dev):02x}:{os.minor(info.st_dev):02x}:{info.st_ino}"
    with contextlib.suppress(OSError):
        for line in Path("/proc/locks").read_text().splitlines():
            fields = line.split()  # 1: FLOCK ADVISORY WRITE <pid> <maj:min:inode> 0 EOF
            if len(fields) >= 6 and fields[1] == "FLOCK" and fields[5] == where and fields[4].isdigit():
                return int(fields[4])
    return None


def hold(directory: Path, variable: str) -> None:
    """Take `directory`'s writer lock for the rest of this process (the directory exists), or raise
    DirectoryInUse naming the holder; SettingsError naming `variable` when it cannot be locked at all."""
    path = Path(os.path.abspath(directory))
    try:
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
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
        os.close(fd)
        raise DirectoryInUse(
            f"{variable}: {directory} is in use by {describe_holder(lock_holder(info))}; "
            "one Module Gaze process writes there at a time"
        ) from None
    except OSError as exc:
        os.close(fd)
        raise SettingsError(f"{variable}: cannot lock {path} ({exc.strerror or exc})") from None
    _held[key] = fd


def release_all() -> None:
    """Give up every lock this process holds (after its last write: the process ends, or a test's
    app shuts down)."""
    while _held:
        _, fd = _held.popitem()
        with contextlib.suppress(OSError):
            os.close(fd)
