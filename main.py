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
from typing import TYPE_CHECKING, Any

# NiceGUI keeps its per-browser session storage here; it must be set before nicegui is imported.
os.environ.setdefault("NICEGUI_STORAGE_PATH", str(Path(os.environ.get("MODULEGAZE_DATA_DIR") or "data") / "nicegui"))

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from components.hub import Hub
    from gaze.config import Settings
    from gaze.runtime import Runtime
    from gaze.services import Services

log = logging.getLogger("modulegaze")
EXIT_PORT_IN_USE = 1  # not 2: the unit restarts us, and the port may be free by then
# How NiceGUI serves every page (bench/floor_app.py serves NiceGUI's floor with the same options).
SERVER_OPTIONS: dict[str, Any] = {
    "title": "Module Gaze",
    "language": "en-US",  # <html lang="en-US">: screen readers speak English (and Quasar's own words)
    "reload": False,
    "show": False,
    "favicon": "📊",
    "show_welcome_message": False,
    # No Tailwind compiler in the browser: the classes we use come from a prebuilt stylesheet
    # (components/stylesheet.py). The floor app gets this too: it uses no Tailwind class.
    "tailwind": False,
    # Kept per dashboard for replay after a brief reconnect (NiceGUI drops the client after
    # reconnect_timeout=3 s anyway): ~5 messages a second, each tick carrying up to 50 rows.
    # The default of 1000 grew to tens of MB per open dashboard.
    "message_history_length": 30,
    # No permessage-deflate: its zlib state is ~0.5 MB per open page (bench/live.py (b)), while a
    # board's idle updates are about 1 KB/s of short JSON (the page itself is sent gzipped).
    "ws_per_message_deflate": False,
    # X-Forwarded-For is believed only from MODULEGAZE_TRUSTED_PROXIES (pages/security.py):
    # uvicorn must not rewrite the client address itself (by default it trusts 127.0.0.1).
    "proxy_headers": False,
    "log_config": None,  # uvicorn's messages go through our (redacting) root handler
    # The standard library's event loop, not uvloop (which uvicorn picks when installed, and NiceGUI
    # installs it): uvloop's library and module are ~2.5 MB of the board's resident size on a Pi
    # (bench/live.py (b): idle 86.3 -> 83.9 MB), and the board's CPU stays where it was.
    "loop": "asyncio",
}


def exit_if_port_in_use(port: int) -> None:
    """One line and exit 1 when the web server could not listen (not under NiceGUI's test user)."""
    from nicegui import helpers

    from gaze.hardening import port_in_use

    busy = None if helpers.is_user_simulation() else port_in_use(port)
    if busy is not None:
        sys.stderr.write(f"modulegaze: MODULEGAZE_PORT: {busy}\n")
        sys.exit(EXIT_PORT_IN_USE)


def start_up() -> tuple[Settings, bool, Engine]:
    """Settings, the demo decision and the start-up checks (gaze.startup.prepare): the settings to
    run with, whether it is demo data, and the engine. One line and exit 2 on a bad setting, 1 when
    another process writes to our folders."""
    from gaze.config import SettingsError, load_settings
    from gaze.simulator.demo import log_demo, settle_demo
    from gaze.startup import EXIT_BAD_SETTING, EXIT_IN_USE, prepare
    from gaze.writerlock import DirectoryInUse

    try:
        settings = load_settings()
        exit_if_port_in_use(settings.port)  # before anything is created: the first admin above all
        settings, demo, why = settle_demo(settings)  # demo data: its own database and log folder
        engine = prepare(settings, demo=demo)  # the writer locks: before anything is written
    except SettingsError as exc:
        sys.stderr.write(f"modulegaze: {exc}\n")
        sys.exit(EXIT_BAD_SETTING)
    except DirectoryInUse as exc:
        sys.stderr.write(f"modulegaze: {exc}\n")
        sys.exit(EXIT_IN_USE)
    log_demo(demo, why)
    return settings, demo, engine


def build() -> Services:
    """Settings -> services -> runtime (the one clock) -> pages. Exits with code 2 on a bad setting."""
    from nicegui import app, background_tasks

    from components.actions import follow_users
    from components.hub import Hub
    from gaze.db import error_text, migrate
    from gaze.runtime import Runtime
    from gaze.services import Services, lan_address
    from gaze.writerlock import release_all

    settings, demo, engine = start_up()
    try:  # usually the schema is ready before the first request; if not, Services.connect retries
        migrate(engine)
    except Exception as exc:
        log.warning(
            "database not ready at start-up (%s): serving the status, connecting when it answers", error_text(exc)
        )
    services = Services(settings, engine, demo=demo)
    runtime = Runtime(services)
    hub = Hub(services)
    hub.attach(runtime)
    runtime.on_users_changed(follow_users)

    async def ready() -> None:
        await hub.ready()
        block = services.sign_in_block(await asyncio.to_thread(lan_address))
        sys.stdout.write(block)  # the console's (and the service log's) one word on where to go
        sys.stdout.flush()

    async def startup() -> None:
        runtime.start()
        background_tasks.create(runtime.open(follow=services.autostart, on_ready=ready), name="connect")
        log.info("Module Gaze on port %d (%s)", settings.port, "demo data" if services.demo else settings.journal_unit)

    async def shutdown() -> None:
        try:
            await runtime.close()  # saves the checkpoint and the open sessions
        finally:
            release_all()  # after the last write (the process ends, or a test's app stops)

    app.on_startup(startup)
    app.on_shutdown(shutdown)
    app.state.services, app.state.hub = services, hub  # for operators' tooling and the UI tests
    register_pages(services, hub, runtime)
    return services


def register_pages(services: Services, hub: Hub, runtime: Runtime) -> None:
    """Every page and the guards around them, in the order they must be installed."""
    from nicegui import app

    from components import stylesheet
    from components.frame import install_colors
    from gaze.auth import LoginLimiter
    from pages import access, api, dashboard, devices, history, login, security, socket_guard, unconnected, users

    stylesheet.install()
    install_colors()
    access.install(services)
    login.register(services, LoginLimiter())
    dashboard.register(services, hub)
    users.register(services, hub)
    history.register(services, hub)
    devices.register(services, hub)
    api.register(services)
    app.state.unconnected = unconnected.install(services.settings, runtime)  # pages whose browser never connects
    socket_guard.install(runtime)  # a page's script cannot flood the log with malformed messages
    security.install()  # last: outside the login wall, so its 401/303 answers get the headers too


def serve() -> None:
    """Run the dashboard (NiceGUI is imported only here and in build())."""
    from gaze.footprint import skip_unused_modules, tune_malloc

    tune_malloc()  # before any thread starts
    skip_unused_modules()  # before NiceGUI is imported
    from nicegui import helpers, ui

    from components.handler_signatures import cache_handler_signatures
    from gaze.auth import session_secret
    from gaze.hardening import guard_browser_logs, redact_logging
    from gaze.startup import exit_on_stop_signals

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    redact_logging()
    guard_browser_logs()  # a page's script cannot write lines into our log
    if not helpers.is_user_simulation():  # not in the tests' process
        exit_on_stop_signals()  # uvicorn re-raises the signal after its clean stop: exit 0 then
    cache_handler_signatures()  # before any element is made
    services = build()
    ui.run(storage_secret=session_secret(services.settings.data_dir), port=services.settings.port, **SERVER_OPTIONS)


if __name__ in {"__main__", "__mp_main__"}:
    # A sub-command never loads the web UI. Under NiceGUI's user simulation (tests) NiceGUI is
    # loaded already and there is no command line of ours to read.
    if "nicegui" not in sys.modules:
        from gaze.cli import dispatch

        code = dispatch(sys.argv[1:])
        if code is not None:
            sys.exit(code)
    serve()
