"""Seeded synthetic oc4d traffic: the journal MESSAGEs a classroom of devices would produce.

Used by the benchmark (``Classroom(seed).day(80_000)``) and by the live demo mode
(``Classroom(seed, start_ms=now).lines_until(now)`` called periodically).

Everything is written in the real oc4d line shapes (gaze/simulator/lines.py, DESIGN.md section 2).

Simulated behaviour: devices open a module's entry page, fetch its assets every few seconds
(304s, percent-encoded file names, sub-page ``index.html``), go back to the portal (a burst of
thumbnail hits on many other modules within one second), switch modules, go idle for more than
300 s, leave and come back, and sign in (Guest first). Noise: Next.js/API requests, 404s, HEAD
requests, non-access lines (``info: Server listening on port 80``), loopback health checks and
rare garbage (including winston colour escapes).

The bracketed timestamp of an access line is the ISO UTC form (milliseconds, ``Z``) of
``Line.time_ms``; lines are produced in non-decreasing ``time_ms`` order. The same arguments give
the same output (one ``random.Random(seed)``, no wall clock, no hash-order dependence).
"""

from __future__ import annotations

import heapq
import random
import time
from collections.abc import Iterator, Sequence
from urllib.parse import quote

from gaze.simulator.lines import DEFAULT_START_MS, Device, Line, ModuleUrls, access_message, make_devices, module_urls
from gaze.simulator.traffic_data import (
    ASSETS,
    DEFAULT_USERS,
    DEMO_CATALOG,
    GARBAGE,
    MISSING,
    NEXT_NOISE,
    SUBPAGES,
    CatalogEntry,
)

# Device actions (_RESUME_ENTRY: reload the current module's entry page, e.g. after signing in).
_ARRIVE, _OPEN, _READ, _RESUME, _RESUME_ENTRY = range(5)
# Heap items: (time_ms, seq, what). What happens then: a message to emit (str), a device's action
# ((device index, action)), or the loopback health check (None).
_Event = str | tuple[int, int] | None
_HEALTH = None
_HOST = "http://oc4d.cdn"  # the Referer of pages opened from the portal


class Classroom:
    """Deterministic simulation of N devices (phones/tablets on 192.168.x.y) browsing modules.

    ``lines_until`` and ``day`` draw from the same simulation: each line is produced once.
    """

    def __init__(
        self,
        seed: int = 0,
        devices: int = 25,
        catalog: Sequence[CatalogEntry] = DEMO_CATALOG,
        start_ms: int = DEFAULT_START_MS,
        users: list[str] | None = None,
        dwell_s: tuple[float, float] = (45, 1200),
        hop: float = 0.0,
    ) -> None:
        """`dwell_s`: how long a learner stays on a module before deciding what next (uniform, seconds);
        `hop`: the chance that they then open another module straight away (a link, no portal).
        Short dwells and hops make a session-dense day, a record every ten entries or so."""
        if devices < 1 or devices > 60_000:
            raise ValueError("devices must be between 1 and 60000")
        if not catalog:
            raise ValueError("catalog must not be empty")
        self._rng = random.Random(seed)
        self._dwell_ms = (dwell_s[0] * 1000, dwell_s[1] * 1000)
        self._hop = hop
        self._modules = [module_urls(i, m) for i, m in enumerate(catalog)]
        self._users = list(users) if users else list(DEFAULT_USERS)
        self._heap: list[tuple[int, int, _Event]] = []
        self._seq = 0
        self._iso_sec = -1
        self._iso_prefix = ""
        self._devices = make_devices(self._rng, devices)
        rng = self._rng
        # Start-up lines, then devices arrive over the first minutes of the lesson.
        self._push(start_ms, "info: Server listening on port 80")
        self._push(start_ms + 40, "info: Database connection established")
        for i in range(devices):
            self._push(start_ms + 500 + int(rng.uniform(0, 480_000)), (i, _ARRIVE))
        self._push(start_ms + 5_000, _HEALTH)

    # ------------------------------------------------------------------ public API

    def lines_until(self, until_ms: int) -> list[Line]:
        """All lines with ``time_ms <= until_ms`` not produced yet, in time order."""
        out: list[Line] = []
        heap = self._heap
        while heap[0][0] <= until_ms:
            line = self._step()
            if line is not None:
                out.append(line)
        return out

    def day(self, entries: int) -> Iterator[Line]:
        """Keep simulating (from where the classroom is) and yield exactly ``entries`` lines."""
        produced = 0
        while produced < entries:
            line = self._step()
            if line is not None:
                produced += 1
                yield line

    # ------------------------------------------------------------------ machinery

    def _push(self, t: int, event: _Event) -> None:
        self._seq += 1
        heapq.heappush(self._heap, (t, self._seq, event))

    def _step(self) -> Line | None:
        t, _seq, event = heapq.heappop(self._heap)
        if isinstance(event, str):
            return Line(t, event)
        if event is not None:
            index, action = event
            self._act(index, action, t)
        else:
            self._health(t)
        return None

    def _iso(self, ms: int) -> str:
        sec, milli = divmod(ms, 1000)
        if sec != self._iso_sec:
            self._iso_sec = sec
            self._iso_prefix = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(sec))
        return f"{self._iso_prefix}.{milli:03d}Z"

    def _access(
        self, dev: Device, t: int, target: str, status: int = 200, *, method: str = "GET", referer: str = "-"
    ) -> None:
        self._push(t, access_message(dev, self._iso(t), target, status, method, referer, self._rng))

    def _asset_target(self, mod: ModuleUrls) -> str:
        return mod.root + quote(self._rng.choice(ASSETS))

    def _status(self) -> int:
        return 304 if self._rng.random() < 0.25 else 200

    # ------------------------------------------------------------------ behaviour

    def _act(self, index: int, action: int, t: int) -> None:
        dev = self._devices[index]
        rng = self._rng
        if action == _ARRIVE:
            dev.module = -1
            if rng.random() < 0.35:
                t = self._portal(dev, t, fan_out=True)
                self._push(t + rng.randrange(3_000, 25_000), (index, _OPEN))
            else:  # bookmark / direct link
                self._push(t, (index, _OPEN))
        elif action == _OPEN:
            self._open(dev, t, self._pick_module(dev))
            self._push(t + self._gap(), (index, _READ))
        elif action in (_RESUME, _RESUME_ENTRY):
            mod = self._modules[dev.module]
            if action == _RESUME and rng.random() < 0.6:
                self._access(dev, t, self._asset_target(mod), self._status(), referer=_HOST + mod.entry)
            else:
                self._access(dev, t, mod.entry, self._status())
            dev.dwell_end = t + self._dwell()
            self._push(t + self._gap(), (index, _READ))
        elif t < dev.dwell_end:
            self._read(dev, t)
            self._push(t + self._gap(), (index, _READ))
        else:
            self._decide(index, dev, t)

    def _gap(self) -> int:
        # "every few seconds", with an occasional longer pause while reading.
        if self._rng.random() < 0.08:
            return self._rng.randrange(20_000, 90_000)
        return self._rng.randrange(1_500, 12_000)

    def _dwell(self) -> int:
        return int(self._rng.uniform(*self._dwell_ms))

    def _pick_module(self, dev: Device) -> int:
        n = len(self._modules)
        if n == 1:
            return 0
        # A few favourites get most of the traffic.
        choice = min(int(self._rng.expovariate(0.25)), n - 1)
        if choice == dev.module:
            choice = (choice + 1 + self._rng.randrange(n - 1)) % n
        return choice

    def _portal(self, dev: Device, t: int, *, fan_out: bool) -> int:
        """The Next.js portal page, optionally followed by the thumbnail fan-out; returns end time."""
        rng = self._rng
        self._access(dev, t, "/", 200)
        t += rng.randrange(20, 120)
        for target in rng.sample(NEXT_NOISE[:5], 2):
            self._access(dev, t, target, self._status(), referer=_HOST + "/")
            t += rng.randrange(5, 60)
        self._access(dev, t, "/api/modules", 200, referer=_HOST + "/")
        if not fan_out:
            return t
        t += rng.randrange(30, 150)
        count = min(len(self._modules), rng.randrange(6, 15))
        end = t + rng.randrange(300, 950)
        span = end - t
        picks = rng.sample(range(len(self._modules)), count)
        for k, mi in enumerate(picks):
            at = t + span * k // count
            mod = self._modules[mi]
            target = mod.thumb
            if rng.random() < 0.2:  # optimised through next/image: no module in the path
                target = f"/_next/image?url={quote(mod.thumb, safe='')}&w=256&q=75"
            self._access(dev, at, target, self._status(), referer=_HOST + "/")
        return end

    def _open(self, dev: Device, t: int, module: int) -> None:
        rng = self._rng
        dev.module = module
        dev.dwell_end = t + self._dwell()
        mod = self._modules[module]
        self._access(dev, t, mod.entry, self._status(), referer=_HOST + "/")
        if rng.random() < 0.03:
            self._access(dev, t + 2, mod.entry, 200, method="HEAD")
        at = t + rng.randrange(30, 120)
        for _ in range(rng.randrange(2, 7)):
            self._access(dev, at, self._asset_target(mod), self._status(), referer=_HOST + mod.entry)
            at += rng.randrange(5, 150)
        if rng.random() < 0.15:
            self._access(dev, at, mod.root + rng.choice(MISSING), 404, referer=_HOST + mod.entry)

    def _read(self, dev: Device, t: int) -> None:
        rng = self._rng
        mod = self._modules[dev.module]
        ref = _HOST + mod.entry
        r = rng.random()
        if r < 0.70:
            self._access(dev, t, self._asset_target(mod), self._status(), referer=ref)
        elif r < 0.80:
            for k in range(rng.randrange(2, 4)):
                self._access(dev, t + k * rng.randrange(10, 120), self._asset_target(mod), self._status(), referer=ref)
        elif r < 0.86:
            sub = mod.root + rng.choice(SUBPAGES)
            self._access(dev, t, sub, self._status(), referer=ref)
            self._access(dev, t + rng.randrange(20, 200), self._asset_target(mod), 200, referer=_HOST + sub)
        elif r < 0.91:
            self._access(dev, t, mod.root + rng.choice(MISSING), 404, referer=ref)
        elif r < 0.94:
            self._access(dev, t, self._asset_target(mod), 200, method="HEAD", referer=ref)
        else:
            self._access(dev, t, rng.choice(NEXT_NOISE), self._status())

    def _decide(self, index: int, dev: Device, t: int) -> None:
        """Dwell time is over: switch module, go idle, sign in or leave."""
        rng = self._rng
        r = rng.random()
        if r < self._hop:  # never with the default hop = 0: the default day stays the same
            self._push(t + rng.randrange(500, 4_000), (index, _OPEN))
        elif dev.wants_signin and dev.email is None and r < 0.35:
            self._sign_in(dev, t)
            # NextAuth's callbackUrl brings the reader straight back to the module.
            self._push(t + rng.randrange(4_000, 20_000), (index, _RESUME_ENTRY))
        elif r < 0.55:
            end = self._portal(dev, t, fan_out=True)
            self._push(end + rng.randrange(2_000, 20_000), (index, _OPEN))
        elif r < 0.78:
            self._push(t + rng.randrange(301_000, 1_800_000), (index, _RESUME))
        else:
            self._push(t + rng.randrange(600_000, 3_600_000), (index, _ARRIVE))

    def _sign_in(self, dev: Device, t: int) -> None:
        rng = self._rng
        self._access(dev, t, "/auth/signin?callbackUrl=%2F", 200)
        self._access(dev, t + rng.randrange(50, 200), "/api/auth/csrf", 200)
        t += rng.randrange(3_000, 15_000)
        self._access(dev, t, "/api/auth/callback/credentials", 302, method="POST")
        email = rng.choice(self._users)
        dev.email = email
        if rng.random() < 0.25:
            dev.user_token = quote(email, safe="")  # user=kofi.asante%40example.org
        else:
            dev.user_token = email
        self._access(dev, t + rng.randrange(20, 150), "/api/auth/session", 200)

    def _health(self, t: int) -> None:
        rng = self._rng
        iso = self._iso(t)
        addr = "::ffff:127.0.0.1" if rng.random() < 0.5 else "127.0.0.1"
        self._push(t, f'info: {addr} - [{iso}] "GET /api/health-check/prisma HTTP/1.1" 200')
        r = rng.random()
        if r < 0.03:  # a warm-up script on the Pi itself
            mod = rng.choice(self._modules)
            self._push(t + 3, f'info: 127.0.0.1 - [{self._iso(t + 3)}] "GET {mod.entry} HTTP/1.1" 200')
        elif r < 0.04:
            self._push(t + 7, rng.choice(GARBAGE))
        elif r < 0.041:
            self._push(t + 9, "info: Server listening on port 80")
        self._push(t + rng.randrange(25_000, 35_000), _HEALTH)
