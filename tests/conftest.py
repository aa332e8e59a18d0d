"""Shared fixtures. Tests that need PostgreSQL, Chromium or journal tools skip without them,
unless MODULEGAZE_REQUIRE_SERVICES=1 (set by .ci/run), which turns those skips into failures."""

from __future__ import annotations

import atexit
import contextlib
import functools
import gc
import os
import shutil
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine

from gaze.db import make_engine, migrate

if TYPE_CHECKING:
    from tests.s3kit import Moto

ROOT = Path(__file__).resolve().parent.parent
PG_URL = os.environ.get("MODULEGAZE_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")


# The fast loop (`bash scripts/test.sh -m "not slow and not browser"`) leaves out what starts our own
# processes. Whole files that are end-to-end runs of `main.py` (the app, `follow`, `backfill`, the
# installer) and tests on the S3 server process are marked here; a single test elsewhere that runs
# `main.py` carries `@pytest.mark.slow` itself.
SLOW_FILES = frozenset(
    {
        "test_app_follow_and_backfill_ship.py",
        "test_attacks_on_the_running_app.py",
        "test_cli.py",
        "test_clock_jumps.py",
        "test_database_outage.py",
        "test_following_and_resuming_a_real_journal.py",
        "test_install.py",
        "test_poison_entries.py",
        "test_runtime.py",
        "test_uplink_killed_mid_shipment.py",
    }
)
SLOW_FIXTURES = frozenset({"moto"})


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.path.name in SLOW_FILES or SLOW_FIXTURES.intersection(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)


def pytest_collection_finish(session: pytest.Session) -> None:
    """What is loaded by now (NiceGUI, FastAPI, SQLAlchemy, the tests) lives for the whole run: frozen,
    the garbage collector no longer walks it. NiceGUI's `user` fixture runs gc.collect() twice a
    test, which took about 0.1 s each over all those objects."""
    gc.freeze()


def is_our_setting(name: str) -> bool:
    """An environment variable that configures Module Gaze (DESIGN §5)."""
    return name.startswith(("MODULEGAZE_", "MODULEFETCH_")) or name == "DATABASE_URL"


def foreign_environ() -> dict[str, str]:
    """This process's environment without any of our settings: the base for a subprocess's."""
    return {k: v for k, v in os.environ.items() if not is_our_setting(k)}


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No inherited settings, and a working directory without a stray ./.env."""
    for name in [n for n in os.environ if is_our_setting(n)]:
        monkeypatch.delenv(name)
    workdir = tmp_path / "cwd"
    workdir.mkdir(exist_ok=True)
    monkeypatch.chdir(workdir)


def require(condition: bool, what: str) -> None:
    """Skip when `condition` is false — or fail, when the CI says every service must be there."""
    if condition:
        return
    if os.environ.get("MODULEGAZE_REQUIRE_SERVICES") == "1":
        pytest.fail(f"required for this run but missing: {what}")
    pytest.skip(f"missing: {what}")


def pg_admin() -> Any:
    """An autocommit connection to the PostgreSQL server (skips, or fails under CI, without one)."""
    try:
        import psycopg

        return psycopg.connect(PG_URL, autocommit=True, connect_timeout=3)
    except Exception as exc:  # no server here
        require(False, f"PostgreSQL at {PG_URL} ({exc})")
        raise


def schema_url(schema: str) -> str:
    return f"{PG_URL}?options=-csearch_path%3D{schema}"


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A PostgreSQL URL whose search_path is a fresh schema, dropped afterwards."""
    admin = pg_admin()
    schema = f"gaze_test_{uuid.uuid4().hex[:10]}"
    admin.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield schema_url(schema)
    finally:
        admin.execute(f'DROP SCHEMA "{schema}" CASCADE')
        admin.close()


# What a schema holds, to tell one a test changed from one just migrated: relations and their columns
# (tables, indexes, sequences), and the revision.
SHAPE_SQL = """
SELECT c.relname, c.relkind, a.attname, a.atttypid::regtype::text
FROM pg_class c LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
WHERE c.relnamespace = %(schema)s::regnamespace ORDER BY 1, 3
"""


def schema_shape(admin: Any, schema: str) -> list[tuple[object, ...]]:
    shape = [tuple(row) for row in admin.execute(SHAPE_SQL, {"schema": schema})]
    revision = admin.execute(f'SELECT version_num FROM "{schema}".alembic_version').fetchall()
    return [*shape, *(tuple(row) for row in revision)]


@pytest.fixture(scope="session")
def migrated_pg_schemas() -> Iterator[list[str]]:
    """The migrated schemas this test process may reuse; dropped at its end."""
    free: list[str] = []
    yield free
    if free:
        admin = pg_admin()
        for schema in free:
            admin.execute(f'DROP SCHEMA "{schema}" CASCADE')
        admin.close()


@pytest.fixture
def pg_migrated_url(migrated_pg_schemas: list[str]) -> Iterator[str]:
    """A PostgreSQL schema at the newest revision, as `migrate` leaves a new one. Migrating takes the
    server about a second (a hundred-odd DDL statements), so a schema is reused: after the test every
    table but alembic_version is emptied (TRUNCATE … RESTART IDENTITY) — when its relations, columns
    and revision are still those it was migrated to; otherwise it is dropped."""
    admin = pg_admin()
    if migrated_pg_schemas:
        schema = migrated_pg_schemas.pop()
    else:
        schema = f"gaze_test_{uuid.uuid4().hex[:10]}"
        admin.execute(f'CREATE SCHEMA "{schema}"')
        engine = make_engine(schema_url(schema))
        migrate(engine, in_process=True)
        engine.dispose()
    migrated = schema_shape(admin, schema)
    try:
        yield schema_url(schema)
    finally:
        if emptied(admin, schema, migrated):
            migrated_pg_schemas.append(schema)
        else:
            admin.execute(f'DROP SCHEMA "{schema}" CASCADE')
        admin.close()


def emptied(admin: Any, schema: str, migrated: list[tuple[object, ...]]) -> bool:
    """Empty every table of `schema` but alembic_version, if its shape is still `migrated`."""
    try:
        admin.execute("SET lock_timeout = '10s'")  # a connection the test left inside a transaction
        if schema_shape(admin, schema) != migrated:
            return False
        tables = admin.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = %s AND tablename <> 'alembic_version'", (schema,)
        ).fetchall()
        names = ", ".join(f'"{schema}"."{name}"' for (name,) in tables)
        admin.execute(f"TRUNCATE {names} RESTART IDENTITY CASCADE")
    except Exception:  # alembic_version gone, a lock not granted: not reusable, dropped
        return False
    return True


@contextlib.contextmanager
def timezone(name: str) -> Iterator[None]:
    """Run the block with the process's local time zone set to `name` (a TZ value)."""
    old = os.environ.get("TZ")
    os.environ["TZ"] = name
    time.tzset()
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("TZ", None)
        else:
            os.environ["TZ"] = old
        time.tzset()


@pytest.fixture(scope="module")
def moto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Moto]:
    """moto's S3 server on loopback, one per test module (skips without `moto[server]`)."""
    from tests.s3kit import Moto, require_moto

    require_moto()
    server = Moto(tmp_path_factory.mktemp("moto")).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def utc_tz() -> Iterator[None]:
    """Run with TZ=UTC so local days are UTC days."""
    with timezone("UTC"):
        yield


@pytest.fixture
def new_york() -> Iterator[ZoneInfo]:
    with timezone("America/New_York"):
        yield ZoneInfo("America/New_York")


@pytest.fixture
def london() -> Iterator[ZoneInfo]:
    with timezone("Europe/London"):
        yield ZoneInfo("Europe/London")


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Our own database on SQLite and on the PostgreSQL server (a schema of its own): empty, or, for a
    test that takes `engine`, at the newest revision already (on PostgreSQL: see `pg_migrated_url`)."""
    if request.param == "postgres":
        return str(request.getfixturevalue("pg_migrated_url" if "engine" in request.fixturenames else "pg_url"))
    return f"sqlite:///{tmp_path / 'db' / 'gaze.db'}"


@functools.cache
def _migrated_template() -> Path:
    """A SQLite file migrated to the newest schema, once per test process (removed at exit)."""
    folder = Path(tempfile.mkdtemp(prefix="gaze-migrated-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    path = folder / "gaze.db"
    engine = make_engine(f"sqlite:///{path}")
    migrate(engine)
    engine.dispose()
    return path


def seed_migrated(url: str) -> None:
    """A SQLite database that does not exist yet starts as a copy of a file migrated once per process,
    so that `migrate` finds it current and starts no Alembic child (the migrations themselves are
    tested in tests/test_db.py). An existing file (a restart) and other databases are left alone."""
    target = Path(url.removeprefix("sqlite:///"))
    if url.startswith("sqlite:///") and not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(_migrated_template(), target)


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    """`db_url` migrated to the newest schema (on SQLite: see `seed_migrated`)."""
    seed_migrated(db_url)
    engine = make_engine(db_url)
    migrate(engine, in_process=True)  # as the one-shot commands do: no second Python per test
    try:
        yield engine
    finally:
        engine.dispose()
