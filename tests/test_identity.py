"""Who an access line names (DESIGN §2 step 6): the sources in their order, the header ranks, and the
normalisation of a user value (the vendored conformance cases: tests/test_logline.py)."""

from __future__ import annotations

import pytest

from gaze.identity import GUEST, normalize_user, user_of
from gaze.logline import parse


def test_header_rank_follows_design_order() -> None:
    line = 'info: 10.0.0.1 - "GET /modules/m/index.html HTTP/1.1" 200 x-user=late x-remote-user=first'
    hit = parse(line)
    assert hit is not None and hit.user == "first"


@pytest.mark.parametrize(
    ("value", "user"),
    [
        ("Anna@Example.ORG", "anna@example.org"),  # an e-mail address is compared in lower case
        ("Kofi", "Kofi"),  # a plain name keeps its case
        ('"kofi"', "kofi"),  # quotes go
        ("kofi;,", "kofi"),  # so do trailing separators
        ("mailto: Ama@X.org", "ama@x.org"),
        ("anonymous", GUEST),
        ("GUEST", GUEST),
        ("a\tb", "a b"),  # a control character is one space (DESIGN §4)
        (42, "42"),
    ],
)
def test_normalize_user(value: object, user: str) -> None:
    assert normalize_user(value) == user


@pytest.mark.parametrize("value", [None, True, "", "  ", "-", "\t\n", {"id": "x"}, ["x"]])
def test_normalize_user_finds_nobody(value: object) -> None:
    assert normalize_user(value) is None


def test_the_first_source_that_names_someone_wins() -> None:
    json_trailer = ' {"user": "json-user"}'
    assert user_of(" user=morgan-user -", json_trailer, "user=query-user") == "json-user"
    assert user_of(" user=morgan-user -", "", "user=query-user") == "morgan-user"
    assert user_of(" - -", " x-remote-user=header-user", "user=query-user") == "header-user"
    assert user_of(" - -", "", "user=query-user") == "query-user"
    assert user_of(" - apache-user [", "", "") == "apache-user"


def test_nobody_named_is_the_guest() -> None:
    assert user_of(" - - [", "", "") == GUEST
    assert user_of(" user=- -", ' {"timestamp": 1}', "page=2") == GUEST
    assert user_of(" user=morgan%40X.org -", "", "") == "morgan@x.org"  # morgan's token is URL-decoded
