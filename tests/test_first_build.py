"""The board's first page build (issue 21, login click -> first row): the first HTML holds a
screenful of rows (FIRST_ROWS, longest first), the rest of the first PAGE_ROWS and the alert
history come once the page is connected; NiceGUI asks `inspect.signature` of a bound change handler
once, not for every element (components/handler_signatures.py)."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from nicegui import helpers, ui
from nicegui.helpers import functions
from nicegui.testing import User

from components.deferred import Deferred
from components.handler_signatures import cache_handler_signatures
from components.session_list import FIRST_ROWS
from tests.test_dashboard import gaze_env, hit, hub, login, rows_in_order, services, until

pytest_plugins = ["nicegui.testing.user_plugin"]
__all__ = ["gaze_env"]  # the autouse fixture that gives main.py its temp settings

EXTRA = 5
ROW_ELEMENTS = 4  # the row, its names and idle/limit html, the time badge and its bare time label
# Elements of the first board page besides its FIRST_ROWS rows (ROW_ELEMENTS each): 101 before the hidden parts
# were built on demand and the parts below the sessions once connected, 57 after (issue 21).
ELEMENT_BUDGET = 60


def ip(k: int) -> str:
    return f"10.1.{k}.9"  # no address is part of another


async def test_first_html_holds_a_screenful_and_the_rest_follow_the_connect(user: User) -> None:
    await login(user)
    count = FIRST_ROWS + EXTRA
    for k in range(count):
        hit(ip(k), "cdn_math", ago_s=100 + 10 * k)
    await until(lambda: len(hub().order) == count)

    first = await user.http_client.get("/")  # the page as served, before its browser connects
    assert first.status_code == 200
    shown = {ip(k) for k in range(count) if ip(k) in first.text}
    assert shown == {s.ip for s in hub().order.top(FIRST_ROWS)}, "the first HTML holds the board's first FIRST_ROWS"
    assert "more open sessions" not in first.text  # the rest are coming, not hidden behind "Show more"
    assert "No alerts yet." not in first.text  # the alert history is drawn once connected

    await user.open("/")  # connects: the rest of the rows and the alert history are drawn
    await until(lambda: len(rows_in_order(user)) == count)
    await user.should_see("No alerts yet.")
    await user.should_not_see(marker="sessions-more")


SCRIPT_LINK = re.compile(r'<link rel="modulepreload" href="([^"]*/components/[^"]+)"')


async def test_the_login_page_has_the_browser_fetch_the_boards_scripts(user: User) -> None:
    """Every script of its own (a NiceGUI JavaScript component) that the board's first HTML imports is
    fetched while the admin types on the login page (NiceGUI serves them with a year's immutable
    cache): after the click the board's script waits for no request to the server (it waited 50-90 ms
    on a loaded machine, bench/live.py (d))."""
    await until(lambda: services().ready, timeout_s=30)
    login_page = (await user.http_client.get("/login")).text  # signed out, as before the click
    await login(user)
    hit(ip(1), "cdn_math", ago_s=100)
    await until(lambda: len(hub().order) == 1)
    board = (await user.http_client.get("/")).text
    needed = set(SCRIPT_LINK.findall(board))
    fetched = set(SCRIPT_LINK.findall(login_page))
    assert any(url.endswith("/input.js") for url in fetched), "the login page's own scripts are not found"
    assert needed <= fetched, f"the board's scripts the login page does not fetch: {needed - fetched}"


async def test_the_header_is_a_plain_element_with_no_script_of_its_own(user: User) -> None:
    """Not NiceGUI's ui.header: Quasar's q-header and NiceGUI's header.js cost the browser ~8 ms of
    its main thread before the first row (CSS keeps the plain <header> in view: frame.HEADER_CSS)."""
    await login(user)
    board = (await user.http_client.get("/")).text
    tags = [element["tag"] for element in first_elements(board).values()]
    assert "header" in tags and "nicegui-header" not in tags and "q-header" not in tags
    assert not any(url.endswith("/header.js") for url in SCRIPT_LINK.findall(board))


class Handlers:
    def on_change(self, event: Any) -> None: ...

    def tick(self) -> None: ...


def test_a_bound_handlers_signature_is_asked_once(monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[object] = []
    original = functions.signature

    def counting(func: Any) -> Any:
        asked.append(func)
        return original(func)

    monkeypatch.setattr(functions, "signature", counting)
    assert cache_handler_signatures()
    answers = [helpers.expects_arguments(Handlers().on_change) for _ in range(50)]
    assert answers == [True] * 50
    assert len(asked) <= 1, "inspect.signature asked again for every element's handler"
    assert helpers.expects_arguments(Handlers().tick) is False
    assert helpers.expects_arguments(lambda event: None) is True  # not bound: asked as before
    assert helpers.expects_arguments(lambda: None) is False


def first_elements(html: str) -> dict[str, dict[str, Any]]:
    """The elements of a page as its first HTML carries them (NiceGUI's `parseElements`)."""
    raw = re.search(r"parseElements\(String\.raw`(.*?)`\)", html, re.S)
    assert raw is not None, "no elements in the page"
    text = raw.group(1)
    for escaped, plain in (("&#36;", "$"), ("&#96;", "`"), ("&gt;", ">"), ("&lt;", "<"), ("&amp;", "&")):
        text = text.replace(escaped, plain)
    elements: dict[str, dict[str, Any]] = json.loads(text)
    return elements


async def test_the_first_board_page_holds_only_what_is_seen(user: User) -> None:
    """Every element of the first build costs the server and the browser before the first row: the
    hidden ones (chips, warnings, the stopped banner, Start, "Show more") come when first needed."""
    await login(user)
    for k in range(FIRST_ROWS + EXTRA):
        hit(ip(k), "cdn_math", ago_s=100 + 10 * k)
    await until(lambda: len(hub().order) == FIRST_ROWS + EXTRA)

    elements = first_elements((await user.http_client.get("/")).text)
    besides_rows = len(elements) - ROW_ELEMENTS * FIRST_ROWS
    assert besides_rows <= ELEMENT_BUDGET, f"{besides_rows} elements in the first board page besides its rows"
    hidden = [e for e in elements.values() if "hidden" in e.get("class", [])]
    assert not hidden, f"{len(hidden)} hidden elements in the first HTML"


async def test_a_deferred_part_takes_its_place_whenever_it_is_built(user: User) -> None:
    """Parts built in any order stand where they were declared (components/deferred.py)."""
    made: dict[str, ui.element] = {}

    @ui.page("/deferred-order")
    def page() -> None:
        with ui.row() as row:
            made["row"] = row
            first = Deferred(lambda: ui.label("a"))
            ui.label("b")
            third = Deferred(lambda: ui.label("c"))
            fourth = Deferred(lambda: ui.label("d"))
            ui.label("e")
            for part in (fourth, first, third):
                part.get()

    await login(user)
    await user.open("/deferred-order")
    row = made["row"]
    assert [child.text for child in row.default_slot.children if isinstance(child, ui.label)] == list("abcde")
