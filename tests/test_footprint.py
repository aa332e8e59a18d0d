"""gaze/footprint.py: the allocator settings and the HTTP-client libraries the web server leaves unloaded.

The resident-size figures are bench/live.py's part (b); here: the mechanisms do what they say, in a
fresh interpreter each (what a process has imported cannot be unimported).
"""

from __future__ import annotations

import platform
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# Everything the dashboard process imports to serve (main.build()), then which clients got loaded.
LOADED_CLIENTS = """
import sys
{prelude}
from nicegui import app, background_tasks, ui
from components.hub import Hub
from pages import access, api, dashboard, devices, history, login, security, users
import engineio, socketio
server = socketio.AsyncServer(async_mode="asgi")
print(",".join(name for name in ("requests", "aiohttp") if sys.modules.get(name) is not None))
"""


def loaded_clients(prelude: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", LOADED_CLIENTS.format(prelude=prelude)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return done.stdout.strip()


def test_the_web_server_runs_without_the_http_client_libraries() -> None:
    assert loaded_clients("") == "requests,aiohttp"  # what engineio loads by itself: the reason for the module
    assert loaded_clients("from gaze.footprint import skip_unused_clients; skip_unused_clients()") == ""


def test_a_library_already_imported_is_left_alone() -> None:
    code = "import requests, sys; from gaze.footprint import skip_unused_clients; skip_unused_clients(); "
    code += "print(sys.modules['requests'] is requests)"
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "True"


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="mallopt is glibc's")
def test_malloc_settings_are_taken_by_glibc() -> None:
    code = "from gaze.footprint import tune_malloc; print(tune_malloc())"
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "True"
