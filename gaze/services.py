"""The objects one running Module Gaze shares between its background work and its pages."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import shlex
import socket
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import Engine, text
from sqlalchemy.exc import SQLAlchemyError

from gaze.auth import FIRST_ADMIN, Users
from gaze.catalog import Catalog
from gaze.config import Settings
from gaze.db import error_text, migrate
from gaze.devices import DeviceLabels
from gaze.journalctl import JournalSource
from gaze.limits import Limits
from gaze.recorder import Recorder
from gaze.sources import Sources
from gaze.uplink import Uplink, uplink_config

log = logging.getLogger(__name__)
CONNECT_FIRST_S = 1.0
CONNECT_MAX_S = 30.0


class Services:
    def __init__(self, settings: Settings, engine: Engine, *, demo: bool = False) -> None:
        """`demo`: decided by gaze.simulator.demo.settle_demo, which also gave the demo its own `settings`."""
        self.settings = settings
        self.engine = engine
        source = JournalSource.from_settings(settings)
        self.demo = demo
        self.catalog = Catalog(
            database_url=settings.oc4d_database_url, uploads_roots=settings.uploads_roots, demo=self.demo
        )
        self.recorder = Recorder(settings, engine, demo=self.demo)  # the write path; its status is all the UI reads
        self.sources = Sources(self.recorder, source, demo=self.demo)  # what feeds it: journal or demo
        self.limits = Limits(engine, resolve=self.resolve_module)
        self.users = Users(engine)
        self.devices = DeviceLabels(engine)
        self.ready = False  # connect() has loaded our state
        self.first_password: str | None = None  # the first admin's password when this start created it
        config = uplink_config(settings)  # checked by gaze.startup.prepare already
        if config is not None and self.demo:
            log.warning("uplink off: demo data is never sent to the organisation")
        # demo records are never queued (gaze.recorder) nor is anything shipped from a demo run
        on = settings.uplink_on(demo=self.demo)
        self.uplink = Uplink(config, engine, self.catalog.module_name) if config is not None and on else None
        self.db_ok = True
        self.db_error: str | None = None
        self.db_checked_at: float | None = None

    def resolve_module(self, slug: str) -> str:
        """The catalog slug a log slug matches (DESIGN §7), else the log slug itself."""
        module = self.catalog.match(slug)
        return module.slug if module is not None else slug

    async def connect(self, *, attempts: int | None = None) -> bool:
        """Bring the schema up to date and load our state, retrying with backoff until the database
        answers (PostgreSQL may come up after us) or `attempts` ran out; the status strip and
        /healthz say why meanwhile. True once loaded."""
        delay = CONNECT_FIRST_S
        while True:
            try:
                await asyncio.to_thread(self.load)
            except Exception as exc:
                message = error_text(exc)
                if message != self.db_error:
                    log.error("database not ready: %s; retrying", message)
                self.db_ok, self.db_error, self.db_checked_at = False, message, time.time()
                if attempts is not None:
                    attempts -= 1
                    if attempts <= 0:
                        return False
                await asyncio.sleep(delay)
                delay = min(delay * 2, CONNECT_MAX_S)
            else:
                self.ready = True
                return True

    def load(self) -> None:
        """Blocking start-up work: schema, checkpoint, catalog, limits, database check."""
        migrate(self.engine)
        self.recorder.restore()
        self.catalog.reload()
        self.limits.load()
        self.users.load()
        self.devices.load()
        password = self.users.ensure_first_admin()
        if password is not None:  # shown once (sign_in_block, log_first_user) so the admin can sign in
            self.first_password = password
        self.check_database()
        if self.uplink is not None:
            self.uplink.refresh()

    def passwd_command(self) -> str:
        """The shell command that sets the first admin's password, with these settings' users."""
        python = Path(sys.executable)
        with contextlib.suppress(ValueError):
            python = python.relative_to(Path.cwd())
        demo = "MODULEGAZE_DEMO=on " if self.demo else ""
        return f"{demo}{shlex.quote(str(python))} main.py users passwd {FIRST_ADMIN}"

    def log_first_user(self) -> None:
        """One log line with the first admin's password when this start created it (`main.py follow`)."""
        if self.first_password is not None:
            log.warning(
                "created the first user %r with password %s — sign in and add users, or run `%s` to choose another",
                FIRST_ADMIN,
                self.first_password,
                self.passwd_command(),
            )

    def sign_in_block(self, lan: str | None) -> str:
        """What the console shows once the dashboard is ready: where to go and how to sign in (the
        password only when this start created it)."""
        port = self.settings.port
        lines = ["", "=" * 72, "Module Gaze is ready. Open in a browser:", f"    http://localhost:{port}/"]
        if lan is not None:
            lines.append(f"    http://{lan}:{port}/   (from other devices on this network)")
        lines.append(f"  user name:  {FIRST_ADMIN}")
        if self.first_password is not None:
            lines.append(f"  password:   {self.first_password}   (first user, created now: shown only this once)")
        else:
            lines.append("  password:   the one printed at the first start (not shown again); to set a new one:")
            lines.append(f"              {self.passwd_command()}")
        return "\n".join([*lines, "=" * 72, ""])

    @property
    def autostart(self) -> bool:
        """Follow from start-up: background monitor on, or demo data (nothing to protect)."""
        return self.settings.background_monitor or self.demo

    def reload_users(self) -> dict[str, str | None]:
        """Users and roles as the database has them now (blocking): the users whose role another
        process changed (None: removed). While the database is unreachable the roles stay as they
        were (nothing changed) and the database check says why."""
        try:
            return self.users.load()
        except SQLAlchemyError as exc:
            log.debug("users not re-read: %s", error_text(exc))
            return {}

    def check_database(self) -> bool:
        """SELECT 1 on our own database (blocking); the result feeds the status strip and /healthz."""
        try:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except Exception as exc:
            message = error_text(exc)
            if self.db_ok:
                log.error("database unreachable: %s", message)
            self.db_ok, self.db_error = False, message
        else:
            self.db_ok, self.db_error = True, None
        self.db_checked_at = time.time()
        return self.db_ok


def lan_address() -> str | None:
    """This machine's address on its network (as `hostname -I` lists it first; else the one a route out
    would use), None when it has none but loopback."""
    found: list[str] = []
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        found = subprocess.run(["hostname", "-I"], capture_output=True, text=True, timeout=2).stdout.split()
    if not found:
        with contextlib.suppress(OSError), socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.connect(("10.255.255.255", 1))  # a UDP connect sends nothing: it only picks a route
            found = [str(probe.getsockname()[0])]
    for item in found:
        with contextlib.suppress(ValueError):
            address = ipaddress.ip_address(item)
            if address.version == 4 and not (address.is_loopback or address.is_unspecified or address.is_link_local):
                return item
    return None
