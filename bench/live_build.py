"""The board's first build for bench/live.py (d), figures that stay steady on a loaded machine
(issue 21): how many NiceGUI elements the first HTML of ``/`` holds (each costs the server to build
and the browser to mount before the first row) and the server's CPU time per ``GET /`` (the app's
process, /proc user + system time over GETS requests one after the other, its background work
meanwhile included). Asked with a signed-in browser context's cookie, after the timed logins."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING

from bench.livebench import Row

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext

    from tests.browserkit import App

GETS = 40
_ELEMENTS = re.compile(r"parseElements\(String\.raw`(.*?)`\)", re.S)
_UNESCAPE = (("&#36;", "$"), ("&#96;", "`"), ("&gt;", ">"), ("&lt;", "<"), ("&amp;", "&"))  # NiceGUI's


def element_count(html: str) -> int:
    """The elements a NiceGUI page's first HTML carries (what its ``parseElements`` reads)."""
    found = _ELEMENTS.search(html)
    if found is None:
        return 0
    text = found.group(1)
    for escaped, plain in _UNESCAPE:
        text = text.replace(escaped, plain)
    return len(json.loads(text))


def cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def first_build_rows(context: BrowserContext, app: App, tag: str) -> list[Row]:
    url = f"{app.url}/"
    elements = element_count(context.request.get(url).text())
    before = cpu_s(app.pid)
    for _ in range(GETS):
        context.request.get(url)
    per_get_ms = (cpu_s(app.pid) - before) / GETS * 1000
    return [
        Row(f"(d){tag} elements in the board's first HTML", str(elements), "", ""),
        Row(f"(d){tag} server CPU per GET / (mean of {GETS})", f"{per_get_ms:.1f} ms", "", ""),
    ]
