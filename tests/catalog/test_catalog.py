"""gaze.catalog.catalog: the merged catalog (database + uploads scan + demo), its version, /api/modules payload."""

from __future__ import annotations

from pathlib import Path

import pytest

from gaze.catalog import Catalog
from gaze.simulator import DEMO_CATALOG
from tests.catalogkit import module_rows, page, sql


def test_demo_entries(tmp_path: Path) -> None:
    root = tmp_path / "modules"
    page(root, "1763389063089_v6sji3qt1", "cdn_math", title="Maths from disk")
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
    page(root, "1763389063089_v6sji3qt1", "a")
    cat = Catalog(database_url=None, uploads_roots=[root])
    assert cat.loaded_at is None and cat.api_payload()["loadedAt"] is None
    cat.reload()
    v = cat.version
    assert v == 1 and cat.loaded_at is not None
    cat.reload()
    assert cat.version == v
    page(root, "1763389063089_v6sji3qt1", "b")
    cat.reload()
    assert cat.version == v + 1


@pytest.mark.postgres
def test_db_and_disk_merge(pg_url: str, tmp_path: Path) -> None:
    module_rows(
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
    sql(
        pg_url,
        'CREATE TABLE "User" (id text primary key, email text unique, full_name text, name text)',
        params=[
            ('INSERT INTO "User" VALUES (%s, %s, %s, %s)', ("u1", "Teacher@Example.com", "Ama Mensah", "ama")),
            ('INSERT INTO "User" VALUES (%s, %s, %s, %s)', ("u2", "kofi@example.com", None, "Kofi")),
            ('INSERT INTO "User" VALUES (%s, %s, %s, %s)', ("u3", "nobody@example.com", None, None)),
        ],
    )
    sql(  # Prisma's implicit many-to-many: A = Category.id, B = Module.id
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
    page(root, "1763389063089_v6sji3qt1", "cdn_math", title="Disk maths")
    page(root, "1763389063089_v6sji3qt1", "cdn_verbs", title="Verbs")
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
