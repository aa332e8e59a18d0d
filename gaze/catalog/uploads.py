"""The uploads folder scan — DESIGN §5 (`MODULEGAZE_UPLOADS_MODULES_ROOT`): the modules on disk,
`<root>/<build>/<slug>/index.html` (or `<root>/<slug>/index.html`), the newest build per slug, named
by the page's <title>; one source of the module catalog (gaze.catalog.catalog).
"""

from __future__ import annotations

import html
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

from gaze.catalog.modulenames import Module, SourceStatus
from gaze.logline import BUILD_ID

__all__ = ["scan_uploads", "uploads_url"]

TITLE_READ_BYTES = 64 * 1024
_LEADING_NUMBER = re.compile(r"^(\d+)")
_TITLE = re.compile(rb"<title[^>]*>(.*?)</title\s*>", re.IGNORECASE | re.DOTALL)
_SPACES = re.compile(r"\s+")


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
            index_html_url=uploads_url(build, slug),
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


def uploads_url(build: str, slug: str) -> str:
    """The URL oc4d serves a module page at: `/uploads/modules/[<build>/]<slug>/index.html`."""
    parts = [build, slug] if build else [slug]
    return "/uploads/modules/" + "/".join(quote(p, safe="") for p in parts) + "/index.html"
