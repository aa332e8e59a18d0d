"""oc4d's own database, read-only — DESIGN §5 (`DATABASE_URL`) and §6: the Prisma-made `"Module"`
table (with its categories) and `"User"` for display names; one source of the module catalog
(gaze.catalog). `read_database` never raises: a problem becomes the source's status or a warning.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from gaze.catalog.modulenames import Module, SourceStatus, slug_of_url
from gaze.db import error_text

__all__ = ["engine_url", "read_database"]

CONNECT_TIMEOUT_SECONDS = 3
STATEMENT_TIMEOUT_MS = 10_000
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
        return [], {}, SourceStatus(ok=False, error=error_text(exc))
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
    from sqlalchemy import ColumnClause, column, select, table

    columns: list[ColumnClause[Any]] = [column(n) for n in names]
    stmt = select(*columns).select_from(table(table_name))
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
        slug = slug_of_url(url)
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
        warnings.append(f"module categories unavailable: {error_text(exc)}")
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
        warnings.append(f"user display names unavailable: {error_text(exc)}")
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


def _text(value: object) -> str:
    return "" if value is None else str(value).strip()
