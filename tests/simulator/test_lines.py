"""gaze.simulator.lines: the access lines the simulated classroom's devices make, read back by the
real parser (gaze.logline) as the hits they stand for, and the URL layouts of a module's files."""

from __future__ import annotations

import random

import pytest

from gaze.logline import module_from_path, parse
from gaze.simulator.lines import Device, make_devices, module_urls
from gaze.simulator.lines import access_message as message
from gaze.simulator.traffic_data import CatalogEntry

ISO = "2026-05-04T14:30:40.123Z"
T = 1_777_905_040_123
ENTRY: CatalogEntry = {"slug": "cdn_math", "name": "Maths", "description": "", "build": "1763389063089_v6sji3qt1"}


def _device(morgan: bool, **kw: object) -> Device:
    return Device(ip="192.168.4.20", morgan=morgan, ts_json=False, ua="Mozilla/5.0 (Test)", wants_signin=False, **kw)


@pytest.mark.parametrize("morgan", [False, True])
def test_a_guests_line_is_read_back_as_a_guest_hit(morgan: bool) -> None:
    line = message(_device(morgan), ISO, "/modules/cdn_math/content/index.html", 200, "GET", "-", random.Random(1))
    hit = parse(line)
    assert hit is not None
    assert (hit.ip, hit.module, hit.time_ms) == ("192.168.4.20", "cdn_math", T)
    assert hit.user == "Guest"


def test_a_signed_in_learner_is_named_in_either_shape() -> None:
    classic = _device(False, email="ama.owusu@example.org")
    morgan = _device(True, email="ama.owusu@example.org", user_token="ama.owusu%40example.org")
    for dev in (classic, morgan):
        line = message(dev, ISO, "/modules/cdn_math/content/index.html", 200, "GET", "-", random.Random(1))
        hit = parse(line)
        assert hit is not None and hit.user == "ama.owusu@example.org", line


def test_morgan_lines_carry_size_referer_agent_and_sometimes_a_timestamp() -> None:
    dev = _device(True)
    line = message(dev, ISO, "/x", 304, "GET", "http://oc4d/", random.Random(1))
    assert (
        line
        == f'info: 192.168.4.20 user=anonymous - [{ISO}] "GET /x HTTP/1.1" 304 - "http://oc4d/" "Mozilla/5.0 (Test)"'
    )
    dev.ts_json = True
    assert message(dev, ISO, "/x", 200, "GET", "-", random.Random(1)).endswith(f' {{"timestamp":"{ISO}"}}')
    assert message(_device(False), ISO, "/x", 404, "GET", "-", random.Random(1)) == (
        f'info: ::ffff:192.168.4.20 - [{ISO}] "GET /x HTTP/1.1" 404'
    )


@pytest.mark.parametrize(
    ("index", "entry", "root"),
    [
        (0, ENTRY, "/modules/cdn_math/content/"),  # classic CDN layout
        (2, ENTRY, "/uploads/modules/1763389063089_v6sji3qt1/cdn_math/"),  # every third cdn_ module uploaded
        (1, {**ENTRY, "slug": "BookBridge"}, "/modules/1763389063089_v6sji3qt1/BookBridge/"),
        (3, {**ENTRY, "slug": "en wassce"}, "/uploads/modules/1763389063089_v6sji3qt1/en%20wassce/"),
        (3, {**ENTRY, "slug": "no_build", "build": ""}, "/modules/no_build/content/"),
    ],
)
def test_module_urls_layouts_lead_back_to_the_slug(index: int, entry: CatalogEntry, root: str) -> None:
    urls = module_urls(index, entry)
    assert urls.root == root and urls.entry == f"{root}index.html"
    assert module_from_path(urls.entry) == entry["slug"]
    assert module_from_path(urls.thumb) == entry["slug"]


def test_devices_have_distinct_addresses_and_come_from_the_seed() -> None:
    devices = make_devices(random.Random(7), 300)
    assert len({d.ip for d in devices}) == 300
    assert all(d.ip.startswith("192.168.") for d in devices)
    assert {d.morgan for d in devices} == {True, False}  # both line shapes in one classroom
    assert [d.ip for d in make_devices(random.Random(7), 300)] == [d.ip for d in devices]
