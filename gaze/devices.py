"""Names the admin gives to devices (by IP address), kept in `device_label`; devices seen lately.

`DeviceLabels` holds them in memory: reads (`label`, `all`) never touch the database; writes go to the
database first, then replace the in-memory map, under a lock, and bump `version` so the pages can
tell that something changed.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from datetime import timedelta

from sqlalchemy import Engine, delete, func, select
from sqlalchemy.orm import Session

from gaze.db import DeviceLabelRow, RecordRow, UsageDim
from gaze.localtime import day_number, day_of_number, local_day, local_midnight_ms
from gaze.logline import parse_address
from gaze.records import IP

MAX_LABEL = 40


class LabelError(ValueError):
    """A bad IP address or label; str() is a message for the admin."""


def canonical_ip(value: str) -> str:
    """The address as session records store it (gaze.logline): canonical text, no ::ffff: prefix."""
    address = parse_address(value)
    if address is None:
        raise LabelError(f"not an IP address: {value.strip()[:64]!r}")
    return str(address)


def clean_label(value: str) -> str:
    """The label trimmed; '' means "remove". LabelError when too long or holding control characters."""
    label = value.strip()
    if len(label) > MAX_LABEL:
        raise LabelError(f"a label has at most {MAX_LABEL} characters")
    if any(ord(c) < 32 or 127 <= ord(c) < 160 for c in label):
        raise LabelError("a label cannot contain control characters")
    return label


def refusal(address: str, label: str, labels: Mapping[str, str]) -> str | None:
    """Why `label` (cleaned) cannot name the device at `address` (canonical), given every device's name;
    None when it can. A name is not an IP address (the device filter reads those as addresses), and
    no two devices share a name, compared without case (so that a name finds one device)."""
    other = parse_address(label)
    if other is not None:
        ip = str(other)
        if ip == address:
            return f"a name cannot be an IP address ({ip} is this device's own address)"
        named = f", named {labels[ip]!r}" if ip in labels else ""
        return f"a name cannot be an IP address ({ip} is another device{named})"
    wanted = label.casefold()
    for ip, name in sorted(labels.items()):
        if ip != address and name.strip().casefold() == wanted:
            return f"{ip} is already called {name!r}: each device needs its own name"
    return None


def recent_devices(engine: Engine, since_ms: int) -> list[tuple[str, int]]:
    """Devices with a session that ended at or after `since_ms`: (ip, end_ms of its latest), latest first.

    usage_dim says on which local day each device was last seen; the records of those few days then
    give the exact time (one query per distinct day, on the end_ms index)."""
    r = RecordRow.__table__.c
    dims = UsageDim.__table__.c
    found: dict[str, int] = {}
    with engine.connect() as conn:
        last_days = conn.execute(
            select(dims.value, func.max(dims.day))
            .where(dims.dim == IP, dims.day >= day_number(local_day(since_ms)))
            .group_by(dims.value)
        ).all()
        by_day: dict[int, list[str]] = {}
        for ip, day in last_days:
            by_day.setdefault(day, []).append(ip)
        for day, ips in by_day.items():
            start = max(local_midnight_ms(day_of_number(day)), since_ms)
            end = local_midnight_ms(day_of_number(day) + timedelta(days=1))
            stmt = select(r.ip, func.max(r.end_ms)).where(r.end_ms >= start, r.end_ms < end, r.ip.in_(ips))
            found.update((ip, int(last)) for ip, last in conn.execute(stmt.group_by(r.ip)))
        missing = [ip for ip, _ in last_days if ip not in found]  # only after a time zone change
        if missing:
            stmt = select(r.ip, func.max(r.end_ms)).where(r.end_ms >= since_ms, r.ip.in_(missing)).group_by(r.ip)
            found.update((ip, int(last)) for ip, last in conn.execute(stmt))
    return sorted(found.items(), key=lambda item: (-item[1], item[0]))


class DeviceLabels:
    def __init__(self, engine: Engine, *, clock: Callable[[], int] = lambda: time.time_ns() // 1_000_000) -> None:
        self.engine = engine
        self.clock = clock
        self.version = 0
        self._labels: dict[str, str] = {}
        self._lock = threading.Lock()

    def load(self) -> None:
        """Read every label from the database (blocking)."""
        with Session(self.engine) as db:
            labels = {row.ip: row.label for row in db.scalars(select(DeviceLabelRow))}
        with self._lock:
            self._labels = labels
            self.version += 1

    def label(self, ip: str) -> str | None:
        found = self._labels.get(ip)
        if found is None:
            try:
                found = self._labels.get(canonical_ip(ip))
            except LabelError:
                return None
        return found

    def all(self) -> dict[str, str]:
        """A copy: ip → label."""
        return dict(self._labels)

    def set(self, ip: str, label: str) -> str | None:
        """Store `label` for `ip` (blocking); an empty label removes it. Returns what is stored now.
        LabelError, storing nothing, for a bad address or label and for a name `refusal` refuses."""
        address = canonical_ip(ip)
        text = clean_label(label)
        if not text:
            self.remove(address)
            return None
        with self._lock:
            if self._labels.get(address) == text:
                return text
            refused = refusal(address, text, self._labels)
            if refused is not None:
                raise LabelError(refused)
            with Session(self.engine) as db, db.begin():
                row = db.get(DeviceLabelRow, address)
                if row is None:
                    db.add(DeviceLabelRow(ip=address, label=text, updated_ms=self.clock()))
                else:
                    row.label, row.updated_ms = text, self.clock()
            self._labels = {**self._labels, address: text}
            self.version += 1
        return text

    def remove(self, ip: str) -> bool:
        """Forget the label of `ip` (blocking); False when it had none."""
        address = canonical_ip(ip)
        with self._lock:
            with Session(self.engine) as db, db.begin():
                # on the session's Connection: its result (a CursorResult) is the one with a rowcount
                gone = db.connection().execute(delete(DeviceLabelRow).where(DeviceLabelRow.ip == address)).rowcount
            if address not in self._labels and not gone:
                return False
            self._labels = {k: v for k, v in self._labels.items() if k != address}
            self.version += 1
        return True
