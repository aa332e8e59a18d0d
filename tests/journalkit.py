"""Make REAL systemd journal files for tests and benchmarks (via systemd-journal-remote).

``systemd-journal-remote -o FILE.journal -`` reads the Journal Export Format from stdin and writes
a journal file that ``journalctl --file``/``--directory`` read like the system journal.

Facts established empirically on Debian 12 (systemd 252.39, journalctl/journal-remote 252):

Writing
- Running journal-remote again with ``-o`` on an existing file APPENDS to it: earlier entries are
  kept and sequence numbers continue (i=4, 5, … after the first three). ``write_journal`` relies
  on this; it is the append API.
- The output name must end in ``.journal`` (else "For SplitMode=none, output file name must end
  with .journal", exit 1) and its directory must exist. Files are created mode 0640 and start at
  8 MiB (sparse).
- An entry without ``__REALTIME_TIMESTAMP`` is dropped ("Entry is invalid, ignoring.") and the
  exit status is still 0; ``write_journal`` therefore checks the "Finishing after writing N
  entries" count. Without ``__MONOTONIC_TIMESTAMP``/``_BOOT_ID`` the entry is kept with m=0 and an
  all-zero boot id, so ``export_entry`` always writes both.
- ``__SEQNUM`` in the input is ignored ("Unknown dunder line __SEQNUM=…, ignoring."): the writer
  numbers entries itself. ``export_entry(seqnum=n)`` therefore writes the ordinary field
  ``TEST_SEQNUM=n`` so a test can recognise its entries.
- Within one file the output order is the append order (an entry appended later with an older
  ``__REALTIME_TIMESTAMP`` comes last), not realtime order.
- ``write_journal`` of 80 000 traffic lines takes about 2 s; reading them back with ``-o json``
  about 2.3 s (journal-remote itself: ~0.8 s for 80 000 small entries).

Reading (journalctl 252)
- ``-o json`` emits every field as a JSON string (``__REALTIME_TIMESTAMP`` too, in µs) plus
  ``__CURSOR``; ``-u oc4d.service`` filters on the ``_SYSTEMD_UNIT`` field we write.
- ``--after-cursor=C`` works on ``--file`` and ``--directory`` journals.
- A MESSAGE that is not valid UTF-8 (or holds control characters such as ESC or NUL) is emitted as
  an array of byte values, e.g. ``[98,105,110,32,255,254]``; a value with a newline stays a string.
- Large values: a 100 KiB (and a 3 MiB) MESSAGE is stored intact, but ``-o json`` prints
  ``null`` for any field whose ``KEY=value`` is 4096 bytes or more (MESSAGE values of >= 4088
  bytes) UNLESS ``--all``/``-a`` is given; with ``--all`` the full value is printed.

Following live (a reader started first, entries appended by later journal-remote runs)
- ``journalctl --file /abs/F.journal -f -o json`` (also ``--file ./F.journal``) sees appended
  entries within a fraction of a second, with or without ``-u oc4d.service``/``--after-cursor``.
- PITFALL: with a bare relative name (``--file F.journal``, no directory part) ``-f`` fails:
  "Failed to get journal fd: Destination address required" on stderr, NO entries printed (not even
  the existing ones) and exit status 0. ``follow_argv`` therefore always passes an absolute path.
- ``journalctl --directory D -f`` also works: it sees entries appended to an existing
  ``D/*.journal`` and entries in a new ``.journal`` file created in D later.
- Following a directory holding only a symlink to the file reads the existing entries but does NOT
  see appends (inotify watches the directory the writer does not touch).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import struct
import subprocess
import tempfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

JOURNAL_REMOTE = "/lib/systemd/systemd-journal-remote"
DEFAULT_BOOT_ID = "6f1c0d2e9b8a47c6a5d3e2f1b0c9d8e7"
# The fixed "boot time" monotonic timestamps are counted from: 2000-01-01T00:00:00Z.
BOOT_REALTIME_US = 946_684_800_000_000

_FIELD_NAME = re.compile(r"^[A-Z_][A-Z0-9_]*$")
_FINISHED = re.compile(rb"Finishing after writing (\d+) entries")


class _LineLike(Protocol):
    @property
    def time_ms(self) -> int: ...

    @property
    def message(self) -> str: ...


def journalctl() -> str | None:
    """Path of journalctl, or None."""
    found = shutil.which("journalctl")
    if found:
        return found
    for candidate in ("/usr/bin/journalctl", "/bin/journalctl"):
        if os.access(candidate, os.X_OK):
            return candidate
    return None


def available() -> bool:
    """True when systemd-journal-remote and journalctl are both installed."""
    return os.access(JOURNAL_REMOTE, os.X_OK) and journalctl() is not None


def _field(name: str, value: str | bytes) -> bytes:
    if not _FIELD_NAME.match(name):
        raise ValueError(f"invalid journal field name: {name!r}")
    data = value.encode("utf-8") if isinstance(value, str) else bytes(value)
    if b"\n" in data:
        # Binary-safe form: name, newline, 64-bit little-endian length, raw bytes, newline.
        return name.encode() + b"\n" + struct.pack("<Q", len(data)) + data + b"\n"
    return name.encode() + b"=" + data + b"\n"


def export_entry(
    message: str | bytes,
    realtime_us: int,
    *,
    unit: str = "oc4d.service",
    seqnum: int | None = None,
    hostname: str = "cdn",
    pid: int = 2369,
    boot_id: str = DEFAULT_BOOT_ID,
    monotonic_us: int | None = None,
    extra: Mapping[str, str | bytes] | None = None,
) -> bytes:
    """One entry in Journal Export Format (terminated by the blank line), as oc4d's would be.

    ``message`` may hold any bytes (newlines, invalid UTF-8): values with a newline use the
    binary-safe form. ``monotonic_us`` defaults to ``realtime_us - BOOT_REALTIME_US``.
    ``seqnum`` is written as ``TEST_SEQNUM`` (journal-remote ignores ``__SEQNUM``).
    """
    if monotonic_us is None:
        monotonic_us = max(1, realtime_us - BOOT_REALTIME_US)
    parts = [
        _field("__REALTIME_TIMESTAMP", str(int(realtime_us))),
        _field("__MONOTONIC_TIMESTAMP", str(int(monotonic_us))),
        _field("_BOOT_ID", boot_id),
        _field("_HOSTNAME", hostname),
        _field("_PID", str(pid)),
        _field("_UID", "0"),
        _field("_GID", "0"),
        _field("_COMM", "node"),
        _field("_TRANSPORT", "stdout"),
        _field("_SYSTEMD_UNIT", unit),
        _field("SYSLOG_IDENTIFIER", unit.removesuffix(".service")),
        _field("SYSLOG_FACILITY", "3"),
        _field("PRIORITY", "6"),
    ]
    if seqnum is not None:
        parts.append(_field("TEST_SEQNUM", str(seqnum)))
    for name, value in (extra or {}).items():
        parts.append(_field(name, value))
    parts.append(_field("MESSAGE", message))
    parts.append(b"\n")
    return b"".join(parts)


def entries_from_lines(lines: Iterable[_LineLike], *, unit: str = "oc4d.service", lag_us: int = 0) -> Iterator[bytes]:
    """Export entries for ``gaze.simulator.traffic.Line``s: realtime = the request time (+ ``lag_us``)."""
    for line in lines:
        yield export_entry(line.message, line.time_ms * 1000 + lag_us, unit=unit)


def write_journal(path: Path, entries: Iterable[bytes]) -> None:
    """Create ``path`` (must end in ``.journal``), or APPEND to it when it exists.

    Parent directories are created. Raises RuntimeError when journal-remote fails or writes fewer
    entries than given (it silently drops invalid ones).
    """
    path = Path(path)
    if path.suffix != ".journal":
        raise ValueError(f"journal file name must end in .journal: {path}")
    path.parent.mkdir(parents=True, exist_ok=True)
    count = 0
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(
            [JOURNAL_REMOTE, "-o", str(path), "-"],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=err,
        )
        assert proc.stdin is not None
        try:  # a BrokenPipeError (journal-remote died) is reported below from its exit status
            buffer: list[bytes] = []
            size = 0
            for entry in entries:
                if not entry.endswith(b"\n\n"):
                    raise ValueError("an export entry must end with a blank line")
                buffer.append(entry)
                size += len(entry)
                count += 1
                if size >= 1 << 20:
                    proc.stdin.write(b"".join(buffer))
                    buffer.clear()
                    size = 0
            proc.stdin.write(b"".join(buffer))
        except BrokenPipeError:
            pass
        finally:
            with contextlib.suppress(BrokenPipeError):
                proc.stdin.close()
            rc = proc.wait()
        err.seek(0)
        stderr = err.read()
    match = _FINISHED.search(stderr)
    written = int(match.group(1)) if match else -1
    if rc != 0 or written != count:
        raise RuntimeError(
            f"systemd-journal-remote wrote {written} of {count} entries to {path} (exit {rc}): "
            + stderr.decode("utf-8", "replace").strip()
        )


def read_json(source: Path, *args: str, all_fields: bool = True) -> list[dict[str, Any]]:
    """``journalctl -o json`` of a file (``--file``) or directory (``--directory``), parsed."""
    ctl = journalctl()
    if ctl is None:
        raise RuntimeError("journalctl not found")
    source = Path(source)
    where = ["--directory", str(source)] if source.is_dir() else ["--file", str(source)]
    argv = [ctl, *where, "-o", "json", "--no-pager", *(["--all"] if all_fields else []), *args]
    out = subprocess.run(argv, check=True, capture_output=True, timeout=120).stdout
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def message_bytes(entry: dict[str, Any]) -> bytes | None:
    """The MESSAGE of a ``-o json`` entry as bytes (strings are UTF-8, arrays are byte values)."""
    value = entry.get("MESSAGE")
    if value is None:
        return None
    if isinstance(value, list):
        return bytes(value)
    return str(value).encode("utf-8")


def follow_argv(
    path: Path,
    *,
    unit: str | None = None,
    after_cursor: str | None = None,
    directory: bool = False,
    extra: Sequence[str] = (),
) -> list[str]:
    """A journalctl command that follows ``path`` live (``-f -o json --all``).

    A file is passed to ``--file`` as an absolute path (a bare relative name cannot be followed,
    see the module docstring); a directory, or ``directory=True``, uses ``--directory``.
    """
    ctl = journalctl() or "journalctl"
    path = Path(path).absolute()
    if path.is_dir() or directory:
        where = ["--directory", str(path if path.is_dir() else path.parent)]
    else:
        where = ["--file", str(path)]
    argv = [ctl, *where, "-f", "-o", "json", "--all", "--no-pager"]
    if unit:
        argv += ["-u", unit]
    if after_cursor:
        argv.append(f"--after-cursor={after_cursor}")
    argv += list(extra)
    return argv
