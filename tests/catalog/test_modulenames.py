"""gaze.catalog.modulenames: DESIGN §7 matching of a log's module name to the catalog."""

from __future__ import annotations

import time

from gaze.catalog import Catalog
from gaze.catalog import catalog as catalog_module
from gaze.catalog.modulenames import Module, SourceStatus, merge, module_key


def _catalog(modules: list[Module]) -> Catalog:
    """A catalog holding exactly `modules` (no database, no scan)."""
    cat = Catalog(database_url=None, uploads_roots=[])
    cat._snap = catalog_module._snapshot(
        merge(modules), {}, SourceStatus(ok=False), SourceStatus(ok=False), [], time.time()
    )
    return cat


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
