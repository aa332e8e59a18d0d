"""Demo traffic: a simulated classroom producing oc4d lines, for a machine without oc4d's journal.

The lines go through the real parser and session store; only their origin is simulated. Demo data
lives apart from real data (`demo_settings`): its own SQLite file and log folder under the data
directory. `probe_journal` also tells the monitor when the journal cannot be read.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass

from gaze.config import Settings
from gaze.journalctl import JournalEntry, JournalSource
from gaze.simulator.traffic import Classroom

log = logging.getLogger(__name__)
DEMO_DETAIL = "demo data"
DEMO_FOLDER = "demo"  # under the data directory: the demo's own database and log files
UNREADABLE = "cannot read the journal: is modulegaze in group systemd-journal?"
_DENIED = ("insufficient permissions", "permission denied", "not seeing messages from other users")


@dataclass(frozen=True, slots=True)
class JournalProbe:
    """What one `journalctl -u UNIT -n 1` says: `entries` | `empty` | `missing` | `unreadable` | `error`."""

    state: str
    detail: str = ""


def probe_journal(source: JournalSource, timeout_s: float = 5.0) -> JournalProbe:
    """Ask journalctl for the unit's newest entry; its complaints (without -q) tell an unreadable
    journal from an empty one."""
    if shutil.which(source.journalctl) is None:
        return JournalProbe("missing", f"{source.journalctl} not found")
    args = [a for a in source.args(follow=False) if a != "-q"] + ["-n", "1"]
    try:
        out = subprocess.run(args, capture_output=True, timeout=timeout_s, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return JournalProbe("error", str(exc))
    err = out.stderr.decode("utf-8", "replace").strip()
    if any(word in err.lower() for word in _DENIED):
        return JournalProbe("unreadable", f"{UNREADABLE} ({err.splitlines()[-1]})")
    if out.returncode != 0:
        return JournalProbe("error", err.splitlines()[-1] if err else f"journalctl exit code {out.returncode}")
    return JournalProbe("entries" if out.stdout.strip() else "empty")


def unit_unknown(unit: str, systemctl: str = "systemctl", timeout_s: float = 5.0) -> bool:
    """True only when systemd answers that it has no such unit (LoadState=not-found)."""
    try:
        out = subprocess.run(
            [systemctl, "show", "-p", "LoadState", "--value", unit],
            capture_output=True,
            timeout=timeout_s,
            stdin=subprocess.DEVNULL,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return out.returncode == 0 and out.stdout.decode().strip() == "not-found"


def demo_decision(mode: str, source: JournalSource, systemctl: str = "systemctl") -> tuple[bool, str]:
    """MODULEGAZE_DEMO: on / off / auto — and why, in words for the start-up log.

    `auto` gives demo data only when nothing says this is a centre's machine: no journal directory
    or file is configured, systemd has no such unit, and journalctl runs, can read the journal and
    finds no entry of the unit. A missing journalctl, an unreadable journal, a journal without
    oc4d lines on a machine that has the unit, or any doubt: no demo (the status says why).
    """
    if mode in ("on", "off"):
        return mode == "on", f"MODULEGAZE_DEMO={mode}"
    if source.directory is not None or source.file is not None:
        return False, "a journal directory or file is configured"
    probe = probe_journal(source)
    if probe.state != "empty":
        said = {"entries": f"the journal has {source.unit} lines"}.get(probe.state, probe.detail or probe.state)
        return False, said
    if not unit_unknown(source.unit, systemctl):
        return False, f"systemd did not confirm that {source.unit} is absent: no systemd here, or the unit exists"
    return True, f"no {source.unit} on this machine"


def settle_demo(settings: Settings) -> tuple[Settings, bool, str]:
    """Decide MODULEGAZE_DEMO once, before anything opens a database or a log file: the settings to
    run with (the demo's own, when it is demo), whether it is demo, and why (for `log_demo`)."""
    source = JournalSource.from_settings(settings)
    demo, why = demo_decision(settings.demo, source)
    return (demo_settings(settings) if demo else settings), demo, why


def log_demo(demo: bool, why: str) -> None:
    """The start-up log's line on the decision (after the start-up checks: a refused start prints
    its one line only)."""
    log.info("%s (%s)", "demo data" if demo else "no demo data", why)


def demo_settings(settings: Settings) -> Settings:
    """The same settings with the demo's own database and log directory under the data directory,
    so simulated records can never reach MODULEFETCH_LOG_DIR (the upload folder) or real history."""
    folder = (settings.data_dir / DEMO_FOLDER).absolute()
    return settings.model_copy(update={"log_dir": folder / "logs", "database_url": f"sqlite:///{folder / 'gaze.db'}"})


async def run_demo(
    feed: Callable[[list[JournalEntry]], None],
    stop: asyncio.Event,
    *,
    seed: int = 2026,
    devices: int = 25,
    period_s: float = 1.0,
    warm_up_s: int = 600,
    resume_ms: int | None = None,
) -> None:
    """Feed simulated lines stamped with the wall clock until `stop` is set.

    The classroom starts `warm_up_s` in the past, so the board is busy from the first second — but
    never before `resume_ms` (the last event time already fed, after a Stop/Start or a restart): a
    line older than what the sessions have seen would end and reopen them, and raise their alerts again.
    """
    now_ms = time.time_ns() // 1_000_000
    start_ms = now_ms - warm_up_s * 1000
    if resume_ms is not None:
        start_ms = min(max(start_ms, resume_ms + 1), now_ms)
    classroom = Classroom(seed=seed, devices=devices, start_ms=start_ms)
    while not stop.is_set():
        now_ms = time.time_ns() // 1_000_000
        lines = classroom.lines_until(now_ms)
        if lines:
            feed([JournalEntry(None, line.time_ms * 1000, line.message) for line in lines])
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), period_s)
