"""Module catalog — DESIGN §6 (/api/modules) and §7 (module names).

Two sources, merged:
- oc4d's PostgreSQL (read-only, gaze.catalog.oc4d_db): the Prisma-made `"Module"` table, plus `"User"` for
  display names;
- a scan of the uploads folder (gaze.catalog.uploads): `<root>/<build>/<slug>/index.html`, newest build per slug.
`demo=True` adds the synthetic catalog of `gaze.simulator.traffic`. Matching a log slug: gaze.catalog.modulenames.

`Catalog.reload()` is blocking (run it in a worker thread) and never raises; each source reports
its state in a `SourceStatus`. Readers (`match`, `modules`, …) see one consistent snapshot that
`reload()` swaps in with a single assignment.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from gaze.catalog.modulenames import Module, ModuleIndex, SourceStatus, merge
from gaze.catalog.oc4d_db import read_database
from gaze.catalog.uploads import scan_uploads, uploads_url
from gaze.db import error_text
from gaze.simulator.traffic_data import DEMO_CATALOG

__all__ = ["Catalog", "demo_catalog"]

log = logging.getLogger(__name__)

MAX_WARNINGS = 50
_SOURCE_ID = {"disk": "scan"}


@dataclass(frozen=True)
class _Snapshot:
    modules: list[Module]
    users: dict[str, str]
    index: ModuleIndex
    db_status: SourceStatus
    scan_status: SourceStatus
    warnings: list[str]
    loaded_at: float | None


def _snapshot(
    modules: list[Module],
    users: dict[str, str],
    db_status: SourceStatus,
    scan_status: SourceStatus,
    warnings: list[str],
    loaded_at: float | None,
) -> _Snapshot:
    return _Snapshot(modules, users, ModuleIndex(modules), db_status, scan_status, warnings, loaded_at)


class Catalog:
    """The merged module catalog; `reload()` refreshes it from the database and the uploads folder."""

    def __init__(self, *, database_url: str | None, uploads_roots: Sequence[Path], demo: bool = False) -> None:
        self.database_url = database_url
        self.uploads_roots = tuple(Path(p) for p in uploads_roots)
        self.demo = demo
        self.version = 0
        self._lock = threading.Lock()
        pending = SourceStatus(ok=False, error="not loaded yet")
        scan_pending = SourceStatus(
            ok=False, error="not loaded yet", extra={"root": None, "rootsTried": [str(p) for p in self.uploads_roots]}
        )
        self._snap = _snapshot([], {}, pending, scan_pending, [], None)

    # ------------------------------------------------------------ read side

    @property
    def modules(self) -> list[Module]:
        return self._snap.modules

    @property
    def users(self) -> dict[str, str]:
        return self._snap.users

    @property
    def db_status(self) -> SourceStatus:
        return self._snap.db_status

    @property
    def scan_status(self) -> SourceStatus:
        return self._snap.scan_status

    @property
    def warnings(self) -> list[str]:
        return self._snap.warnings

    @property
    def loaded_at(self) -> float | None:
        return self._snap.loaded_at

    def match(self, slug: str) -> Module | None:
        """The catalog module a log slug names (DESIGN §7), or None."""
        return self._snap.index.match(slug)

    def module_name(self, slug: str) -> str:
        """The name of the module a log slug names (DESIGN §7): the catalog's name, the slug itself
        when the catalog does not know it. Every page, the CSV and the uplink name modules by it."""
        module = self.match(slug)
        return module.name if module is not None else slug

    def display_name(self, user: str) -> str | None:
        """The oc4d display name of an email identity, or None."""
        if not user or "@" not in user:
            return None
        return self._snap.users.get(user.strip().lower())

    def api_payload(self) -> dict[str, Any]:
        """The body of GET /api/modules."""
        snap = self._snap
        db, scan = snap.db_status, snap.scan_status
        sources: dict[str, Any] = {
            "database": {"ok": db.ok, "count": db.count, "error": db.error},
            "scan": {
                "ok": scan.ok,
                "count": scan.count,
                "error": scan.error,
                "root": scan.extra.get("root"),
                "rootsTried": list(scan.extra.get("rootsTried", [])),
            },
        }
        if self.demo:
            sources["demo"] = {"ok": True, "count": sum(1 for m in snap.modules if m.source == "demo"), "error": None}
        return {
            "modules": [
                {
                    "id": m.id
                    or f"{_SOURCE_ID.get(m.source, m.source)}:{m.build}:{m.slug}",  # upstream names disk rows scan:<build>:<slug>
                    "categories": [{"name": c} for c in m.categories],
                    "slug": m.slug,
                    "name": m.name,
                    "description": m.description,
                    "indexHtmlUrl": m.index_html_url,
                    "logoUrl": m.logo_url,
                    "language": m.language,
                    "enabled": m.enabled,
                    "source": m.source,
                }
                for m in snap.modules
            ],
            "sources": sources,
            "warnings": list(snap.warnings),
            "loadedAt": _iso(snap.loaded_at),
        }

    # ------------------------------------------------------------ reload

    def reload(self) -> None:
        """Read both sources and swap in the new catalog. Blocking; never raises."""
        with self._lock:
            warnings: list[str] = []
            try:
                db_modules, users, db_status = read_database(self.database_url, warnings)
            except Exception as exc:  # read_database handles its own errors; this is a last resort
                db_modules, users, db_status = [], {}, SourceStatus(ok=False, error=error_text(exc))
            try:
                disk_modules, scan_status = scan_uploads(self.uploads_roots, warnings)
            except Exception as exc:
                disk_modules = []
                scan_status = SourceStatus(
                    ok=False,
                    error=error_text(exc),
                    extra={"root": None, "rootsTried": [str(p) for p in self.uploads_roots]},
                )
            demo_modules = demo_catalog() if self.demo else []
            modules = merge(db_modules, disk_modules, demo_modules)
            if len(warnings) > MAX_WARNINGS:
                warnings[MAX_WARNINGS:] = [f"… and {len(warnings) - MAX_WARNINGS} more warnings"]
            old = self._snap
            if old.db_status.error != db_status.error and db_status.error:
                level = logging.WARNING if self.database_url else logging.INFO  # unset is a normal set-up
                log.log(level, "module catalog database: %s", db_status.error)
            if modules != old.modules or users != old.users:
                self.version += 1
            self._snap = _snapshot(modules, users, db_status, scan_status, warnings, time.time())


def demo_catalog() -> list[Module]:
    return [
        Module(
            slug=entry["slug"],
            name=entry.get("name") or entry["slug"],
            description=entry.get("description", ""),
            index_html_url=uploads_url(entry.get("build", ""), entry["slug"]),
            source="demo",
            build=entry.get("build", ""),
        )
        for entry in DEMO_CATALOG
    ]


def _iso(ts: float | None) -> str | None:
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
