"""End to end with real .journal files: live following, backfill (JSON, text, journal), resume."""

from __future__ import annotations

import contextlib
import os
import random
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests import journalkit
from tests.conftest import require
from tests.livekit import (
    backfill_cli,
    children,
    corpus,
    env_for,
    last_cursor,
    session_log,
    start_follower,
    stop,
    wait_for_cursor,
    write,
)

pytestmark = pytest.mark.journal


@pytest.fixture(autouse=True)
def _journal_tools() -> None:
    require(journalkit.available(), "systemd-journal-remote and journalctl")


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A journal of the whole corpus and its records by backfill from the journal file."""
    tmp = tmp_path_factory.mktemp("reference")
    journal = tmp / "oc4d.journal"
    write(journal, corpus(seed=11, entries=6000))
    log_dir = tmp / "logs"
    env = env_for(journal, log_dir, f"sqlite:///{tmp / 'ref.db'}")
    result = backfill_cli(["--file", str(journal)], env)
    assert result.returncode == 0, result.stderr.decode()
    records = session_log(log_dir)
    assert records.count("\n") > 50
    return journal, records


def test_backfill_from_json_and_text_match_journal(reference: tuple[Path, str], tmp_path: Path) -> None:
    journal, expected = reference
    ctl = journalkit.journalctl()
    assert ctl is not None
    as_json = subprocess.run(
        [ctl, "--file", str(journal), "-o", "json", "--all"], capture_output=True, check=True
    ).stdout
    as_text = subprocess.run(
        [ctl, "--file", str(journal), "-o", "short-iso", "--all"], capture_output=True, check=True
    ).stdout
    for fmt, data, how in (("json", as_json, "file"), ("text", as_text, "file"), ("json", as_json, "stdin")):
        log_dir = tmp_path / f"{fmt}-{how}"
        env = env_for(journal, log_dir, f"sqlite:///{tmp_path / (fmt + how)}.db")
        if how == "file":
            src = tmp_path / f"input.{fmt}"
            src.write_bytes(data)
            result = backfill_cli(["--input", str(src), "--format", fmt], env)
        else:
            result = backfill_cli(["--input", "-", "--format", fmt], env, stdin=data)
        assert result.returncode == 0, result.stderr.decode()
        summary = result.stdout.decode()
        assert "entries read:     6,001" in summary and "records written:" in summary and "entries/s:" in summary
        assert session_log(log_dir) == expected, f"{fmt} via {how} differs from the journal backfill"


def test_live_follow_with_appends_matches_backfill(reference: tuple[Path, str], tmp_path: Path) -> None:
    _journal, expected = reference
    lines = corpus(seed=11, entries=6000)
    live_journal = tmp_path / "live" / "oc4d.journal"
    write(live_journal, lines[:2500])
    log_dir = tmp_path / "logs"
    db_url = f"sqlite:///{tmp_path / 'live.db'}"
    env = env_for(live_journal, log_dir, db_url)
    follower = start_follower(env, tmp_path / "follower.log")
    try:
        wait_for_cursor(db_url, last_cursor(live_journal), follower)
        for start in range(2500, len(lines), 1200):  # appended while it follows
            write(live_journal, lines[start : start + 1200])
        wait_for_cursor(db_url, last_cursor(live_journal), follower)
    finally:
        assert stop(follower) == 0, (tmp_path / "follower.log").read_text()
    assert session_log(log_dir) == expected


def _resume_run(reference: tuple[Path, str], tmp_path: Path, kill_journalctl_only: bool) -> None:
    """Append the corpus in chunks; after each chunk, kill at a random moment while it is read."""
    _, expected = reference
    lines = corpus(seed=11, entries=6000)
    journal = tmp_path / "live" / "oc4d.journal"
    write(journal, lines[:1000])
    log_dir = tmp_path / "logs"
    db_url = f"sqlite:///{tmp_path / 'resume.db'}"
    env = env_for(journal, log_dir, db_url)
    rng = random.Random(1234 if kill_journalctl_only else 4321)
    log_path = tmp_path / "follower.log"
    follower = start_follower(env, log_path)
    kills = 0
    try:
        chunks = range(1000, len(lines), 1000 if kill_journalctl_only else 700)
        for start in chunks:
            write(journal, lines[start : start + (1000 if kill_journalctl_only else 700)])
            with contextlib.suppress(subprocess.TimeoutExpired):
                follower.wait(timeout=rng.uniform(0.05, 0.6))
            if kill_journalctl_only:
                for _ in range(200):  # it may be waiting out its backoff: kill the next journalctl
                    if children(follower.pid):
                        break
                    time.sleep(0.05)
                for child in children(follower.pid):
                    os.kill(child, signal.SIGKILL)
                    kills += 1
            else:
                stop(follower, signal.SIGKILL)
                kills += 1
                follower = start_follower(env, log_path)
        wait_for_cursor(db_url, last_cursor(journal), follower, timeout=120)
    finally:
        assert stop(follower) == 0, log_path.read_text()
    assert kills >= 4
    assert session_log(log_dir) == expected


def test_sigkill_follower_and_resume_loses_and_repeats_nothing(reference: tuple[Path, str], tmp_path: Path) -> None:
    _resume_run(reference, tmp_path, kill_journalctl_only=False)


def test_killing_journalctl_restarts_it_from_the_cursor(reference: tuple[Path, str], tmp_path: Path) -> None:
    _resume_run(reference, tmp_path, kill_journalctl_only=True)


NEW_BOOT = "0123456789abcdef0123456789abcdef"


@pytest.mark.parametrize("when", ["while following", "while stopped"])
def test_replaced_journal_with_clock_behind_loses_and_repeats_nothing(tmp_path: Path, when: str) -> None:
    """MODULEGAZE_JOURNAL_FILE removed and written anew by a new boot whose clock is 10 minutes
    behind the last entry read (a Pi without a real-time clock). Before: while following, nothing of
    the new file was read (journalctl went on with the removed one); after a restart, --after-cursor
    sought by time and the new file's first 10 minutes were never read. Now the records equal a
    backfill of the two journals one after the other."""
    first = corpus(seed=11, entries=3000)
    second = corpus(seed=12, entries=3000, start_ms=first[-1].time_ms - 600_000)
    new_entries = [journalkit.export_entry(line.message, line.time_ms * 1000, boot_id=NEW_BOOT) for line in second]
    both = tmp_path / "reference" / "oc4d.journal"
    write(both, first)
    journalkit.write_journal(both, new_entries)
    ref_logs = tmp_path / "reference" / "logs"
    result = backfill_cli(["--file", str(both)], env_for(both, ref_logs, f"sqlite:///{tmp_path / 'ref.db'}"))
    assert result.returncode == 0, result.stderr.decode()
    expected = session_log(ref_logs)

    journal = tmp_path / "live" / "oc4d.journal"
    write(journal, first)
    log_dir = tmp_path / "logs"
    db_url = f"sqlite:///{tmp_path / 'live.db'}"
    env = env_for(journal, log_dir, db_url)
    log_path = tmp_path / "follower.log"
    follower = start_follower(env, log_path)
    try:
        wait_for_cursor(db_url, last_cursor(journal), follower)
        if when == "while stopped":
            assert stop(follower) == 0, log_path.read_text()
        journal.unlink()
        journalkit.write_journal(journal, new_entries)
        if when == "while stopped":
            follower = start_follower(env, log_path)
        wait_for_cursor(db_url, last_cursor(journal), follower, timeout=30)
    finally:
        assert stop(follower) == 0, log_path.read_text()
    assert session_log(log_dir) == expected, "0 lost, 0 doubled"
    said = log_path.read_text()
    assert "is not in the journal any more" in said and "oc4d's log was replaced" in said
