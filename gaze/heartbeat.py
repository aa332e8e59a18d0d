"""Liveness pings from oc4d module pages (DESIGN §6): validation, client address, rate limit."""

from __future__ import annotations

import ipaddress
import time
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass

from gaze.logline import GUEST, normalize_user, parse_address

EVENTS = ("ping", "close")
MAX_SLUG = 512

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class HeartbeatError(ValueError):
    """A heartbeat request that is not acceptable; str() says why (sent back with 400)."""


@dataclass(frozen=True, slots=True)
class Heartbeat:
    slug: str
    user: str
    event: str


def parse_heartbeat(slug: str | None, user: str | None, event: str | None) -> Heartbeat:
    slug = (slug or "").strip()
    if not slug:
        raise HeartbeatError("slug is required")
    if len(slug) > MAX_SLUG or "/" in slug or any(ord(c) < 32 for c in slug):
        raise HeartbeatError("slug is not a module slug")
    event = (event or "ping").strip().lower()
    if event not in EVENTS:
        raise HeartbeatError("event must be ping or close")
    return Heartbeat(slug, normalize_user((user or "")[:512]) or GUEST, event)


def client_address(peer: str, forwarded_for: str | None, trusted: Sequence[Network]) -> str | None:
    """The client's address: the TCP peer, or — only when the peer is a trusted proxy — the nearest
    untrusted address in X-Forwarded-For (read from the right, as each proxy appends)."""
    address = parse_address(peer)
    if address is None:
        return None
    if forwarded_for and any(address in net for net in trusted):
        for hop in reversed(forwarded_for.split(",")):
            hop_address = parse_address(hop)
            if hop_address is None:
                break
            address = hop_address
            if not any(hop_address in net for net in trusted):
                break
    return str(address)


class RateLimiter:
    """A token bucket per key: `rate` requests a second on average, bursts of `burst`."""

    def __init__(self, rate: float, burst: int, max_keys: int = 10_000) -> None:
        self.rate = rate
        self.burst = burst
        self.max_keys = max_keys
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def allow(self, key: str, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        tokens, stamp = self._buckets.pop(key, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - stamp) * self.rate)
        allowed = tokens >= 1.0
        self._buckets[key] = (tokens - 1.0 if allowed else tokens, now)
        while len(self._buckets) > self.max_keys:
            self._buckets.popitem(last=False)
        return allowed
