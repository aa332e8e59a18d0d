"""Module Gaze: the admin's live board of who is on which learning module (port 3002).

`python main.py` runs the dashboard; `python main.py backfill|follow …` are command-line tools
(see `python main.py --help`). Settings come from the environment (DESIGN §5).
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from pathlib import Path

# NiceGUI keeps its per-browser session storage here; it must be set before nicegui is imported.
os.environ.setdefault("NICEGUI_STORAGE_PATH", str(Path(os.environ.get("MODULEGAZE_DATA_DIR") or "data") / "nicegui"))

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from nicegui import app, helpers, run, ui

from components.hub import Hub
from gaze.auth import LoginLimiter, session_secret
from gaze.cli import EXIT_BAD_SETTING, dispatch, prepare
from gaze.config import SettingsError, load_settings
from gaze.hardening import port_in_use, redact_logging
from gaze.services import Services
from pages import access, api, dashboard, devices, history, login, security, users

log = logging.getLogger("modulegaze")
CATALOG_RELOAD_S = 60
EXIT_PORT_IN_USE = 1  # not 2: the unit restarts us, and the port may be free by then


def exit_if_port_in_use(port: int) -> None:
    """One line and exit 1 when the web server could not listen (not under NiceGUI's test user)."""
    busy = None if helpers.is_user_simulation() else port_in_use(port)
    if busy is not None:
        sys.stderr.write(f"modulegaze: MODULEGAZE_PORT: {busy}\n")
        sys.exit(EXIT_PORT_IN_USE)


def build() -> Services:
    """Settings -> services -> pages and background work. Exits with code 2 on a bad setting."""
    try:
        settings = load_settings()
        exit_if_port_in_use(settings.port)  # before anything is created: the first admin above all
        engine = prepare(settings)
    except SettingsError as exc:
        sys.stderr.write(f"modulegaze: {exc}\n")
        sys.exit(EXIT_BAD_SETTING)
    services = Services(settings, engine)
    hub = Hub(services)
    scheduler = AsyncIOScheduler()
    tasks: list[asyncio.Task[None]] = []

    async def startup() -> None:
        await run.io_bound(services.load)
        if services.autostart:
            services.monitor.start()
        hub.refresh_status()
        tasks.append(asyncio.create_task(hub.run(), name="live-board"))
        scheduler.add_job(services.monitor.rotate_due, "cron", hour=0, minute=0, second=1, id="rotate")
        scheduler.add_job(_reload_catalog, "interval", seconds=CATALOG_RELOAD_S, id="catalog")
        scheduler.start()
        log.info("Module Gaze on port %d (%s)", settings.port, "demo data" if services.demo else settings.journal_unit)

    async def _reload_catalog() -> None:
        await run.io_bound(services.catalog.reload)

    async def shutdown() -> None:
        if scheduler.running:
            scheduler.shutdown(wait=False)
        for task in tasks:
            task.cancel()
        await services.monitor.stop()
        await services.monitor.persist()

    app.on_startup(startup)
    app.on_shutdown(shutdown)
    app.state.services, app.state.hub = services, hub  # for operators' tooling and the UI tests
    access.install(services)
    login.register(services, LoginLimiter())
    dashboard.register(services, hub)
    users.register(services, hub)
    history.register(services, hub)
    devices.register(services, hub)
    api.register(services)
    security.install()  # last: outside the login wall, so its 401/303 answers get the headers too
    return services


if __name__ in {"__main__", "__mp_main__"}:
    # Under NiceGUI's user simulation (tests) there is no command line of ours to read.
    code = None if helpers.is_user_simulation() else dispatch(sys.argv[1:])
    if code is not None:
        sys.exit(code)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    redact_logging()
    services = build()
    ui.run(
        storage_secret=session_secret(services.settings.data_dir),
        port=services.settings.port,
        title="Module Gaze",
        reload=False,
        show=False,
        favicon="📊",
        show_welcome_message=False,
        # Kept per dashboard for replay after a brief reconnect (NiceGUI drops the client after
        # reconnect_timeout=3 s anyway): ~5 messages a second, each tick carrying up to 50 rows.
        # The default of 1000 grew to tens of MB per open dashboard.
        message_history_length=30,
        # X-Forwarded-For is believed only from MODULEGAZE_TRUSTED_PROXIES (pages/security.py):
        # uvicorn must not rewrite the client address itself (by default it trusts 127.0.0.1).
        proxy_headers=False,
        log_config=None,  # uvicorn's messages go through our (redacting) root handler
    )
