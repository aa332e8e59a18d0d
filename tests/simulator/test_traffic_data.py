"""gaze.simulator.traffic_data: the synthetic classroom's material is usable as real oc4d data —
each demo module's pages lead back to it, the learners' addresses are distinct, the noise gives no
module hit."""

from __future__ import annotations

from gaze.logline import module_from_path, parse
from gaze.simulator.lines import module_urls
from gaze.simulator.traffic_data import DEFAULT_USERS, DEMO_CATALOG, GARBAGE, NEXT_NOISE, SUBPAGES


def test_every_demo_module_page_leads_back_to_its_module() -> None:
    for index, entry in enumerate(DEMO_CATALOG):
        urls = module_urls(index, entry)
        for page in (urls.entry, *(urls.root + sub for sub in SUBPAGES)):
            assert module_from_path(page) == entry["slug"], page


def test_learners_are_distinct_whatever_the_case() -> None:
    assert len({u.casefold() for u in DEFAULT_USERS}) == len(DEFAULT_USERS)
    assert all("@" in u and u == u.strip() for u in DEFAULT_USERS)


def test_noise_and_garbage_give_no_module_hit() -> None:
    for target in NEXT_NOISE:
        assert module_from_path(target) is None, target
        assert parse(f'info: ::ffff:192.168.4.9 - [2026-05-04T14:30:40.000Z] "GET {target} HTTP/1.1" 200') is None
    for line in GARBAGE:
        assert parse(line) is None, line
