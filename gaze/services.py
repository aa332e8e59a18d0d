"""The objects one running Module Gaze shares between its background work and its pages."""

from __future__ import annotations

import asyncio
import logging
import time

from sqlalchemy import Engine, text
from sqlalchemy.exc import SQLAlchemyError

from gaze.auth import FIRST_ADMIN, Users
from gaze.catalog import Catalog
from gaze.config import Settings
from gaze.db import error_text, migrate
from gaze.devices import DeviceLabels
from gaze.journal import JournalSource
from gaze.limits import Limits
from gaze.monitor import Monitor
from gaze.uplink import Uplink, uplink_config

log = logging.getLogger(__name__)
CONNECT_FIRST_S = 1.0
CONNECT_MAX_S = 30.0


class Services:
    def __init__(self, settings: Settings, engine: Engine, *, demo: bool = False) -> None:
        """`demo`: decided by gaze.demo.settle_demo, which also gave the demo its own `settings`."""
        self.settings = settings
        self.engine = engine
        source = JournalSource(
            unit=settings.journal_unit, directory=settings.journal_directory, file=settings.journal_file
        )
        self.demo = demo
        self.catalog = Catalog(
            database_url=settings.oc4d_database_url, uploads_roots=settings.uploads_roots, demo=self.demo
        )
        self.monitor = Monitor(settings, engine, source=source, demo=self.demo)
        self.limits = Limits(engine, resolve=self.resolve_module)
        self.users = Users(engine)
        self.devices = DeviceLabels(engine)
        self.ready = False  # connect() has loaded our state
        config = uplink_config(settings)  # checked by gaze.cli.prepare already
        if config is not None and self.demo:
            log.warning("uplink off: demo data is never sent to the organisation")
        # demo records are never queued (gaze.monitor) nor is anything shipped from a demo run
        self.uplink = None if config is None or self.demo else Uplink(config, engine, self.module_name)
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

    def module_name(self, slug: str) -> str | None:
        """The catalog name of a log slug, None when the catalog does not know it."""
        module = self.catalog.match(slug)
        return module.name if module is not None else None

    def load(self) -> None:
        """Blocking start-up work: schema, checkpoint, catalog, limits, database check."""
        migrate(self.engine)
        self.monitor.restore()
        self.catalog.reload()
        self.limits.load()
        self.users.load()
        self.devices.load()
        password = self.users.ensure_first_admin()
        if password is not None:  # shown once, in the service log, so the admin can sign in
            log.warning(
                "created the first user %r with password %s — sign in and add users, or run "
                "`python main.py users passwd %s` to choose another",
                FIRST_ADMIN,
                password,
                FIRST_ADMIN,
            )
        self.check_database()
        if self.uplink is not None:
            self.uplink.refresh()

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
