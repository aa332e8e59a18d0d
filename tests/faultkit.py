"""Helpers of the recording fault scenarios: journal tools required, the reference `backfill` writes, a follower reading a journal directory."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests import journalkit
from tests.conftest import require
from tests.livekit import (
    backfill_cli,
    env_for,
    session_log,
)

HOUR_MS = 3_600_000


@pytest.fixture(autouse=True)
def _journal_tools() -> None:
    require(journalkit.available(), "systemd-journal-remote and journalctl")


def reference(journal_dir: Path, tmp_path: Path) -> str:
    """What `backfill` of the same journal writes (files only)."""
    log_dir = tmp_path / "reference-logs"
    env = env_for(tmp_path / "unused.journal", log_dir, f"sqlite:///{tmp_path / 'reference.db'}")
    result = backfill_cli(["--directory", str(journal_dir), "--no-database"], env)
    assert result.returncode == 0, result.stderr.decode()
    return session_log(log_dir)


def directory_env(journal_dir: Path, log_dir: Path, db_url: str) -> dict[str, str]:
    env = env_for(journal_dir / "unused.journal", log_dir, db_url)
    del env["MODULEGAZE_JOURNAL_FILE"]
    env["MODULEGAZE_JOURNAL_DIRECTORY"] = str(journal_dir)
    return env
