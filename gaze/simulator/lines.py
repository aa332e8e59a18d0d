"""The simulated classroom's parts and the oc4d access line each request makes (DESIGN.md section 2).

- classic: ``info: ::ffff:IP - [ISO] "GET /path HTTP/1.1" 200`` (+ ``{"email":"…"}`` once signed in)
- morgan:  ``info: IP user=<u> - [ISO] "GET /path HTTP/1.1" 200 1234 "-" "Mozilla/5.0 …"``
  (``user=anonymous`` as a Guest, ``user=<email>`` - sometimes percent-encoded - once signed in,
  sometimes a trailing ``{"timestamp":"…"}`` object)

Every draw comes from the caller's ``random.Random``, in the order `Classroom` has always made them.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from urllib.parse import quote

from gaze.simulator.traffic_data import USER_AGENTS, CatalogEntry


@dataclass(frozen=True, slots=True)
class Line:
    """One journal entry of oc4d.service."""

    time_ms: int  # epoch ms (UTC) the request happened
    message: str  # the journal MESSAGE


# 2026-05-04T07:30:00Z, a Monday morning: the default start of a simulated school day.
DEFAULT_START_MS = 1_777_879_800_000


@dataclass(slots=True)
class ModuleUrls:
    slug: str
    root: str  # URL prefix ending in '/', already percent-encoded
    entry: str
    thumb: str


@dataclass(slots=True)
class Device:
    ip: str
    morgan: bool
    ts_json: bool
    ua: str
    wants_signin: bool
    email: str | None = None
    user_token: str = "anonymous"
    module: int = -1
    dwell_end: int = 0


def module_urls(index: int, entry: CatalogEntry) -> ModuleUrls:
    slug = entry["slug"]
    build = entry.get("build") or ""
    enc = quote(slug, safe="")
    if (slug.startswith("cdn_") and index % 3 != 2) or not build:
        root = f"/modules/{enc}/content/"  # classic CDN layout
        thumb = f"/modules/{enc}/thumbnail.png"
    elif index % 4 == 1:
        root = f"/modules/{build}/{enc}/"
        thumb = f"{root}thumbnail.jpg"
    else:
        root = f"/uploads/modules/{build}/{enc}/"
        thumb = f"{root}thumbnail.png"
    return ModuleUrls(slug=slug, root=root, entry=f"{root}index.html", thumb=thumb)


def make_devices(rng: random.Random, devices: int) -> list[Device]:
    """`devices` phones and tablets on distinct 192.168.x.y addresses, each with its line shape."""
    out: list[Device] = []
    ips: set[str] = set()
    ip_list: list[str] = []
    subnets = [4, 1, 8, 10, 20]
    while len(ip_list) < devices:
        third = rng.choice(subnets) if len(ips) < 1000 else rng.randrange(256)
        ip = f"192.168.{third}.{rng.randrange(2, 255)}"
        if ip not in ips:
            ips.add(ip)
            ip_list.append(ip)
    for ip in ip_list:
        dev = Device(
            ip=ip,
            morgan=rng.random() < 0.5,
            ts_json=rng.random() < 0.3,
            ua=rng.choice(USER_AGENTS),
            wants_signin=rng.random() < 0.45,
        )
        out.append(dev)
    return out


def access_message(
    dev: Device, iso: str, target: str, status: int, method: str, referer: str, rng: random.Random
) -> str:
    """The MESSAGE of one request by `dev` at `iso`, in the device's line shape."""
    if dev.morgan:
        if status in (204, 304):
            size = "-"
        elif status >= 300:
            size = str(rng.randrange(90, 240))
        else:
            size = str(rng.randrange(180, 250_000))
        msg = (
            f'info: {dev.ip} user={dev.user_token} - [{iso}] "{method} {target} HTTP/1.1" '
            f'{status} {size} "{referer}" "{dev.ua}"'
        )
        if dev.ts_json:
            msg += f' {{"timestamp":"{iso}"}}'
    else:
        msg = f'info: ::ffff:{dev.ip} - [{iso}] "{method} {target} HTTP/1.1" {status}'
        if dev.email is not None:
            msg += f' {{"email":"{dev.email}"}}'
    return msg
