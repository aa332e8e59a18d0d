"""What the board shows: durations, rows, and the one shared order of open sessions."""

from __future__ import annotations

from gaze.board import LiveOrder, device_text, format_duration, row_view
from gaze.sessions import OpenSession


def test_format_duration() -> None:
    assert [format_duration(s) for s in (0, 12, 60, 245, 3723, -5)] == [
        "0s",
        "12s",
        "1m 00s",
        "4m 05s",
        "1h 02m 03s",
        "0s",
    ]


def test_row_view_names_and_devices() -> None:
    guest = row_view(OpenSession("10.0.0.1", "Guest", "m", 0, 5), None, {"10.0.0.1": "Tablet 07"}.get)
    assert guest.is_guest and guest.name == "Guest" and guest.device == "Tablet 07 · 10.0.0.1"
    anna = row_view(OpenSession("10.0.0.2", "anna@x.org", "m", 0, 5), None)
    assert not anna.is_guest and anna.device == "10.0.0.2" and anna.module_name == "m" and anna.module_slug is None
    assert device_text("10.0.0.3", lambda ip: None) == "10.0.0.3"


def test_live_order_keeps_longest_first_and_follows_changes() -> None:
    order = LiveOrder()
    a = OpenSession("10.0.0.1", "Guest", "m1", 100, 100)
    b = OpenSession("10.0.0.2", "Guest", "m1", 50, 60)
    order.apply({a.key: a, b.key: b})
    assert [s.ip for s in order.top(10)] == ["10.0.0.2", "10.0.0.1"]
    a.last_ms = 500  # the store mutates its objects; the order keeps its own copies
    assert order.get(a.key).last_ms == 100  # type: ignore[union-attr]
    order.apply({a.key: a})
    assert order.get(a.key).last_ms == 500  # type: ignore[union-attr]
    switched = OpenSession("10.0.0.2", "Guest", "m2", 700, 700)  # module switch: a new start
    order.apply({switched.key: switched})
    assert [s.ip for s in order.top(10)] == ["10.0.0.1", "10.0.0.2"] and len(order) == 2
    order.apply({a.key: None, ("10.9.9.9", "Guest"): None})
    assert [s.module for s in order.top(1)] == ["m2"] and len(order) == 1
