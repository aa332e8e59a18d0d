"""What `python main.py backfill` tells the admin: a one-line progress display on a terminal while it
reads, and the summary it prints at the end (gaze/backfill.py does the work)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TextIO

from gaze.setaside import SetAside


@dataclass
class Summary:
    entries: int
    hits: int
    ignored: dict[str, int]
    records: int
    already_in_files: int
    elapsed_s: float
    set_aside: SetAside = field(default_factory=SetAside)
    database: bool = True  # what is set aside is in the set_aside table (else only counted)

    def lines(self) -> list[str]:
        rate = self.entries / self.elapsed_s if self.elapsed_s > 0 else 0.0
        ignored = ", ".join(f"{k} {v:,}" for k, v in sorted(self.ignored.items())) or "none"
        return [
            f"entries read:     {self.entries:,}",
            f"module hits:      {self.hits:,}",
            f"ignored lines:    {sum(self.ignored.values()):,} ({ignored})",
            f"records written:  {self.records - self.already_in_files:,}",
            f"already in files: {self.already_in_files:,}",
            *self._set_aside(),
            f"elapsed:          {self.elapsed_s:.2f} s",
            f"entries/s:        {rate:,.0f}",
        ]

    def _set_aside(self) -> list[str]:
        aside = self.set_aside
        if not aside.count:
            return []
        where = "table set_aside" if self.database else "no database: counted only"
        return [f"set aside:        {aside.count:,} ({where}; last: {aside.last_error})"]


class Progress:
    """A one-line progress display on a terminal; silent otherwise."""

    def __init__(self, stream: TextIO, total_bytes: int | None) -> None:
        self.stream = stream
        self.total = total_bytes
        self.enabled = stream.isatty()
        self.started = time.monotonic()
        self._last = 0.0

    def update(self, done_bytes: int, entries: int, force: bool = False) -> None:
        now = time.monotonic()
        if not self.enabled or (not force and now - self._last < 0.2):
            return
        self._last = now
        rate = entries / max(now - self.started, 1e-6)
        if self.total:
            frac = min(done_bytes / self.total, 1.0)
            bar = "#" * int(frac * 30)
            text = f"\r[{bar:<30}] {frac:6.1%}  {entries:,} entries  {rate:,.0f}/s"
        else:
            text = f"\r{entries:,} entries  {rate:,.0f}/s"
        self.stream.write(text)
        self.stream.flush()

    def done(self) -> None:
        if self.enabled:
            self.stream.write("\n")
            self.stream.flush()
