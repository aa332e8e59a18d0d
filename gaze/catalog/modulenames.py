"""Catalog modules and their names — DESIGN §7: the `Module` record each source of the catalog gives
(with the `SourceStatus` of that source), `merge` (one module per slug, earlier sources first), and
`ModuleIndex`: how a log slug finds its catalog module (the same slug, else the same normalised key,
else exactly one module whose key is a `-`-prefix of the other's).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urlsplit

from gaze.logline import module_from_path

__all__ = ["Module", "ModuleIndex", "SourceStatus", "merge", "module_key", "slug_of_url"]

_SOURCE_RANK = {"db": 0, "disk": 1, "demo": 2}
_KEY_SEPARATORS = re.compile(r"[_\s]+")
_KEY_DROP = re.compile(r"[^a-z0-9-]")


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


def slug_of_url(url: str) -> str | None:
    """The log slug of a module page URL (DESIGN §2 rules applied to its path), or None."""
    if not url:
        return None
    try:
        path = urlsplit(url).path
    except ValueError:
        return None
    return module_from_path(path)


class ModuleIndex:
    """Modules by slug and by key, in match-preference order (db before disk before demo, enabled
    first); `match` remembers its answers (a new index is made for each new catalog)."""

    def __init__(self, modules: Iterable[Module]) -> None:
        preferred = sorted(
            modules, key=lambda m: (_SOURCE_RANK.get(m.source, 9), not m.enabled, m.name.casefold(), m.slug)
        )
        self.by_slug: dict[str, Module] = {}
        for module in preferred:
            self.by_slug.setdefault(module.slug, module)
        self.keyed = [(k, m) for m in preferred if (k := module_key(m.slug))]  # empty keys left out
        self._cache: dict[str, Module | None] = {}

    def match(self, slug: str) -> Module | None:
        """The catalog module a log slug names (DESIGN §7), or None."""
        try:
            return self._cache[slug]
        except KeyError:
            pass
        found = self._match(slug)
        self._cache[slug] = found
        return found

    def _match(self, slug: str) -> Module | None:
        exact = self.by_slug.get(slug)
        if exact is not None:
            return exact
        key = module_key(slug)
        if not key:
            return None
        for other_key, module in self.keyed:
            if other_key == key:
                return module  # keyed is in preference order: db before disk before demo, enabled first
        candidates: dict[str, Module] = {}
        for other_key, module in self.keyed:
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
