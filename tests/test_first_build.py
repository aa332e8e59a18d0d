"""The board's first page build (issue 21, login click -> first row): the first HTML holds a
screenful of rows (FIRST_ROWS, longest first), the rest of the first PAGE_ROWS and the alert
history come once the page is connected; NiceGUI asks `inspect.signature` of a bound change handler
once, not for every element (components/handler_signatures.py)."""

from __future__ import annotations

from typing import Any

import pytest
from nicegui import helpers
from nicegui.helpers import functions
from nicegui.testing import User

from components.handler_signatures import cache_handler_signatures
from components.session_list import FIRST_ROWS
from tests.test_dashboard import gaze_env, hit, hub, login, rows_in_order, until

pytest_plugins = ["nicegui.testing.user_plugin"]
__all__ = ["gaze_env"]  # the autouse fixture that gives main.py its temp settings

EXTRA = 5


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
