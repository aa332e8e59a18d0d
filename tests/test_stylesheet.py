"""The prebuilt stylesheet (components/stylesheet.py, issue 21): every class our code gives an element
is defined — by the committed components/static/tailwind.css, by Quasar or NiceGUI, or by our own
`*_CSS` — so adding a Tailwind class without running scripts/build_css.py fails here; the sheet is
made by the Tailwind NiceGUI ships; every page links it and it is served to a browser that is not
signed in, cached for a year under a URL that changes with its content."""

from __future__ import annotations

import ast
import re
import shutil
from pathlib import Path

import httpx
import nicegui
from nicegui import core
from nicegui.testing import User

from components.stylesheet import STYLESHEET, YEAR_S, stylesheet_url
from main import SERVER_OPTIONS
from tests.stylekit import ROOT, SOURCES, Strings, defined_classes, source_files, used_classes
from tests.test_dashboard import gaze_env

pytest_plugins = ["nicegui.testing.user_plugin"]
__all__ = ["gaze_env"]  # the autouse fixture that gives main.py its temp settings

NICEGUI_STATIC = Path(nicegui.__file__).parent / "static"
QUASAR_AND_NICEGUI = ("quasar.important.prod.css", "quasar.unimportant.prod.css", "nicegui.css")


def our_css(root: Path = ROOT) -> str:
    """The CSS our modules add themselves (`ui.add_css` of their `*_CSS` constants)."""
    trees = [ast.parse(path.read_text(encoding="utf-8")) for path in source_files(root)]
    strings = Strings(trees)
    return "\n".join(v for name, values in strings.constants.items() if name.endswith("_CSS") for v in values)


def undefined(root: Path = ROOT) -> set[str]:
    defined = defined_classes(STYLESHEET.read_text(encoding="utf-8")) | defined_classes(our_css(root))
    for name in QUASAR_AND_NICEGUI:
        defined |= defined_classes((NICEGUI_STATIC / name).read_text(encoding="utf-8"))
    return used_classes(root) - defined


def test_every_class_we_use_is_defined() -> None:
    missing = undefined()
    assert not missing, f"classes no stylesheet defines (run `python scripts/build_css.py`): {sorted(missing)}"


def test_a_new_tailwind_class_without_a_new_sheet_fails(tmp_path: Path) -> None:
    """The check above on a copy of the sources with one new class, passed in each way we pass them."""
    for name in SOURCES:
        source = ROOT / name
        (shutil.copytree if source.is_dir() else shutil.copy)(source, tmp_path / name)
    login = tmp_path / "pages" / "login.py"
    text = login.read_text(encoding="utf-8")
    text = text.replace('.classes("w-full")', '.classes("w-full mt-7")', 1)
    text = text.replace('ui.card().classes("', 'ui.card().props("content-class=pb-9").classes("', 1)
    text += '\nNEW_ROW = "grid-cols-7"\n\n\ndef row(wide: bool) -> str:\n    return f\'<div class="{NEW_ROW}">\'\n'
    login.write_text(text, encoding="utf-8")
    assert {"mt-7", "pb-9", "grid-cols-7"} <= undefined(tmp_path)
    assert not {"mt-7", "pb-9", "grid-cols-7"} & undefined()


def test_the_extractor_follows_constants_and_fstrings() -> None:
    used = used_classes()
    assert "bg-[#1f6f8b]" in used  # the header: f"bg-[{PRIMARY}]" with PRIMARY from components.theme
    assert "max-w-6xl" in used and "max-w-3xl" in used  # frame(width=...): its default and a caller's
    assert "italic" in used  # a guest's name: class="{name_classes}" in an f-string of HTML
    assert "over-pulse" in used and "ring-red-300" in used  # BADGE_OVER, through classes(add=...)
    assert not any("{" in name or "\0" in name for name in used)


def test_the_sheet_is_the_tailwind_nicegui_ships() -> None:
    shipped = re.search(r'var \w+="(\d+\.\d+\.\d+)"', (NICEGUI_STATIC / "tailwindcss.min.js").read_text()[:2000])
    assert shipped is not None
    assert f"tailwindcss v{shipped[1]} " in STYLESHEET.read_text(encoding="utf-8")
    assert SERVER_OPTIONS["tailwind"] is False  # no compiler in the browser: the sheet is what styles


async def test_pages_link_the_sheet_and_it_is_served_cached(user: User) -> None:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(core.app), base_url="http://test") as http:
        login = await http.get("/login")
        assert login.status_code == 200
        assert f'<link rel="stylesheet" href="{stylesheet_url()}">' in login.text
        assert "tailwindcss.min.js" not in login.text
        http.cookies.clear()  # a browser that is not signed in
        sheet = await http.get(stylesheet_url())
    assert sheet.status_code == 200
    assert sheet.text == STYLESHEET.read_text(encoding="utf-8")
    assert f"max-age={YEAR_S}" in sheet.headers["cache-control"]
    assert sheet.headers["content-type"].startswith("text/css")
