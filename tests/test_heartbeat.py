"""The heartbeat route's rules without the app: which address a request comes from (proxies), what a
heartbeat may say, and how often a device may send one."""

from __future__ import annotations

import pytest

from gaze.heartbeat import HeartbeatError, RateLimiter, client_address, parse_heartbeat


def test_client_address_trusts_forwarded_for_only_from_proxies() -> None:
    import ipaddress

    proxies = [ipaddress.ip_network("10.0.0.2/32"), ipaddress.ip_network("172.16.0.0/12")]
    assert client_address("192.168.1.9", "1.2.3.4", proxies) == "192.168.1.9"  # spoof from a device
    assert client_address("10.0.0.2", "192.168.1.50", proxies) == "192.168.1.50"
    assert client_address("10.0.0.2", "6.6.6.6, 192.168.1.50, 172.16.0.9", proxies) == "192.168.1.50"
    assert client_address("::ffff:192.168.1.9", None, proxies) == "192.168.1.9"
    assert client_address("not-an-ip", None, proxies) is None


def test_heartbeat_validation_and_rate() -> None:
    assert parse_heartbeat("cdn_math", "Anna@X.org", None).user == "anna@x.org"
    assert parse_heartbeat("cdn_math", "", "close").event == "close"
    assert parse_heartbeat("cdn_math", None, "PING").user == "Guest"
    for slug, event in ((None, "ping"), ("", "ping"), ("a/b", "ping"), ("m", "explode")):
        with pytest.raises(HeartbeatError):
            parse_heartbeat(slug, None, event)
    limiter = RateLimiter(rate=1.0, burst=3)
    assert [limiter.allow("a", now=0) for _ in range(4)] == [True, True, True, False]
    assert limiter.allow("b", now=0) and limiter.allow("a", now=1.0)
