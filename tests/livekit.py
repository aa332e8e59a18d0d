"""Helpers for end-to-end tests: a corpus as a real .journal file, the follower as a subprocess."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterable, Sequence
from pathlib import Path

from sqlalchemy import create_engine, text

from gaze.simulator import DEFAULT_START_MS, Classroom, Line
from tests import journalkit
from tests.conftest import ROOT, foreign_environ

SENTINEL_IP = "10.99.99.99"


def corpus(seed: int, entries: int, start_ms: int = DEFAULT_START_MS) -> list[Line]:
    """A classroom day plus one lone hit two hours later that expires every session.

    The lone hit opens a 0-second session, which is never recorded: so live reading (which leaves
    sessions open) and backfill (which closes them at the end) produce the same records.
    """
    lines = list(Classroom(seed=seed, start_ms=start_ms).day(entries))
    last = lines[-1].time_ms + 2 * 3600 * 1000
    iso = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(last / 1000)) + f".{last % 1000:03d}Z"
    sentinel = f'info: {SENTINEL_IP} - [{iso}] "GET /modules/zz_sentinel/index.html HTTP/1.1" 200'
    return [*lines, Line(last, sentinel)]


def write(path: Path, lines: Iterable[Line]) -> None:
    journalkit.write_journal(path, journalkit.entries_from_lines(lines))


def last_cursor(path: Path) -> str:
    entries = journalkit.read_json(path, "-n", "1", all_fields=False)
    return str(entries[-1]["__CURSOR"])


def env_for(journal: Path, log_dir: Path, db_url: str, **extra: str) -> dict[str, str]:
    env = foreign_environ()
    env.update(
        MODULEGAZE_JOURNAL_FILE=str(journal),
        MODULEGAZE_JOURNAL_SINCE="all",
        MODULEFETCH_LOG_DIR=str(log_dir),
        MODULEGAZE_DATABASE_URL=db_url,
        MODULEGAZE_DATA_DIR=str(log_dir.parent / "data"),
        TZ="UTC",
        PYTHONUNBUFFERED="1",
        **extra,
    )
    return env


def start_follower(env: dict[str, str], log_path: Path) -> subprocess.Popen[bytes]:
    out = log_path.open("ab")
    return subprocess.Popen(
        [sys.executable, str(ROOT / "main.py"), "follow", "--log-level", "WARNING"],
        cwd=ROOT,
        env=env,
        stdout=out,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
    )


def checkpoint_cursor(db_url: str) -> str | None:
    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            return conn.execute(text("SELECT cursor FROM checkpoint WHERE name = 'live'")).scalar()
    except Exception:  # not created yet
        return None
    finally:
        engine.dispose()


def wait_for_cursor(db_url: str, cursor: str, process: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if checkpoint_cursor(db_url) == cursor:
            return
        if process.poll() is not None:
            raise AssertionError(f"follower exited with {process.returncode}")
        time.sleep(0.1)
    raise AssertionError(f"follower did not reach the end of the journal in {timeout}s")


def stop(process: subprocess.Popen[bytes], sig: int = signal.SIGTERM) -> int:
    if process.poll() is None:
        process.send_signal(sig)
    return process.wait(timeout=30)


def children(pid: int, name: str = "journalctl") -> list[int]:
    """Child processes of `pid` running `name` (not, say, the short-lived migration child)."""
    try:
        text_ = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    found = []
    for child in (int(p) for p in text_.split()):
        try:
            if Path(f"/proc/{child}/comm").read_text().strip() == name:
                found.append(child)
        except OSError:
            continue
    return found


def session_log(log_dir: Path) -> str:
    """All session lines: archives (by name) then the plain file."""
    import zipfile

    parts = []
    for archive in sorted(log_dir.glob("modulegaze-sessions-*.log.zip")):
        with zipfile.ZipFile(archive) as zf:
            parts += [zf.read(name).decode() for name in zf.namelist()]
    plain = log_dir / "modulegaze-sessions.log"
    if plain.exists():
        parts.append(plain.read_text())
    return "".join(parts)


def backfill_cli(
    args: Sequence[str], env: dict[str, str], stdin: bytes | None = None
) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, str(ROOT / "main.py"), "backfill", *args],
        cwd=ROOT,
        env=env,
        input=stdin,
        capture_output=True,
        timeout=300,
    )


def jsonl(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
