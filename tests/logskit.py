"""Helpers for the session log file tests: session lines at a given time, a controllable day, archive readers."""

from __future__ import annotations

import zipfile
from datetime import date, datetime
from pathlib import Path

from gaze.logs.format import SESSIONS_STEM, format_session_line

D1 = date(2026, 5, 4)


D2 = date(2026, 5, 5)


def ms(iso: str) -> int:
    """Epoch milliseconds of an ISO timestamp with an offset or Z."""
    dt = datetime.fromisoformat(iso)
    return int(dt.timestamp()) * 1000 + dt.microsecond // 1000


def line(iso: str, module: str = "cdn_math") -> bytes:
    return format_session_line(ms(iso), "anna@example.com", "192.168.1.20", module, 40).encode()


class Clock:
    """A controllable ``today`` callable."""

    def __init__(self, day: date) -> None:
        self.day = day

    def __call__(self) -> date:
        return self.day


def archive_name(day: date, stem: str = SESSIONS_STEM) -> str:
    return f"{stem}-{day.isoformat()}.log"


def read_archive(path: Path) -> tuple[list[str], bytes]:
    with zipfile.ZipFile(path) as zf:
        names = zf.namelist()
        assert all(i.compress_type == zipfile.ZIP_DEFLATED for i in zf.infolist())
        return names, b"".join(zf.read(n) for n in names)


def write_archive(path: Path, member: str, content: bytes) -> None:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(member, content)
