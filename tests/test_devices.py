"""gaze.devices on real SQLite files and the real PostgreSQL server: device labels (checked, unique,
not an address, safe from many threads) and the devices seen recently."""

from __future__ import annotations

import threading
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, text

from gaze.db import IMPORT
from gaze.devices import DeviceLabels, LabelError, recent_devices
from tests.test_history import IPS, at, insert, rec


def test_device_labels(engine: Engine) -> None:
    labels = DeviceLabels(engine, clock=lambda: 1234)
    labels.load()
    v0 = labels.version
    assert labels.set(" 192.168.1.10 ", "  Front desk  ") == "Front desk"
    assert labels.label("192.168.1.10") == "Front desk" and labels.version == v0 + 1
    assert labels.set("::FFFF:192.168.1.11", "Back row") == "Back row"  # stored as the records store it
    assert labels.set("FE80:0:0:0:0:0:0:1", "Tablet ü") == "Tablet ü"
    assert labels.label("fe80::1") == "Tablet ü" and labels.label("FE80::1") == "Tablet ü"
    assert labels.label("not an ip") is None
    assert labels.set("192.168.1.11", "x" * 40) == "x" * 40
    for ip, label in [
        ("192.168.1.300", "x"),
        ("host.local", "x"),
        ("", "x"),
        ("10.0.0.1", "x" * 41),
        ("10.0.0.1", "a\tb"),
    ]:
        with pytest.raises(LabelError):
            labels.set(ip, label)
    version = labels.version
    assert labels.set("192.168.1.10", "Front desk") == "Front desk" and labels.version == version  # unchanged
    assert labels.set("192.168.1.10", "   ") is None  # empty removes
    assert labels.label("192.168.1.10") is None and labels.version == version + 1
    assert labels.remove("10.0.0.99") is False
    assert labels.remove("fe80::1") is True
    snapshot = labels.all()
    snapshot["1.2.3.4"] = "not stored"
    again = DeviceLabels(engine)
    again.load()
    assert again.all() == labels.all() == {"192.168.1.11": "x" * 40}
    with engine.connect() as conn:
        assert conn.execute(text("SELECT updated_ms FROM device_label")).scalar_one() == 1234


def test_a_device_name_is_unique_and_not_an_address(engine: Engine) -> None:
    labels = DeviceLabels(engine)
    labels.load()
    assert labels.set("192.168.1.114", "Tablet 09") == "Tablet 09"
    version = labels.version
    for label, message in [
        ("Tablet 09", "192.168.1.114 is already called 'Tablet 09'"),
        ("  tablet 09 ", "192.168.1.114 is already called 'Tablet 09'"),  # case and spaces do not count
        ("TABLET 09", "192.168.1.114 is already called 'Tablet 09'"),
        ("192.168.1.114", "a name cannot be an IP address (192.168.1.114 is another device, named 'Tablet 09')"),
        ("::ffff:192.168.1.200", "a name cannot be an IP address (192.168.1.200 is another device)"),
        ("192.168.1.139", "a name cannot be an IP address (192.168.1.139 is this device's own address)"),
    ]:
        with pytest.raises(LabelError) as refused:
            labels.set("192.168.1.139", label)
        assert str(refused.value).startswith(message), label
    assert labels.all() == {"192.168.1.114": "Tablet 09"} and labels.version == version  # nothing saved
    assert labels.set("192.168.1.114", "tablet 09") == "tablet 09"  # its own name, in another case
    assert labels.set("192.168.1.139", "Tablet 09 b") == "Tablet 09 b"
    with pytest.raises(LabelError):
        labels.set("192.168.1.139", "Tablet 09")
    fresh = DeviceLabels(engine)
    fresh.load()
    assert fresh.all() == {"192.168.1.114": "tablet 09", "192.168.1.139": "Tablet 09 b"}


def test_device_labels_from_many_threads(engine: Engine) -> None:
    labels = DeviceLabels(engine)
    labels.load()
    start = labels.version
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            for i in range(10):
                labels.set(f"10.0.{n}.{i}", f"device {n}-{i}")
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len(labels.all()) == 60 and labels.version == start + 60
    fresh = DeviceLabels(engine)
    fresh.load()
    assert fresh.all() == labels.all()


def test_recent_devices(engine: Engine, london: ZoneInfo) -> None:
    since = at(london, 2026, 3, 29, 12)  # the day of the spring change, midday
    records = [
        rec(at(london, 2026, 3, 20, 9), 60, IPS[0]),  # before: not listed
        rec(at(london, 2026, 3, 29, 11), 60, IPS[1]),  # same day, before `since`: not listed
        rec(at(london, 2026, 3, 29, 13), 60, IPS[2]),
        rec(at(london, 2026, 3, 30, 8), 60, IPS[2]),  # IPS[2]'s latest
        rec(at(london, 2026, 3, 29, 12), 60, IPS[3]),  # exactly at `since`
        rec(at(london, 2026, 4, 2, 9), 60, IPS[3], "ama"),
        rec(at(london, 2026, 4, 2, 9, 30), 60, IPS[3]),  # IPS[3]'s latest
    ]
    insert(engine, records, IMPORT)
    assert recent_devices(engine, since) == [
        (IPS[3], at(london, 2026, 4, 2, 9, 30)),
        (IPS[2], at(london, 2026, 3, 30, 8)),
    ]
    assert recent_devices(engine, at(london, 2026, 5, 1)) == []
