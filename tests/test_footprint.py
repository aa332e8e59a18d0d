"""gaze/footprint.py: the allocator settings and the libraries the web server leaves unloaded.

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

# Everything the dashboard process imports to serve (main.build()), then which of the libraries it
# never uses got loaded (the HTTP clients; Pydantic's v1 API; uvicorn's watchfiles reloader).
UNUSED = ("requests", "aiohttp", "pydantic.v1", "watchfiles")
LOADED_UNUSED = """
import sys
{prelude}
from nicegui import app, background_tasks, ui
from components.hub import Hub
from pages import access, api, dashboard, devices, history, login, security, users
import engineio, socketio
server = socketio.AsyncServer(async_mode="asgi")
import uvicorn.main  # what ui.run() starts
print(",".join(name for name in {unused!r} if sys.modules.get(name) is not None))
"""


def loaded_unused(prelude: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", LOADED_UNUSED.format(prelude=prelude, unused=UNUSED)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return done.stdout.strip()


def test_the_web_server_runs_without_the_libraries_it_never_uses() -> None:
    # What engineio, FastAPI and uvicorn load by themselves: the reason for the module.
    assert loaded_unused("") == "requests,aiohttp,pydantic.v1,watchfiles"
    assert loaded_unused("from gaze.footprint import skip_unused_modules; skip_unused_modules()") == ""


def test_fastapi_still_refuses_nothing_and_uvicorn_still_has_a_reloader() -> None:
    """With pydantic.v1 and watchfiles absent, FastAPI's check answers "not a v1 model" (it would
    raise for one) and uvicorn picks its stat reloader: neither import fails."""
    code = (
        "from gaze.footprint import skip_unused_modules; skip_unused_modules(); "
        "from fastapi._compat.shared import annotation_is_pydantic_v1; "
        "from uvicorn.supervisors import ChangeReload; "
        "print(annotation_is_pydantic_v1(int), ChangeReload.__name__)"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False StatReload"


def test_a_library_already_imported_is_left_alone() -> None:
    code = "import requests, sys; from gaze.footprint import skip_unused_modules; skip_unused_modules(); "
    code += "print(sys.modules['requests'] is requests)"
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "True"


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="mallopt is glibc's")
def test_malloc_settings_are_taken_by_glibc() -> None:
    code = "from gaze.footprint import tune_malloc; print(tune_malloc())"
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "True"


@pytest.mark.slow
def test_the_dashboard_runs_on_the_standard_event_loop(tmp_path: Path) -> None:
    """uvicorn picks uvloop when it is installed (NiceGUI installs it); main.SERVER_OPTIONS asks for
    asyncio's own loop: uvloop's library and module are ~2.5 MB of the idle board's resident size
    (bench/live.py (b)). The real app (``python main.py``): its memory map has no uvloop."""
    from tests import journalkit
    from tests.browserkit import App, access_line, append, entry_path, now_ms
    from tests.conftest import require

    require(journalkit.available(), "systemd-journal-remote and journalctl")
    journal = tmp_path / "oc4d.journal"
    start = now_ms()
    append(journal, [(start, access_line("192.168.1.5", entry_path("cdn_math"), start))])
    app = App(journal, tmp_path).start()
    try:
        mapped = Path(f"/proc/{app.pid}/maps").read_text()
        status, _ = app.health()
    finally:
        app.stop()
    assert status == 200  # serving, on the loop it was given
    assert "/uvloop/" not in mapped
