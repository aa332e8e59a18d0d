"""gaze.catalog and its sources: oc4d database (gaze.catalog.oc4d_db) + uploads scan (gaze.catalog.uploads), DESIGN §7 matching
(gaze.catalog.modulenames), /api/modules payload."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from gaze.catalog import Catalog
from gaze.catalog import catalog as catalog_module
from gaze.catalog.modulenames import Module, SourceStatus, merge, module_key
from gaze.catalog.oc4d_db import engine_url
from gaze.simulator import DEMO_CATALOG

MODULE_DDL = (
    'CREATE TABLE "Module" (id text primary key, name text not null, description text, index_html_url text, '
    'logo_url text, language text, enabled boolean default true, "createdAt" timestamp default now())'
)


def _sql(url: str, *statements: str, params: list[tuple[str, tuple]] | None = None) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True, connect_timeout=3) as conn:
        for statement in statements:
            conn.execute(statement)
        for statement, values in params or []:
            conn.execute(statement, values)


def _module_rows(url: str, rows: list[tuple]) -> None:
    _sql(
        url,
        MODULE_DDL,
        params=[
            (
                'INSERT INTO "Module" (id, name, description, index_html_url, logo_url, language, enabled) '
                "VALUES (%s, %s, %s, %s, %s, %s, %s)",
                row,
            )
            for row in rows
        ],
    )


def _page(root: Path, build: str, slug: str, title: str | None = None, mtime: float | None = None) -> Path:
    folder = root / build / slug if build else root / slug
    folder.mkdir(parents=True, exist_ok=True)
    body = f"<html><head><title>{title}</title></head><body></body></html>" if title else "<html></html>"
    (folder / "index.html").write_text(body, encoding="utf-8")
    if mtime is not None and build:
        os.utime(root / build, (mtime, mtime))
    return folder


def _catalog(modules: list[Module]) -> Catalog:
    """A catalog holding exactly `modules` (no database, no scan)."""
    cat = Catalog(database_url=None, uploads_roots=[])
    cat._snap = catalog_module._snapshot(
        merge(modules), {}, SourceStatus(ok=False), SourceStatus(ok=False), [], time.time()
    )
    return cat


# ---------------------------------------------------------------- keys and matching


def test_module_key() -> None:
    assert module_key("CDN_Module") == "cdn-module"
    assert module_key("cdn  module") == "cdn-module"
    assert module_key("Book Bridge!") == "book-bridge"
    assert module_key("a__b _c") == "a-b-c"
    assert module_key("%%") == ""


def test_match_exact_key_and_prefix() -> None:
    cat = _catalog(
        [
            Module("CDN_Module", "CDN Module", source="disk"),
            Module("en-wassce", "WASSCE", source="disk"),
            Module("health", "Health", source="disk"),
            Module("math-algebra", "Algebra", source="disk"),
            Module("math-geometry", "Geometry", source="disk"),
        ]
    )
    assert cat.match("CDN_Module").name == "CDN Module"  # exact
    assert cat.match("cdn-module").name == "CDN Module"  # key-normalised
    assert cat.match("CDN Module").name == "CDN Module"
    assert cat.match("en-wassce-2024").name == "WASSCE"  # catalog key is a prefix of the log key
    assert cat.match("health-first-aid").name == "Health"
    assert cat.match("EN_WASSCE_2024").name == "WASSCE"
    assert cat.match("en").name == "WASSCE"  # log key is a prefix of exactly one catalog key
    assert cat.match("math") is None  # prefix of two modules: ambiguous
    assert cat.match("en-was") is None  # not cut at a "-"
    assert cat.match("healthy") is None
    assert cat.match("unknown") is None
    assert cat.match("%%") is None
    assert cat.match("math") is None  # cached answer is the same


def test_match_prefers_exact_over_key_and_cache_invalidates(tmp_path: Path) -> None:
    root = tmp_path / "modules"
    _page(root, "1763389063089_v6sji3qt1", "cdn_math")
    cat = Catalog(database_url=None, uploads_roots=[root])
    cat.reload()
    assert cat.match("cdn-math") is not None
    assert cat.match("cdn_physics") is None
    _page(root, "1763389063089_v6sji3qt1", "cdn_physics")
    cat.reload()
    assert cat.match("cdn_physics").slug == "cdn_physics"
    assert cat.match("cdn_math").slug == "cdn_math"


# ---------------------------------------------------------------- disk scan


def test_scan_newest_build_wins_and_titles(tmp_path: Path) -> None:
    missing = tmp_path / "nope"
    root = tmp_path / "uploads" / "modules"
    _page(root, "1763333740231_qw83ospc0", "cdn_math", title="Old maths", mtime=2_000_000_000)
    _page(root, "1763389063089_v6sji3qt1", "cdn_math", title="Maths &amp; Numbers", mtime=1_000_000_000)
    _page(root, "1763389063089_v6sji3qt1", "BookBridge")
    _page(root, "aaa", "by_mtime", title="old", mtime=1_000_000_000)
    _page(root, "bbb", "by_mtime", title="new", mtime=1_500_000_000)
    _page(root, "", "2048", title="2048 game")
    (root / "1763389063089_v6sji3qt1" / "no_index").mkdir()
    cat = Catalog(database_url=None, uploads_roots=[missing, root])
    cat.reload()
    by_slug = {m.slug: m for m in cat.modules}
    assert set(by_slug) == {"cdn_math", "BookBridge", "by_mtime", "2048"}
    assert by_slug["cdn_math"].build == "1763389063089_v6sji3qt1"  # leading number beats mtime
    assert by_slug["cdn_math"].name == "Maths & Numbers"
    assert by_slug["by_mtime"].build == "bbb"
    assert by_slug["by_mtime"].name == "new"
    assert by_slug["BookBridge"].name == "BookBridge"
    assert by_slug["2048"].build == ""
    assert by_slug["cdn_math"].index_html_url == "/uploads/modules/1763389063089_v6sji3qt1/cdn_math/index.html"
    assert all(m.source == "disk" for m in cat.modules)
    assert cat.scan_status.ok and cat.scan_status.count == 4
    assert cat.scan_status.extra == {"root": str(root), "rootsTried": [str(missing), str(root)]}
    assert cat.db_status.ok is False and cat.db_status.error == "DATABASE_URL not set"
    assert cat.warnings == []


def test_scan_no_root(tmp_path: Path) -> None:
    cat = Catalog(database_url=None, uploads_roots=[tmp_path / "a", tmp_path / "b"])
    cat.reload()
    assert cat.modules == []
    assert cat.scan_status.ok is False and cat.scan_status.error
    assert cat.api_payload()["sources"]["scan"]["rootsTried"] == [str(tmp_path / "a"), str(tmp_path / "b")]


def test_demo_entries(tmp_path: Path) -> None:
    root = tmp_path / "modules"
    _page(root, "1763389063089_v6sji3qt1", "cdn_math", title="Maths from disk")
    cat = Catalog(database_url=None, uploads_roots=[root], demo=True)
    cat.reload()
    assert len(cat.modules) == len(DEMO_CATALOG)
    math = cat.match("cdn_math")
    assert math.source == "disk" and math.name == "Maths from disk"
    demo = cat.match("en-wassce")
    assert demo.source == "demo" and demo.name == "WASSCE Past Questions (English)"
    assert demo.build == "1763391338325_iyefn8g94" and demo.description
    names = [m.name.casefold() for m in cat.modules]
    assert names == sorted(names)


def test_version_bumps_only_on_change(tmp_path: Path) -> None:
    root = tmp_path / "modules"
    _page(root, "1763389063089_v6sji3qt1", "a")
    cat = Catalog(database_url=None, uploads_roots=[root])
    assert cat.loaded_at is None and cat.api_payload()["loadedAt"] is None
    cat.reload()
    v = cat.version
    assert v == 1 and cat.loaded_at is not None
    cat.reload()
    assert cat.version == v
    _page(root, "1763389063089_v6sji3qt1", "b")
    cat.reload()
    assert cat.version == v + 1


# ---------------------------------------------------------------- database


def test_engine_url() -> None:
    assert engine_url("postgresql://u:p@h:5432/db") == "postgresql+psycopg://u:p@h:5432/db"
    assert engine_url("postgres://h/db") == "postgresql+psycopg://h/db"
    assert engine_url("postgresql://h/db?schema=oc4d&connection_limit=5").startswith(
        "postgresql+psycopg://h/db?options=-csearch_path%3Doc4d"
    )


@pytest.mark.postgres
def test_db_and_disk_merge(pg_url: str, tmp_path: Path) -> None:
    _module_rows(
        pg_url,
        [
            (
                "m1",
                "Mathematics",
                "Numbers",
                "/uploads/modules/1763389063089_v6sji3qt1/cdn_math/index.html",
                "/logo.png",
                "en",
                True,
            ),
            (
                "m2",
                "zebra Module",
                None,
                "http://oc4d.local/modules/1763389063089_x/CDN_Module/index.html",
                None,
                None,
                False,
            ),
            ("m3", "Broken", None, "/somewhere/else.html", None, None, True),
            ("m4", "Spaces", None, "/uploads/modules/1763389063089_v6sji3qt1/My%20Module/index.html", None, None, None),
        ],
    )
    _sql(
        pg_url,
        'CREATE TABLE "User" (id text primary key, email text unique, full_name text, name text)',
        params=[
            ('INSERT INTO "User" VALUES (%s, %s, %s, %s)', ("u1", "Teacher@Example.com", "Ama Mensah", "ama")),
            ('INSERT INTO "User" VALUES (%s, %s, %s, %s)', ("u2", "kofi@example.com", None, "Kofi")),
            ('INSERT INTO "User" VALUES (%s, %s, %s, %s)', ("u3", "nobody@example.com", None, None)),
        ],
    )
    _sql(  # Prisma's implicit many-to-many: A = Category.id, B = Module.id
        pg_url,
        'CREATE TABLE "Category" (id text primary key, name text unique, logo_url text)',
        'CREATE TABLE "_CategoryToModule" ("A" text, "B" text)',
        params=[
            ('INSERT INTO "Category" VALUES (%s, %s, %s)', ("c1", "Science", "")),
            ('INSERT INTO "Category" VALUES (%s, %s, %s)', ("c2", "Core", "")),
            ('INSERT INTO "_CategoryToModule" VALUES (%s, %s)', ("c1", "m1")),
            ('INSERT INTO "_CategoryToModule" VALUES (%s, %s)', ("c2", "m1")),
            ('INSERT INTO "_CategoryToModule" VALUES (%s, %s)', ("c1", "m2")),
        ],
    )
    root = tmp_path / "modules"
    _page(root, "1763389063089_v6sji3qt1", "cdn_math", title="Disk maths")
    _page(root, "1763389063089_v6sji3qt1", "cdn_verbs", title="Verbs")
    cat = Catalog(database_url=pg_url, uploads_roots=[root])
    cat.reload()

    assert cat.db_status.ok and cat.db_status.count == 3 and cat.db_status.error is None
    assert cat.scan_status.ok and cat.scan_status.count == 2
    by_slug = {m.slug: m for m in cat.modules}
    assert set(by_slug) == {"cdn_math", "CDN_Module", "My Module", "cdn_verbs"}
    math = by_slug["cdn_math"]
    assert (math.source, math.name, math.description, math.logo_url, math.language) == (
        "db",
        "Mathematics",
        "Numbers",
        "/logo.png",
        "en",
    )
    assert math.build == "1763389063089_v6sji3qt1"
    assert by_slug["CDN_Module"].enabled is False
    assert by_slug["My Module"].enabled is True
    assert by_slug["cdn_verbs"].source == "disk"
    assert [m.name for m in cat.modules] == ["Mathematics", "Spaces", "Verbs", "zebra Module"]
    assert any("Broken" in w for w in cat.warnings)

    assert cat.match("cdn-module").slug == "CDN_Module"
    assert cat.match("my-module").slug == "My Module"

    assert cat.users == {"teacher@example.com": "Ama Mensah", "kofi@example.com": "Kofi"}
    assert cat.display_name("teacher@example.com") == "Ama Mensah"
    assert cat.display_name("KOFI@example.com") == "Kofi"
    assert cat.display_name("nobody@example.com") is None
    assert cat.display_name("Guest") is None

    payload = cat.api_payload()
    assert set(payload) == {"modules", "sources", "warnings", "loadedAt"}
    first = payload["modules"][0]
    assert first == {
        "id": "m1",  # upstream's keys: id, name, indexHtmlUrl, categories
        "categories": [{"name": "Core"}, {"name": "Science"}],
        "slug": "cdn_math",
        "name": "Mathematics",
        "description": "Numbers",
        "indexHtmlUrl": "/uploads/modules/1763389063089_v6sji3qt1/cdn_math/index.html",
        "logoUrl": "/logo.png",
        "language": "en",
        "enabled": True,
        "source": "db",
    }
    assert payload["sources"]["database"] == {"ok": True, "count": 3, "error": None}
    assert payload["sources"]["scan"] == {
        "ok": True,
        "count": 2,
        "error": None,
        "root": str(root),
        "rootsTried": [str(root)],
    }
    assert payload["loadedAt"].endswith("Z")
    assert payload["warnings"] == cat.warnings
    by_payload_slug = {m["slug"]: m for m in payload["modules"]}
    assert by_payload_slug["CDN_Module"]["categories"] == [{"name": "Science"}]
    assert by_payload_slug["My Module"]["categories"] == []
    assert by_payload_slug["cdn_verbs"]["id"] == "scan:1763389063089_v6sji3qt1:cdn_verbs"  # upstream's disk ids


@pytest.mark.postgres
def test_user_name_column_only_and_missing_columns(pg_url: str) -> None:
    _module_rows(pg_url, [])
    _sql(pg_url, 'CREATE TABLE "User" (id text primary key, email text, name text)')
    _sql(pg_url, params=[('INSERT INTO "User" VALUES (%s, %s, %s)', ("u1", "A@B.org", "Abena"))])
    cat = Catalog(database_url=pg_url, uploads_roots=[])
    cat.reload()
    assert cat.db_status.ok and cat.db_status.count == 0
    assert cat.users == {"a@b.org": "Abena"}

    _sql(
        pg_url,
        'DROP TABLE "User"',
        'CREATE TABLE "User" (id text primary key, email text, full_name text)',
        "INSERT INTO \"User\" VALUES ('u1', 'x@y.org', 'Yaw Boateng')",
    )
    cat.reload()
    assert cat.users == {"x@y.org": "Yaw Boateng"}
    assert cat.display_name("x@y.org") == "Yaw Boateng"

    _sql(pg_url, 'DROP TABLE "User"')
    cat.reload()
    assert cat.users == {} and cat.db_status.ok
    assert any('"User"' in w for w in cat.warnings)


@pytest.mark.postgres
def test_module_table_missing_columns(pg_url: str) -> None:
    _sql(
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
