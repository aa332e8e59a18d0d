"""Module catalog — DESIGN §6 (/api/modules) and §7 (module names).

Two sources, merged:
- oc4d's PostgreSQL (read-only): the Prisma-made `"Module"` table, plus `"User"` for display names;
- a scan of the uploads folder: `<root>/<build>/<slug>/index.html`, newest build per slug.
`demo=True` adds the synthetic catalog of `gaze.traffic`.

`Catalog.reload()` is blocking (run it in a worker thread) and never raises; each source reports
its state in a `SourceStatus`. Readers (`match`, `modules`, …) see one consistent snapshot that
`reload()` swaps in with a single assignment.
"""

from __future__ import annotations

import html
import logging
import os
import re
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

from gaze.hardening import redact
from gaze.logline import BUILD_ID, module_from_path
from gaze.traffic import DEMO_CATALOG

log = logging.getLogger(__name__)

CONNECT_TIMEOUT_SECONDS = 3
STATEMENT_TIMEOUT_MS = 10_000
TITLE_READ_BYTES = 64 * 1024
MAX_WARNINGS = 50
MODULE_TABLE = "Module"
USER_TABLE = "User"
CATEGORY_TABLE = "Category"
CATEGORY_LINKS = "_CategoryToModule"
_MODULE_COLUMNS = ("id", "name", "description", "index_html_url", "logo_url", "language", "enabled")
_USER_NAME_COLUMNS = ("full_name", "fullName", "name")  # first non-empty wins
# Query parameters Prisma understands but libpq does not (`schema` becomes a search_path).
_PRISMA_ONLY_PARAMS = frozenset(
    {"schema", "connection_limit", "pool_timeout", "pgbouncer", "statement_cache_size", "socket_timeout", "sslaccept"}
)
_SOURCE_RANK = {"db": 0, "disk": 1, "demo": 2}
_SOURCE_ID = {"disk": "scan"}
_KEY_SEPARATORS = re.compile(r"[_\s]+")
_KEY_DROP = re.compile(r"[^a-z0-9-]")
_LEADING_NUMBER = re.compile(r"^(\d+)")
_TITLE = re.compile(rb"<title[^>]*>(.*?)</title\s*>", re.IGNORECASE | re.DOTALL)
_SPACES = re.compile(r"\s+")


@dataclass(frozen=True, slots=True)
class Module:
    slug: str  # the log slug (DESIGN §2 rules applied to index_html_url, or the folder name on disk)
    name: str
    description: str = ""
    index_html_url: str = ""
    logo_url: str = ""
    language: str = ""
    enabled: bool = True
    source: str = "db"  # "db" | "disk" | "demo"
    build: str = ""  # build folder for disk modules (and db modules also found on disk)
    id: str = ""  # oc4d's Module.id; empty for modules not from the database
    categories: tuple[str, ...] = ()  # oc4d category names


@dataclass
class SourceStatus:
    """State of one source after the last reload, for the status strip and /api/modules."""

    ok: bool
    count: int = 0
    error: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def module_key(text: str) -> str:
    """DESIGN §7 normalised key: lower-case, runs of `_`/space -> `-`, other characters dropped."""
    return _KEY_DROP.sub("", _KEY_SEPARATORS.sub("-", text.lower()))


@dataclass(frozen=True)
class _Snapshot:
    modules: list[Module]
    users: dict[str, str]
    by_slug: dict[str, Module]
    keyed: list[tuple[str, Module]]  # (key, module) in match-preference order, empty keys left out
    db_status: SourceStatus
    scan_status: SourceStatus
    warnings: list[str]
    loaded_at: float | None
    cache: dict[str, Module | None] = field(default_factory=dict)


def _snapshot(
    modules: list[Module],
    users: dict[str, str],
    db_status: SourceStatus,
    scan_status: SourceStatus,
    warnings: list[str],
    loaded_at: float | None,
) -> _Snapshot:
    preferred = sorted(modules, key=lambda m: (_SOURCE_RANK.get(m.source, 9), not m.enabled, m.name.casefold(), m.slug))
    by_slug: dict[str, Module] = {}
    for module in preferred:
        by_slug.setdefault(module.slug, module)
    keyed = [(k, m) for m in preferred if (k := module_key(m.slug))]
    return _Snapshot(modules, users, by_slug, keyed, db_status, scan_status, warnings, loaded_at)


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
        snap = self._snap
        try:
            return snap.cache[slug]
        except KeyError:
            pass
        found = _match(snap, slug)
        snap.cache[slug] = found
        return found

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
                db_modules, users, db_status = [], {}, SourceStatus(ok=False, error=_one_line(exc))
            try:
                disk_modules, scan_status = scan_uploads(self.uploads_roots, warnings)
            except Exception as exc:
                disk_modules = []
                scan_status = SourceStatus(
                    ok=False,
                    error=_one_line(exc),
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


# ---------------------------------------------------------------- matching


def _match(snap: _Snapshot, slug: str) -> Module | None:
    exact = snap.by_slug.get(slug)
    if exact is not None:
        return exact
    key = module_key(slug)
    if not key:
        return None
    for other_key, module in snap.keyed:
        if other_key == key:
            return module  # keyed is in preference order: db before disk before demo, enabled first
    candidates: dict[str, Module] = {}
    for other_key, module in snap.keyed:
        if _dash_prefix(key, other_key) or _dash_prefix(other_key, key):
            candidates.setdefault(module.slug, module)
    return next(iter(candidates.values())) if len(candidates) == 1 else None


def _dash_prefix(short: str, long: str) -> bool:
    """`short` is `long` cut just before one of its `-`."""
    return len(long) > len(short) and long[len(short)] == "-" and long.startswith(short)


def merge(*sources: Iterable[Module]) -> list[Module]:
    """One module per slug, earlier sources first (db, disk, demo); sorted by name, case-insensitive.

    A db module also found on disk takes the disk build folder.
    """
    by_slug: dict[str, Module] = {}
    for source in sources:
        for module in source:
            have = by_slug.get(module.slug)
            if have is None:
                by_slug[module.slug] = module
            elif not have.build and module.build:
                by_slug[module.slug] = replace(have, build=module.build)
    return sorted(by_slug.values(), key=lambda m: (m.name.casefold(), m.name, m.slug))


def demo_catalog() -> list[Module]:
    return [
        Module(
            slug=entry["slug"],
            name=entry.get("name") or entry["slug"],
            description=entry.get("description", ""),
            index_html_url=_uploads_url(entry.get("build", ""), entry["slug"]),
            source="demo",
            build=entry.get("build", ""),
        )
        for entry in DEMO_CATALOG
    ]


# ---------------------------------------------------------------- oc4d database


def engine_url(url: str) -> str:
    """A SQLAlchemy URL for oc4d's DATABASE_URL: psycopg 3 driver, Prisma-only parameters removed."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            url = "postgresql+psycopg://" + url[len(prefix) :]
            break
    parts = urlsplit(url)
    if not parts.query:
        return url
    params = parse_qsl(parts.query, keep_blank_values=True)
    schema = next((v for k, v in params if k == "schema" and v), None)
    kept = [(k, v) for k, v in params if k not in _PRISMA_ONLY_PARAMS]
    if schema and not any(k == "options" for k, _ in kept):
        kept.append(("options", f"-csearch_path={schema}"))
    return urlunsplit(parts._replace(query=urlencode(kept)))


def read_database(url: str | None, warnings: list[str]) -> tuple[list[Module], dict[str, str], SourceStatus]:
    """Modules and user display names from oc4d's database. Never raises."""
    if not url:
        return [], {}, SourceStatus(ok=False, error="DATABASE_URL not set")
    try:
        from sqlalchemy import create_engine
        from sqlalchemy.pool import NullPool

        sa_url = engine_url(url)
        connect_args: dict[str, Any] = {}
        if sa_url.startswith("postgresql+psycopg"):
            connect_args["connect_timeout"] = CONNECT_TIMEOUT_SECONDS
        engine = create_engine(sa_url, poolclass=NullPool, connect_args=connect_args)
    except Exception as exc:
        return [], {}, SourceStatus(ok=False, error=f"DATABASE_URL is not usable ({type(exc).__name__})")
    try:
        with engine.connect() as conn:
            if conn.dialect.name == "postgresql":
                conn.exec_driver_sql("SET TRANSACTION READ ONLY")
                conn.exec_driver_sql(f"SET LOCAL statement_timeout = {STATEMENT_TIMEOUT_MS}")
            modules, status = _read_modules(conn, warnings)
            categories = _read_categories(conn, warnings)
            modules = [replace(m, categories=tuple(categories.get(m.id, ()))) for m in modules]
            users = _read_users(conn, warnings)
            conn.rollback()
        return modules, users, status
    except Exception as exc:
        return [], {}, SourceStatus(ok=False, error=_db_error(exc))
    finally:
        engine.dispose()


def _columns(conn: Any, table_name: str) -> list[str] | None:
    """Column names of a table on the search path, or None when there is no such table."""
    from sqlalchemy import inspect

    inspector = inspect(conn)
    if not inspector.has_table(table_name):
        return None
    return [str(c["name"]) for c in inspector.get_columns(table_name)]


def _select(conn: Any, table_name: str, names: Sequence[str]) -> list[dict[str, Any]]:
    from sqlalchemy import column, select, table

    stmt = select(*(column(n) for n in names)).select_from(table(table_name))
    return [dict(row._mapping) for row in conn.execute(stmt)]


def _read_modules(conn: Any, warnings: list[str]) -> tuple[list[Module], SourceStatus]:
    present = _columns(conn, MODULE_TABLE)
    if present is None:
        return [], SourceStatus(ok=False, error=f'table "{MODULE_TABLE}" not found')
    names = [c for c in _MODULE_COLUMNS if c in present]
    if "index_html_url" not in names:
        warnings.append(f'table "{MODULE_TABLE}" has no index_html_url column: no module slugs from the database')
        return [], SourceStatus(ok=True, count=0)
    rows = _select(conn, MODULE_TABLE, names)
    modules: dict[str, Module] = {}
    for row in rows:
        url = _text(row.get("index_html_url"))
        label = _text(row.get("name")) or _text(row.get("id")) or "?"
        slug = _slug_of_url(url)
        if not slug:
            warnings.append(f"module {label!r}: no module slug in index_html_url {url!r}; skipped")
            continue
        enabled = row.get("enabled")
        module = Module(
            slug=slug,
            name=_text(row.get("name")) or slug,
            description=_text(row.get("description")),
            index_html_url=url,
            logo_url=_text(row.get("logo_url")),
            language=_text(row.get("language")),
            enabled=True if enabled is None else bool(enabled),
            source="db",
            id=_text(row.get("id")),
        )
        have = modules.get(slug)
        if have is None:
            modules[slug] = module
            continue
        warnings.append(f"modules {have.name!r} and {module.name!r} share the slug {slug!r}")
        if module.enabled and not have.enabled:
            modules[slug] = module
    return list(modules.values()), SourceStatus(ok=True, count=len(modules))


def _read_categories(conn: Any, warnings: list[str]) -> dict[str, list[str]]:
    """Module id -> category names, from Prisma's implicit many-to-many table (A = Category.id,
    B = Module.id); a database without categories gives none, other problems a warning."""
    try:
        with conn.begin_nested():
            if _columns(conn, CATEGORY_TABLE) is None or _columns(conn, CATEGORY_LINKS) is None:
                return {}
            names = {_text(r["id"]): _text(r["name"]) for r in _select(conn, CATEGORY_TABLE, ["id", "name"])}
            links = _select(conn, CATEGORY_LINKS, ["A", "B"])
    except Exception as exc:
        warnings.append(f"module categories unavailable: {_db_error(exc)}")
        return {}
    found: dict[str, list[str]] = {}
    for link in links:
        name = names.get(_text(link["A"]))
        if name:
            found.setdefault(_text(link["B"]), []).append(name)
    return {module: sorted(set(names_)) for module, names_ in found.items()}


def _read_users(conn: Any, warnings: list[str]) -> dict[str, str]:
    """Lower-cased email -> display name; problems become warnings."""
    try:
        with conn.begin_nested():
            present = _columns(conn, USER_TABLE)
            if present is None:
                warnings.append(f'table "{USER_TABLE}" not found: no user display names')
                return {}
            name_columns = [c for c in _USER_NAME_COLUMNS if c in present]
            if "email" not in present or not name_columns:
                warnings.append(f'table "{USER_TABLE}" lacks email or name columns: no user display names')
                return {}
            rows = _select(conn, USER_TABLE, ["email", *name_columns])
    except Exception as exc:
        warnings.append(f"user display names unavailable: {_db_error(exc)}")
        return {}
    users: dict[str, str] = {}
    for row in rows:
        email = _text(row.get("email")).lower()
        if not email:
            continue
        name = next((n for c in name_columns if (n := _text(row.get(c)))), "")
        if name:
            users.setdefault(email, name)
    return users


def _slug_of_url(url: str) -> str | None:
    if not url:
        return None
    try:
        path = urlsplit(url).path
    except ValueError:
        return None
    return module_from_path(path)


def _db_error(exc: BaseException) -> str:
    """One line for a database failure (the DBAPI message, never the URL)."""
    orig = getattr(exc, "orig", None)
    if isinstance(orig, BaseException):
        exc = orig
    return _one_line(exc)


# ---------------------------------------------------------------- uploads folder


def scan_uploads(roots: Sequence[Path], warnings: list[str]) -> tuple[list[Module], SourceStatus]:
    """Modules found under the first existing root. Never raises for a missing or unreadable folder."""
    tried: list[str] = []
    root: Path | None = None
    for candidate in roots:
        tried.append(str(candidate))
        if candidate.is_dir():
            root = candidate
            break
    if root is None:
        error = "no uploads modules folder found" if tried else "no uploads modules folder configured"
        return [], SourceStatus(ok=False, error=error, extra={"root": None, "rootsTried": tried})
    extra: dict[str, Any] = {"root": str(root), "rootsTried": tried}
    try:
        tops = sorted(_subdirs(root), key=lambda e: e.name)
    except OSError as exc:
        return [], SourceStatus(ok=False, error=f"cannot read {root}: {exc.strerror or exc}", extra=extra)

    best: dict[str, tuple[str, Path, float]] = {}  # slug -> (build, folder, build mtime)
    for top in tops:
        mtime = _mtime(top)
        if not BUILD_ID.match(top.name) and (top / "index.html").is_file():
            _offer(best, top.name, "", top, mtime)  # `<root>/<slug>/index.html`: a module without a build
            continue
        try:
            slugs = list(_subdirs(top))
        except OSError as exc:
            warnings.append(f"cannot read {top}: {exc.strerror or exc}")
            continue
        for folder in slugs:
            if (folder / "index.html").is_file():
                _offer(best, folder.name, top.name, folder, mtime)

    modules = [
        Module(
            slug=slug,
            name=_title(folder / "index.html") or slug,
            index_html_url=_uploads_url(build, slug),
            source="disk",
            build=build,
        )
        for slug, (build, folder, _) in best.items()
    ]
    return modules, SourceStatus(ok=True, count=len(modules), extra=extra)


def _subdirs(path: Path) -> list[Path]:
    """Visible sub-folders of `path` (symlinks followed)."""
    with os.scandir(path) as entries:
        return [Path(e.path) for e in entries if not e.name.startswith(".") and _is_dir(e)]


def _is_dir(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_dir()
    except OSError:
        return False


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


def _offer(best: dict[str, tuple[str, Path, float]], slug: str, build: str, folder: Path, mtime: float) -> None:
    have = best.get(slug)
    if have is None or _newer(build, mtime, have[0], have[2]):
        best[slug] = (build, folder, mtime)


def _newer(build: str, mtime: float, other_build: str, other_mtime: float) -> bool:
    """Build ids compare by their leading number (a timestamp); otherwise the folder mtime decides."""
    a, b = _LEADING_NUMBER.match(build), _LEADING_NUMBER.match(other_build)
    if a and b and int(a.group(1)) != int(b.group(1)):
        return int(a.group(1)) > int(b.group(1))
    if mtime != other_mtime:
        return mtime > other_mtime
    return build > other_build


def _title(index_html: Path) -> str:
    """The <title> of a module page (first 64 KiB only), or ""."""
    try:
        with index_html.open("rb") as fh:
            head = fh.read(TITLE_READ_BYTES)
    except OSError:
        return ""
    found = _TITLE.search(head)
    if not found:
        return ""
    text = html.unescape(found.group(1).decode("utf-8", errors="replace"))
    return _SPACES.sub(" ", text).strip()[:200]


def _uploads_url(build: str, slug: str) -> str:
    parts = [build, slug] if build else [slug]
    return "/uploads/modules/" + "/".join(quote(p, safe="") for p in parts) + "/index.html"


# ---------------------------------------------------------------- helpers


def _text(value: object) -> str:
    return "" if value is None else str(value).strip()


def _one_line(exc: BaseException) -> str:
    text = _SPACES.sub(" ", redact(str(exc))).strip() or type(exc).__name__
    return text[:300]


def _iso(ts: float | None) -> str | None:
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
