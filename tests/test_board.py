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


def test_modules_that_share_a_name_are_told_apart_without_their_id() -> None:
    """Issue 20.4: the board names modules without their id; two with one name say which is which."""
    from gaze.board import module_label, shown_names
    from gaze.catalog.modulenames import Module, ModuleIndex

    alone = Module("cdn_algebra", "Algebra Basics")
    twins = [Module("maths-a", "Mathematics"), Module("maths-b", "mathematics")]
    languages = [Module("geo-en", "Geography", language="English"), Module("geo-fr", "Geography", language="French")]
    names = shown_names([alone, *twins, *languages])
    assert names["cdn_algebra"] == "Algebra Basics"
    assert (names["maths-a"], names["maths-b"]) == ("Mathematics (1 of 2)", "mathematics (2 of 2)")
    assert (names["geo-en"], names["geo-fr"]) == ("Geography (English)", "Geography (French)")

    class Catalog:
        def __init__(self, modules: list[Module]) -> None:
            self.modules, self._index = modules, ModuleIndex(modules)

        def match(self, slug: str) -> Module | None:
            return self._index.match(slug)

        def module_name(self, slug: str) -> str:
            return slug

        def display_name(self, user: str) -> str | None:
            return None

    catalog = Catalog([alone, *twins])
    assert module_label(catalog, "cdn_algebra") == ("Algebra Basics", "cdn_algebra")  # the id: for a tooltip
    assert module_label(catalog, "maths-b") == ("mathematics (2 of 2)", "maths-b")
    assert module_label(catalog, "unknown_module") == ("unknown_module", None)
    view = row_view(OpenSession("10.0.0.1", "Guest", "cdn_algebra", 0, 5), catalog)
    assert view.module_name == "Algebra Basics" and view.module_slug == "cdn_algebra"
