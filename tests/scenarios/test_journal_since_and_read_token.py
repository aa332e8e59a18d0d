"""Scenario: MODULEGAZE_JOURNAL_SINCE and MODULEGAZE_READ_TOKEN as a centre sets them; a bad value stops main.py with one line and exit 2."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from gaze.config import SettingsError, load_settings
from tests.conftest import ROOT


@pytest.mark.parametrize(
    ("raw", "stored", "since"),
    [
        ("today", "today", "today"),
        ("Yesterday", "yesterday", "yesterday"),
        ("all", "all", None),
        ("NONE", "none", None),
        ("disable", "disable", "now"),  # upstream: follow only what comes from now on
        ("2026-05-01", "2026-05-01", "2026-05-01"),
        ("2026-05-01 08:00:00", "2026-05-01 08:00:00", "2026-05-01 08:00:00"),
        ("-2h", "-2h", "-2h"),
        ("3 days ago", "3 days ago", "3 days ago"),
        ("@1777905040", "@1777905040", "@1777905040"),
    ],
)
def test_journal_since_values(clean_env: None, monkeypatch: pytest.MonkeyPatch, raw: str, stored: str, since: str | None) -> None:  # fmt: skip
    monkeypatch.setenv("MODULEGAZE_JOURNAL_SINCE", raw)
    settings = load_settings()
    assert settings.journal_since == stored and settings.journal_since_arg == since


@pytest.mark.slow
@pytest.mark.parametrize(("variable", "raw"), [
    ("MODULEGAZE_JOURNAL_SINCE", "sometime"), ("MODULEGAZE_JOURNAL_SINCE", "2026-05-01T08:00:00"),
    ("MODULEGAZE_JOURNAL_SINCE", "disabled"), ("MODULEGAZE_READ_TOKEN", "short"),
    ("MODULEGAZE_READ_TOKEN", "has a space in it somewhere"),
])  # fmt: skip
def test_bad_values_stop_with_one_line_and_exit_2(tmp_path: Path, variable: str, raw: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MODULEGAZE_", "MODULEFETCH_"))}
    env.update({variable: raw, "MODULEGAZE_DATA_DIR": str(tmp_path / "data"), "MODULEFETCH_LOG_DIR": str(tmp_path)})
    done = subprocess.run([sys.executable, "main.py"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and variable in lines[0], done.stderr


def test_read_token(clean_env: None, monkeypatch: pytest.MonkeyPatch) -> None:
    assert load_settings().read_token is None
    monkeypatch.setenv("MODULEGAZE_READ_TOKEN", "  ")
    assert load_settings().read_token is None
    monkeypatch.setenv("MODULEGAZE_READ_TOKEN", " 0123456789abcdefXYZ ")
    assert load_settings().read_token == "0123456789abcdefXYZ"
    monkeypatch.setenv("MODULEGAZE_READ_TOKEN", "0123")
    with pytest.raises(SettingsError, match="MODULEGAZE_READ_TOKEN"):
        load_settings()
