"""The console of `bash scripts/run.sh` (the dashboard with the demo): one block that says where to go
(http://localhost:PORT/ and the LAN address), the user name and — only when this start created it —
the password; later starts say how to set a new one."""

from __future__ import annotations

import queue
import re
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from gaze.auth import Users
from gaze.db import make_engine
from tests.browserkit import free_port
from tests.conftest import ROOT, foreign_environ

pytestmark = pytest.mark.slow
RULE = "=" * 72


def _sign_in_block(tmp_path: Path, port: int) -> str:
    """Start the dashboard as scripts/run.sh does, return the block it prints once ready, stop it."""
    env = foreign_environ()
    env.pop("PYTEST_CURRENT_TEST", None)  # NiceGUI would take its test port
    env.update(
        MODULEGAZE_DEMO="on",
        MODULEFETCH_LOG_DIR=str(tmp_path / "logs"),
        MODULEGAZE_DATA_DIR=str(tmp_path / "data"),
        MODULEGAZE_PORT=str(port),
        PYTHONUNBUFFERED="1",
    )
    lines: queue.Queue[str] = queue.Queue()
    with (tmp_path / "stderr.log").open("ab") as errors:
        app = subprocess.Popen(
            [sys.executable, "main.py"], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=errors, text=True
        )
        assert app.stdout is not None
        out = app.stdout
        threading.Thread(target=lambda: list(map(lines.put, out)), daemon=True).start()
        block: list[str] = []
        try:
            while len(block) < 2 or block[-1].strip() != RULE:
                line = lines.get(timeout=90)
                if block or line.strip() == RULE:
                    block.append(line)
        finally:
            app.terminate()
            app.wait(timeout=30)
    return "".join(block)


def test_the_console_says_where_to_go_and_how_to_sign_in(tmp_path: Path) -> None:
    port = free_port()
    first = _sign_in_block(tmp_path, port)
    assert f"http://localhost:{port}/" in first
    assert "user name:  admin" in first
    found = re.search(r"password:\s+(\S+)\s+\(first user, created now", first)
    assert found is not None, first
    (db_file,) = (tmp_path / "data").rglob("gaze.db")  # the demo's own database
    users = Users(make_engine(f"sqlite:///{db_file}"))
    users.load()
    assert users.verify("admin", found.group(1)) is not None  # the password shown is the one that works

    again = _sign_in_block(tmp_path, port)
    assert f"http://localhost:{port}/" in again and "user name:  admin" in again
    assert found.group(1) not in again and "created now" not in again
    assert "not shown again" in again and "MODULEGAZE_DEMO=on" in again and "main.py users passwd admin" in again
