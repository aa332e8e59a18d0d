"""The uplink's state as the board, /healthz and the `uplink` command show it: numbers and words.

`UplinkStatus` is what the shipper keeps between runs, `ShipReport` what one run did; the texts
(`status_text`, `notes`, `ago`, `span`) say them for a centre admin. Never a secret.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

CLOCK_NOTE_S = 60  # a clock off by less is not worth a word (the store allows 15 min)


@dataclass
class UplinkStatus:
    """What the board and /healthz show. Only words and numbers: never a secret."""

    target: str
    last_success_ms: int | None = None
    queued: int = 0  # records not yet acknowledged by the store
    last_error: str | None = None
    failures: int = 0  # consecutive failed attempts
    last_attempt_ms: int | None = None
    next_attempt_at: float = 0.0  # time.time() of the next try after a failure
    objects_sent: int = 0  # by this process
    records_sent: int = 0
    bytes_sent: int = 0
    slow_down: bool = False  # the last attempt was asked to slow down (503 SlowDown)
    clock_offset_s: float = 0.0  # the store's clock minus this machine's (positive: ours is behind)
    bucket_region: str | None = None  # where the store says the bucket is, when not where the settings say

    def as_dict(self, now: float | None = None) -> dict[str, object]:
        now = time.time() if now is None else now
        since = None if self.last_success_ms is None else round(now - self.last_success_ms / 1000, 1)
        return {
            "target": self.target,
            "lastSuccessMs": self.last_success_ms,
            "secondsSinceLastSuccess": since,
            "queued": self.queued,
            "lastError": self.last_error,
            "failures": self.failures,
            "objectsSent": self.objects_sent,
            "recordsSent": self.records_sent,
            "bytesSent": self.bytes_sent,
            "slowDown": self.slow_down,
            "clockOffsetSeconds": round(self.clock_offset_s),
            "bucketRegion": self.bucket_region,
        }


@dataclass
class ShipReport:
    objects: int = 0
    records: int = 0
    bytes: int = 0
    keys: list[str] = field(default_factory=list)
    error: str | None = None
    waiting: int = 0
    slow_down: bool = False
    notes: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        out = [
            f"shipped {self.objects} object{'s' if self.objects != 1 else ''}: {self.records} records, {self.bytes} bytes"
        ]
        out += [f"  {key}" for key in self.keys]
        if self.error:
            out.append(f"stopped: {self.error}")
        out.append(f"{self.waiting} records waiting")
        out += self.notes
        return out


def ago(seconds: float) -> str:
    """How long ago, in words: 'just now', '17 min ago', '5 h ago', '3 days ago' — the status
    strip's one way to say it (the last upload, the last oc4d line: gaze.board.format_age)."""
    if seconds < 90:
        return "just now"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min ago"
    if seconds < 172_800:
        return f"{seconds / 3600:.0f} h ago"
    return f"{seconds / 86_400:.0f} days ago"


def span(seconds: float) -> str:
    """A length of time in whole minutes, in words: '17 min', '2 h 03 min', '3 days 4 h'."""
    minutes = max(1, round(abs(seconds) / 60))
    if minutes < 60:
        return f"{minutes} min"
    if minutes < 2880:
        return f"{minutes // 60} h {minutes % 60:02d} min"
    days, hours = divmod(round(minutes / 60), 24)
    return f"{days} days" + (f" {hours} h" if hours else "")


def clock_text(offset_s: float) -> str | None:
    """What the store's answers say of this machine's clock; None when it is right."""
    if abs(offset_s) < CLOCK_NOTE_S:
        return None
    return f"this Pi's clock is {span(offset_s)} {'behind' if offset_s > 0 else 'ahead of'} the store's"


def notes(status: UplinkStatus) -> list[str]:
    """What the store told that the admin should fix, though records still go out."""
    out = []
    clock = clock_text(status.clock_offset_s)
    if clock:
        out.append(clock)
    if status.bucket_region:
        out.append(f"the bucket is in {status.bucket_region}: set AWS_REGION={status.bucket_region}")
    return out


def status_text(status: UplinkStatus, now: float | None = None) -> tuple[str, bool]:
    """One line for the board's status strip, and whether it is a problem to flag (an error other
    than being asked to slow down, or a wrong clock: the records' times come from it)."""
    now = time.time() if now is None else now
    last = "never" if status.last_success_ms is None else ago(now - status.last_success_ms / 1000)
    text = f"uplink: last upload {last} · {status.queued} queued"
    if status.last_error:
        text += f" · {status.last_error}"
        if status.next_attempt_at > now:
            text += f" · next try in {span(math.ceil(status.next_attempt_at - now))}"
    for note in notes(status):
        text += f" · {note}"
    problem = status.last_error is not None and not status.slow_down
    return text, problem or clock_text(status.clock_offset_s) is not None
