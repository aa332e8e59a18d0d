"""NiceGUI's floor for bench/live.py (d): a minimal NiceGUI app with one label behind a login.

Run as a script (``FloorApp`` below starts it): NiceGUI's authentication example (a middleware that
sends a browser without a signed-in user to ``/login``; the login page's handler stores the user in
``app.storage.user`` and calls ``ui.navigate.to``), with the app's login cost (the same scrypt
check, ``gaze.auth.verify_password``, off the event loop) and the app's server settings: a
storage secret made the same way (``gaze.auth.session_secret``) and the same ``ui.run`` options as
main.py's ``serve()`` (``main.SERVER_OPTIONS``). The board is one label whose ``aria-label`` is
``time on module``, the mark bench/live_login.py waits for. ``/healthz`` answers as the app's does
(``reader.lines``), so the benchmark's start-up wait is the same.

``MODULEGAZE_PORT``, ``MODULEGAZE_DATA_DIR``: as the app. The floor runs with the app's
``tailwind=False`` (it uses no Tailwind class, so needs no stylesheet); ``BENCH_FLOOR_TAILWIND=1``:
NiceGUI's default ``tailwind=True`` instead (the compiler in the browser; information).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench.livebench import CATALOG, MODULES, ip_of  # noqa: E402
from tests.browserkit import (  # noqa: E402
    ADMIN_PASSWORD,
    ADMIN_USER,
    ROOT,
    App,
    access_line,
    append,
    entry_path,
    make_catalog,
    now_ms,
)

OPEN_PATHS = frozenset({"/login", "/healthz", "/favicon.ico"})


def serve() -> None:
    data_dir = Path(os.environ["MODULEGAZE_DATA_DIR"])
    data_dir.mkdir(parents=True, exist_ok=True)
    os.environ["NICEGUI_STORAGE_PATH"] = str(data_dir / "nicegui")

    from fastapi import Request
    from fastapi.responses import RedirectResponse, Response
    from nicegui import app, run, ui
    from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint

    from gaze.auth import hash_password, session_secret, verify_password
    from main import SERVER_OPTIONS  # the same server settings as the app

    stored = hash_password(ADMIN_PASSWORD)

    class AuthMiddleware(BaseHTTPMiddleware):
        async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
            path = request.url.path
            if path in OPEN_PATHS or path.startswith("/_nicegui/") or app.storage.user.get("username"):
                return await call_next(request)
            return RedirectResponse(f"/login?redirect_to={path}", status_code=303)

    app.add_middleware(AuthMiddleware)

    @app.get("/healthz")
    def healthz() -> dict[str, Any]:
        return {"reader": {"lines": 1 << 40}}

    @ui.page("/")
    def board() -> None:
        ui.label("0:01").props('aria-label="time on module"')

    @ui.page("/login")
    def login(redirect_to: str = "/") -> None:
        async def attempt() -> None:
            ok = await run.io_bound(verify_password, str(password.value), stored)
            if str(username.value) != ADMIN_USER or not ok:
                ui.notify("Wrong user name or password.")
                return
            app.storage.user.update(username=ADMIN_USER)
            ui.navigate.to(redirect_to)

        with ui.card():
            username = ui.input("User name").on("keydown.enter", attempt)
            password = ui.input("Password", password=True).on("keydown.enter", attempt)
            ui.button("Log in", on_click=attempt)

    ui.run(
        storage_secret=session_secret(data_dir),
        port=int(os.environ["MODULEGAZE_PORT"]),
        **{**SERVER_OPTIONS, **({"tailwind": True} if os.environ.get("BENCH_FLOOR_TAILWIND") == "1" else {})},
    )


class FloorApp(App):
    """This script as a subprocess, started and stopped like the app (``tests.browserkit.App``)."""

    def start(self, timeout: float = 30.0, *, following: bool = True) -> FloorApp:
        self.passwords[ADMIN_USER] = ADMIN_PASSWORD
        with self.log_path.open("ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, str(Path(__file__).resolve())],
                cwd=REPO,
                env=self.env(),
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        self.wait_healthy(timeout, following=following)
        return self


@dataclass(frozen=True)
class Subject:
    """One app that takes turns in (d): this checkout, another (``--compare``) or NiceGUI's floor."""

    tag: str
    root: Path | None = None  # the checkout (None: this one); unused for a floor
    floor_tailwind: bool | None = None  # set for a floor: True with NiceGUI's default tailwind=True

    def start(self, folder: Path, rows: int) -> App:
        journal = folder / "oc4d.journal"
        make_catalog(folder / "uploads", CATALOG)
        stamp = now_ms() - 5_000
        modules = [MODULES[k % len(MODULES)] for k in range(rows)]
        append(journal, [(stamp, access_line(ip_of(k), entry_path(m), stamp)) for k, m in enumerate(modules)])
        if self.floor_tailwind is not None:
            return FloorApp(journal, folder, {"BENCH_FLOOR_TAILWIND": "1" if self.floor_tailwind else ""}).start()
        return App(journal, folder, root=self.root or ROOT).start()


def subjects(roots: Sequence[Path], floor_with_tailwind: bool) -> list[Subject]:
    """The floor first (the ratios' baseline: the app's server options), then the other
    checkouts, then this one."""
    out = [Subject(" [NiceGUI floor]", floor_tailwind=False)]
    if floor_with_tailwind:
        out.append(Subject(" [NiceGUI floor, tailwind=True]", floor_tailwind=True))
    return out + [Subject(f" [{root}]", root=root) for root in roots] + [Subject("")]


if __name__ in {"__main__", "__mp_main__"}:
    serve()
