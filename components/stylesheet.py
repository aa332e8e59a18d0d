"""The pages' Tailwind classes from a prebuilt stylesheet (components/static/tailwind.css) instead of
Tailwind's compiler in the browser (`ui.run(tailwind=False)`, main.SERVER_OPTIONS): a phone no
longer downloads and runs the compiler over each page (issue 21). The sheet holds Tailwind's base
styles and exactly the utilities our code uses; scripts/build_css.py regenerates it and
tests/test_stylesheet.py says when it must.

Served under /assets/ with a year's cache: its URL carries a hash of its content, so a new sheet is
a new URL.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from nicegui import app, ui

STATIC = Path(__file__).resolve().parent / "static"
STYLESHEET = STATIC / "tailwind.css"
URL_PATH = "/assets"
YEAR_S = 365 * 24 * 3600


def stylesheet_url() -> str:
    digest = hashlib.sha256(STYLESHEET.read_bytes()).hexdigest()[:12]
    return f"{URL_PATH}/{STYLESHEET.name}?v={digest}"


def install() -> None:
    """Serve the sheet and link it in the head of every page."""
    app.add_static_files(URL_PATH, STATIC, max_cache_age=YEAR_S)
    ui.add_head_html(f'<link rel="stylesheet" href="{stylesheet_url()}">', shared=True)
