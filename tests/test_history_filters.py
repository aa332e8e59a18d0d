"""Which records a History query reads (gaze.history_filters): the filters (what the admin types
matches part of an address, of a device's name or of a user name, any case), and the counted
records that end inside a range, oldest end first — on SQLite and the real PostgreSQL server."""

from __future__ import annotations

from sqlalchemy import Engine

from gaze.db import BACKFILL, LIVE
from gaze.history_filters import NO_FILTERS, Filters, Match, records_in, typed_filters
from gaze.localtime import Range
from gaze.records import RECORDS
from tests.test_history import MIN, insert, rec

T = 1_800_000_000_000


def ends(engine: Engine, rng: Range, filters: Filters) -> list[tuple[int, str, str, str]]:
    c = RECORDS.c
    with engine.connect() as conn:
        return [tuple(row) for row in conn.execute(records_in(rng, filters, c.end_ms, c.module, c.ip, c.user_id))]


def test_a_filter_is_true_when_any_part_is_set() -> None:
    assert not NO_FILTERS and not Filters()
    assert Filters(module="cdn_math") and Filters(ip="10.0.0.1") and Filters(user="anna")


def test_records_in_a_range_with_filters(engine: Engine) -> None:
    insert(
        engine,
        [
            rec(T + 2 * MIN, 30, "10.0.0.1", "anna", "cdn_math"),
            rec(T, 30, "10.0.0.2", "Guest", "cdn_math"),
            rec(T + MIN, 30, "10.0.0.1", "anna", "cdn_bio"),
            rec(T + 10 * MIN, 30, "10.0.0.1", "anna", "cdn_math"),  # the range's end: not in it
            rec(T - 1, 30, "10.0.0.1", "anna", "cdn_math"),  # before it
        ],
        BACKFILL,
    )
    rng = Range(T, T + 10 * MIN, "x")
    assert [e[0] for e in ends(engine, rng, NO_FILTERS)] == [T, T + MIN, T + 2 * MIN]  # oldest end first
    assert ends(engine, rng, Filters(module="cdn_math", user="anna")) == [(T + 2 * MIN, "cdn_math", "10.0.0.1", "anna")]
    assert [e[0] for e in ends(engine, rng, Filters(ip="10.0.0.1"))] == [T + MIN, T + 2 * MIN]
    assert ends(engine, rng, Filters(module="cdn_geo")) == []


def test_records_marked_as_repeats_are_not_read(engine: Engine) -> None:
    first = rec(T, 30)
    insert(engine, [first], BACKFILL)
    insert(engine, [first], LIVE)  # the live row is kept for the log writer; the backfill one is marked
    assert len(ends(engine, Range(T - MIN, T + MIN, "x"), NO_FILTERS)) == 1


LABELS = {"10.0.0.3": "Tablet Kofi", "10.0.0.5": "library desk", "192.168.4.75": "Tablet Ama"}


def test_what_the_admin_types_in_the_device_and_user_filters() -> None:
    assert typed_filters("", " ", "", LABELS) == (NO_FILTERS, "")
    assert typed_filters("cdn_math", " ::FFFF:10.0.0.9 ", "", LABELS) == (Filters("cdn_math", "10.0.0.9"), "")
    assert typed_filters("", "192.168", "", LABELS) == (Filters(ip=Match("192.168")), "")  # part of an address
    assert typed_filters("", "4.75", "", LABELS)[0] == Filters(ip=Match("4.75"))
    filters, note = typed_filters("", "TABLET", "ann", LABELS)  # part of a name, any case; the user the same
    assert filters == Filters(ip=Match("TABLET", ("10.0.0.3", "192.168.4.75")), user=Match("ann"))
    assert note == "named Tablet Kofi · 10.0.0.3, Tablet Ama · 192.168.4.75"
    filters, note = typed_filters("", "Projector", "", LABELS)
    assert filters == Filters(ip=Match("Projector")) and "no device is named 'Projector'" in note


def test_typed_filters_match_part_of_an_address_a_name_or_a_user(engine: Engine) -> None:
    insert(
        engine,
        [
            rec(T, 30, "192.168.4.75", "Anna", "cdn_math"),
            rec(T + MIN, 30, "192.168.4.7", "joANNe", "cdn_math"),
            rec(T + 2 * MIN, 30, "10.0.0.3", "kofi", "cdn_bio"),
            rec(T + 3 * MIN, 30, "10.0.0.5", "Guest", "cdn_bio"),
            rec(T + 4 * MIN, 30, "fe80::1", "Guest_100%", "cdn_bio"),
        ],
        BACKFILL,
    )
    rng = Range(T, T + 10 * MIN, "x")

    def found(device: str = "", user: str = "") -> list[str]:
        return [f"{e[2]} {e[3]}" for e in ends(engine, rng, typed_filters("", device, user, LABELS)[0])]

    assert found("192.168") == ["192.168.4.75 Anna", "192.168.4.7 joANNe"]
    assert found("4.75") == ["192.168.4.75 Anna"]
    assert found("192.168.4.7") == ["192.168.4.7 joANNe"]  # a whole address: that device only
    assert found("tablet") == ["192.168.4.75 Anna", "10.0.0.3 kofi"]  # part of the admin's names
    assert found("FE80:") == ["fe80::1 Guest_100%"]
    assert found(user="ANN") == ["192.168.4.75 Anna", "192.168.4.7 joANNe"]
    assert found("10.0", "guest") == ["10.0.0.5 Guest"]
    assert found(user="_100%") == ["fe80::1 Guest_100%"]  # LIKE's wildcards are the characters typed
    assert found(user="t%0") == [] and found("Projector") == []  # not "t, anything, 0"


def test_the_filters_ignore_case_beyond_a_to_z(engine: Engine) -> None:
    """On SQLite too (whose own lower() folds only A-Z), as on PostgreSQL: "élo" finds "Élodie"."""
    insert(
        engine,
        [rec(T, 30, "10.0.0.3", "Élodie", "cdn_math"), rec(T + MIN, 30, "10.0.0.4", "ÇAĞLAR", "cdn_bio")],
        BACKFILL,
    )
    rng = Range(T, T + 10 * MIN, "x")

    def found(user: str) -> list[str]:
        return [e[3] for e in ends(engine, rng, typed_filters("", "", user, LABELS)[0])]

    assert found("élo") == ["Élodie"]
    assert found("ÉLODIE") == ["Élodie"]
    assert found("çağ") == ["ÇAĞLAR"]
