"""gaze.catalog.oc4d_db: oc4d's database as a source of module titles and user names, and its failures in words."""

from __future__ import annotations

import time

import pytest

from gaze.catalog import Catalog
from gaze.catalog.modulenames import Module
from gaze.catalog.oc4d_db import engine_url
from tests.catalogkit import module_rows, sql


def test_engine_url() -> None:
    assert engine_url("postgresql://u:p@h:5432/db") == "postgresql+psycopg://u:p@h:5432/db"
    assert engine_url("postgres://h/db") == "postgresql+psycopg://h/db"
    assert engine_url("postgresql://h/db?schema=oc4d&connection_limit=5").startswith(
        "postgresql+psycopg://h/db?options=-csearch_path%3Doc4d"
    )


@pytest.mark.postgres
def test_user_name_column_only_and_missing_columns(pg_url: str) -> None:
    module_rows(pg_url, [])
    sql(pg_url, 'CREATE TABLE "User" (id text primary key, email text, name text)')
    sql(pg_url, params=[('INSERT INTO "User" VALUES (%s, %s, %s)', ("u1", "A@B.org", "Abena"))])
    cat = Catalog(database_url=pg_url, uploads_roots=[])
    cat.reload()
    assert cat.db_status.ok and cat.db_status.count == 0
    assert cat.users == {"a@b.org": "Abena"}

    sql(
        pg_url,
        'DROP TABLE "User"',
        'CREATE TABLE "User" (id text primary key, email text, full_name text)',
        "INSERT INTO \"User\" VALUES ('u1', 'x@y.org', 'Yaw Boateng')",
    )
    cat.reload()
    assert cat.users == {"x@y.org": "Yaw Boateng"}
    assert cat.display_name("x@y.org") == "Yaw Boateng"

    sql(pg_url, 'DROP TABLE "User"')
    cat.reload()
    assert cat.users == {} and cat.db_status.ok
    assert any('"User"' in w for w in cat.warnings)


@pytest.mark.postgres
def test_module_table_missing_columns(pg_url: str) -> None:
    sql(
        pg_url,
        'CREATE TABLE "Module" (id text primary key, name text not null, index_html_url text)',
        "INSERT INTO \"Module\" VALUES ('m1', 'Algebra', '/modules/cdn_algebra/index.html')",
    )
    cat = Catalog(database_url=pg_url, uploads_roots=[])
    cat.reload()
    assert cat.db_status.ok and cat.db_status.count == 1
    assert cat.modules == [
        Module("cdn_algebra", "Algebra", index_html_url="/modules/cdn_algebra/index.html", source="db", id="m1")
    ]


@pytest.mark.postgres
def test_missing_module_table(pg_url: str) -> None:
    cat = Catalog(database_url=pg_url, uploads_roots=[])
    cat.reload()
    assert cat.db_status.ok is False
    assert '"Module"' in cat.db_status.error and "\n" not in cat.db_status.error
    assert cat.modules == []


@pytest.mark.postgres
def test_wrong_credentials(pg_url: str) -> None:
    cat = Catalog(database_url="postgresql://nobody_x@127.0.0.1:5432/test", uploads_roots=[])
    cat.reload()
    assert cat.db_status.ok is False and cat.db_status.count == 0
    assert cat.db_status.error and "\n" not in cat.db_status.error
    assert cat.api_payload()["sources"]["database"]["ok"] is False


def test_unreachable_and_unset_and_invalid() -> None:
    started = time.monotonic()
    cat = Catalog(database_url="postgresql://postgres@127.0.0.1:1/test", uploads_roots=[])
    cat.reload()
    assert time.monotonic() - started < 10
    assert cat.db_status.ok is False and cat.db_status.error and "\n" not in cat.db_status.error
    assert cat.modules == [] and cat.loaded_at is not None

    cat = Catalog(database_url=None, uploads_roots=[])
    cat.reload()
    assert cat.db_status.error == "DATABASE_URL not set" and cat.warnings == []

    cat = Catalog(database_url="not a url at all:://", uploads_roots=[])
    cat.reload()
    assert cat.db_status.ok is False and "not a url" not in (cat.db_status.error or "")
