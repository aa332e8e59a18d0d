"""Demo traffic: a simulated classroom producing oc4d lines, for a machine without oc4d's journal.

The lines go through the real parser and session store; only their origin is simulated.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import subprocess
import time
from collections.abc import Callable

from gaze.journal import JournalEntry, JournalSource
from gaze.traffic import Classroom

DEMO_DETAIL = "demo data"


def journal_has_entries(source: JournalSource, timeout_s: float = 5.0) -> bool:
    """True when journalctl exists and holds at least one entry of the unit."""
    if shutil.which(source.journalctl) is None:
        return False
    args = [*source.args(follow=False), "-n", "1"]
    try:
        out = subprocess.run(args, capture_output=True, timeout=timeout_s, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return bool(out.stdout.strip())


def want_demo(mode: str, source: JournalSource) -> bool:
    """MODULEGAZE_DEMO: on / off / auto (demo only when no journal is configured and none exists)."""
    if mode in ("on", "off"):
        return mode == "on"
    if source.directory is not None or source.file is not None:
        return False
    return not journal_has_entries(source)


async def run_demo(
    feed: Callable[[list[JournalEntry]], None],
    stop: asyncio.Event,
    *,
    seed: int = 2026,
    devices: int = 25,
    period_s: float = 1.0,
    warm_up_s: int = 600,
) -> None:
    """Feed simulated lines stamped with the wall clock until `stop` is set.

    The classroom starts `warm_up_s` in the past, so the board is busy from the first second.
    """
    now_ms = time.time_ns() // 1_000_000
    classroom = Classroom(seed=seed, devices=devices, start_ms=now_ms - warm_up_s * 1000)
    while not stop.is_set():
        now_ms = time.time_ns() // 1_000_000
        lines = classroom.lines_until(now_ms)
        if lines:
            feed([JournalEntry(None, line.time_ms * 1000, line.message) for line in lines])
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), period_s)
