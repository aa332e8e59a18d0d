"""gaze.catalog.uploads: the scan of oc4d's upload folders."""

from __future__ import annotations

from pathlib import Path

from gaze.catalog import Catalog
from tests.catalogkit import page


def test_match_prefers_exact_over_key_and_cache_invalidates(tmp_path: Path) -> None:
    root = tmp_path / "modules"
    page(root, "1763389063089_v6sji3qt1", "cdn_math")
    cat = Catalog(database_url=None, uploads_roots=[root])
    cat.reload()
    assert cat.match("cdn-math") is not None
    assert cat.match("cdn_physics") is None
    page(root, "1763389063089_v6sji3qt1", "cdn_physics")
    cat.reload()
    assert cat.match("cdn_physics").slug == "cdn_physics"
    assert cat.match("cdn_math").slug == "cdn_math"


def test_scan_newest_build_wins_and_titles(tmp_path: Path) -> None:
    missing = tmp_path / "nope"
    root = tmp_path / "uploads" / "modules"
    page(root, "1763333740231_qw83ospc0", "cdn_math", title="Old maths", mtime=2_000_000_000)
    page(root, "1763389063089_v6sji3qt1", "cdn_math", title="Maths &amp; Numbers", mtime=1_000_000_000)
    page(root, "1763389063089_v6sji3qt1", "BookBridge")
    page(root, "aaa", "by_mtime", title="old", mtime=1_000_000_000)
    page(root, "bbb", "by_mtime", title="new", mtime=1_500_000_000)
    page(root, "", "2048", title="2048 game")
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
