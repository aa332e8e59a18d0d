"""Scenario: with MODULEGAZE_DEMO=on, `main.py users` manages the users the demo board signs in."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import text

from gaze.db import make_engine
from tests.conftest import ROOT


def test_users_command_manages_the_users_the_demo_board_signs_in(clean_env: None, tmp_path: Path) -> None:
    """With MODULEGAZE_DEMO=on the dashboard keeps its users in the demo's database: so does
    `main.py users` (a viewer added from the shell could not sign in to the demo before)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    env.update(MODULEGAZE_DATA_DIR=str(tmp_path / "state"), MODULEFETCH_LOG_DIR=str(tmp_path / "upload"))
    env["MODULEGAZE_DEMO"] = "on"
    done = subprocess.run(
        [sys.executable, str(ROOT / "main.py"), "users", "add", "v", "--role", "viewer", "--password-stdin"],
        input="viewerpass123\n",
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "users of the demo data" in done.stderr
    demo_db = tmp_path / "state" / "demo" / "gaze.db"
    with make_engine(f"sqlite:///{demo_db}").connect() as conn:
        assert conn.execute(text("SELECT username, role FROM app_user")).all() == [("v", "viewer")]
    assert not (tmp_path / "state" / "gaze.db").exists()  # the real database was not even created
    env["MODULEGAZE_DEMO"] = "off"
    listed = subprocess.run(
        [sys.executable, str(ROOT / "main.py"), "users", "list"], env=env, capture_output=True, text=True, check=False
    )
    assert listed.returncode == 0 and listed.stdout == ""  # the real users: none yet
