"""The objects one running Module Gaze shares between its background work and its pages."""

from __future__ import annotations

import logging
import time

from sqlalchemy import Engine, text

from gaze.auth import FIRST_ADMIN, Users
from gaze.catalog import Catalog
from gaze.config import Settings
from gaze.demo import want_demo
from gaze.devices import DeviceLabels
from gaze.hardening import redact
from gaze.journal import JournalSource
from gaze.limits import Limits
from gaze.monitor import Monitor

log = logging.getLogger(__name__)


class Services:
    def __init__(self, settings: Settings, engine: Engine, *, demo: bool | None = None) -> None:
        self.settings = settings
        self.engine = engine
        source = JournalSource(
            unit=settings.journal_unit, directory=settings.journal_directory, file=settings.journal_file
        )
        self.demo = want_demo(settings.demo, source) if demo is None else demo
        self.catalog = Catalog(
            database_url=settings.oc4d_database_url, uploads_roots=settings.uploads_roots, demo=self.demo
        )
        self.monitor = Monitor(settings, engine, source=source, demo=self.demo)
        self.limits = Limits(engine, resolve=self.resolve_module)
        self.users = Users(engine)
        self.devices = DeviceLabels(engine)
        self.db_ok = True
        self.db_error: str | None = None
        self.db_checked_at: float | None = None

    def resolve_module(self, slug: str) -> str:
        """The catalog slug a log slug matches (DESIGN §7), else the log slug itself."""
        module = self.catalog.match(slug)
        return module.slug if module is not None else slug

    def load(self) -> None:
        """Blocking start-up work: checkpoint, catalog, limits, database check."""
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

    @property
    def autostart(self) -> bool:
        """Follow from start-up: background monitor on, or demo data (nothing to protect)."""
        return self.settings.background_monitor or self.demo

    def check_database(self) -> bool:
        """SELECT 1 on our own database (blocking); the result feeds the status strip and /healthz."""
        try:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except Exception as exc:
            message = redact(str(getattr(exc, "orig", None) or exc).strip().splitlines()[0][:200])
            if self.db_ok:
                log.error("database unreachable: %s", message)
            self.db_ok, self.db_error = False, message
        else:
            self.db_ok, self.db_error = True, None
        self.db_checked_at = time.time()
        return self.db_ok
