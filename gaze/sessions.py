"""Turn module hits into sessions — DESIGN §3 (event time, deterministic).

`SessionStore` is the single source of truth for open sessions. It is plain Python (no I/O, no UI):
the live reader, backfill and tests drive it the same way, and the UI observes it through
`version`, `drain_changes()` and `subscribe()`.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

from gaze.logline import GUEST, MAX_CLOCK_SKEW_MS, Hit

Key = tuple[str, str]  # (ip, user)

# Why a session ended (kept with the record; not part of the log line format).
IDLE, SWITCH, SIGN_IN, END_OF_INPUT, CAPACITY, CLOSED, CLOCK_SET_BACK = (
    "idle",
    "switch",
    "sign-in",
    "end",
    "capacity",
    "closed",
    "clock",
)


@dataclass(slots=True)
class OpenSession:
    ip: str
    user: str
    module: str
    start_ms: int
    last_ms: int

    @property
    def key(self) -> Key:
        return (self.ip, self.user)


class SessionRecord(NamedTuple):  # a tuple: a dense day closes one every ~9 lines, so it must be cheap
    ip: str
    user: str
    module: str
    start_ms: int
    end_ms: int
    reason: str

    @property
    def duration_s(self) -> int:
        return (self.end_ms - self.start_ms) // 1000


# a record from its fields as one tuple: tuple.__new__ itself, without SessionRecord()'s Python-level __new__
_new_record: Callable[[type[SessionRecord], tuple[str, str, str, int, int, str]], SessionRecord] = tuple.__new__


Listener = Callable[[list[SessionRecord]], None]
_FAR_PAST = -(1 << 62)  # ms: before any hit
_encode = json.JSONEncoder(separators=(",", ":")).encode  # compact, as the checkpoint is saved


class SessionStore:
    """Open sessions keyed by (ip, user), ordered by last request (oldest first)."""

    def __init__(self, idle_timeout_s: int = 300, max_sessions: int = 20_000, *, track_changes: bool = False):
        self.idle_ms = idle_timeout_s * 1000
        self.max_sessions = max_sessions
        self._clock: int | None = None  # latest hit time processed (clock_ms)
        # no open session's last request is earlier than this: nothing can idle out before it + idle_ms,
        # so most hits need not look at the oldest session (kept by feed; _FAR_PAST = look now)
        self._idle_floor = _FAR_PAST
        self.dropped = 0  # sessions closed early because the store was full
        self.version = 0  # bumped on every change; cheap "did anything happen" check for observers
        self._open: OrderedDict[Key, OpenSession] = OrderedDict()
        self._by_ip: dict[str, set[str]] = {}
        self._track = track_changes
        self._changes: dict[Key, OpenSession | None] = {}
        self._listeners: list[Listener] = []
        # the checkpoint's open sessions, encoded one by one (open_json); None until first asked,
        # then `_dirty` holds the keys changed since the last encoding
        self._encoded: dict[Key, str] = {}
        self._dirty: set[Key] | None = None

    # ------------------------------------------------------------------ observing

    @property
    def clock_ms(self) -> int | None:
        """The latest hit time processed (None before the first)."""
        return self._clock

    @clock_ms.setter
    def clock_ms(self, value: int | None) -> None:  # a takeover, a loaded state: feed looks again
        self._clock = value
        self._idle_floor = _FAR_PAST

    def __len__(self) -> int:
        return len(self._open)

    def sessions(self) -> list[OpenSession]:
        return list(self._open.values())

    def get(self, ip: str, user: str) -> OpenSession | None:
        return self._open.get((ip, user))

    def subscribe(self, listener: Listener) -> None:
        """`listener(records)` is called with every batch of sessions that closed (and recorded)."""
        self._listeners.append(listener)

    def drain_changes(self) -> dict[Key, OpenSession | None]:
        """Sessions opened/updated (value) or closed (None) since the last call; needs track_changes."""
        changes, self._changes = self._changes, {}
        return changes

    # ------------------------------------------------------------------ feeding

    def feed(self, hit: Hit, journal_ms: int | None) -> list[SessionRecord]:
        """Apply one hit seen at `journal_ms` (the journal entry's time, None when there is none);
        returns the sessions it closed (zero-second ones are not returned)."""
        kind, ip, user, module, t = hit  # one unpacking: the fields are read on the hot path
        if t is None or (journal_ms is not None and not -MAX_CLOCK_SKEW_MS <= t - journal_ms <= MAX_CLOCK_SKEW_MS):
            t = hit.at(journal_ms)  # inline above for the usual case: a believable bracketed time
        closed: list[SessionRecord] = []
        clock = self._clock
        if clock is not None and t < clock:
            if clock - t > MAX_CLOCK_SKEW_MS:  # the clock was set back: start again from this hit
                for session in list(self._open.values()):
                    self._close(session, session.last_ms, CLOCK_SET_BACK, closed)
                self._idle_floor = _FAR_PAST
            else:  # never earlier than the latest hit already processed
                t = clock
        self._clock = t
        opened = self._open
        cutoff = t - self.idle_ms
        if self._idle_floor <= cutoff:  # the oldest session may have idled out: look at it
            if opened and next(iter(opened.values())).last_ms <= cutoff:
                self._expire(cutoff, closed)
            # later hits are at t or after (the clock only moves on), so whatever they touch is not older
            self._idle_floor = min(next(iter(opened.values())).last_ms, t) if opened else t
        key = (ip, user)
        current = opened.get(key)
        if current is not None and current.module == module:
            if kind == "entry" and user != GUEST:
                self._sign_in(hit, t, closed)
            current.last_ms = t  # the common case: a request on the module already open
            opened.move_to_end(key)
            self.version += 1  # self._changed(key, current), inline on the hot path
            if self._track:
                self._changes[key] = current
            if self._dirty is not None:
                self._dirty.add(key)
        elif kind == "entry" or not self._asset_is_noise(hit, current):
            self._open_session(hit, t, current, closed)
        return self._emit(closed) if closed else closed

    def ping(self, ip: str, user: str, module: str, now_ms: int) -> list[SessionRecord]:
        """A liveness ping from a module page: the same rules as an asset hit."""
        return self.feed(Hit("asset", ip, user, module, now_ms), now_ms)

    def close(self, ip: str, user: str, module: str | None, at_ms: int) -> list[SessionRecord]:
        """End one session now (explicit close); `module` must match when given."""
        current = self._open.get((ip, user))
        closed: list[SessionRecord] = []
        if current is not None and (module is None or current.module == module):
            self._close(current, max(at_ms, current.last_ms), CLOSED, closed)
        return self._emit(closed)

    def expire(self, now_ms: int) -> list[SessionRecord]:
        """Close every session idle since `now_ms - idle_timeout` (live mode's wall-clock expiry)."""
        closed: list[SessionRecord] = []
        self._expire(now_ms - self.idle_ms, closed)
        return self._emit(closed)

    def close_all(self) -> list[SessionRecord]:
        """End of input (backfill): close every open session at its last request."""
        closed: list[SessionRecord] = []
        for session in list(self._open.values()):
            self._close(session, session.last_ms, END_OF_INPUT, closed)
        return self._emit(closed)

    # ------------------------------------------------------------------ checkpoint state

    def to_state(self) -> dict[str, Any]:
        """The whole state, rebuilt (load_state's input); the recorder saves the same as
        `state_fields()` with `open_json()` for "open"."""
        open_rows = [[s.ip, s.user, s.module, s.start_ms, s.last_ms] for s in self._open.values()]
        return {**self.state_fields(), "open": open_rows}

    def state_fields(self) -> dict[str, Any]:
        """The state without the open sessions."""
        return {"clock": self.clock_ms, "dropped": self.dropped}

    def open_json(self) -> str:
        """`to_state()["open"]` as compact JSON text, re-encoding only the sessions opened, updated or
        closed since the last call (the recorder saves the open sessions with every batch)."""
        opened, encoded, dirty = self._open, self._encoded, self._dirty
        if dirty is None:
            dirty = set(opened)
        for key in dirty:
            session = opened.get(key)
            if session is None:
                encoded.pop(key, None)
            else:
                row = [session.ip, session.user, session.module, session.start_ms, session.last_ms]
                encoded[key] = _encode(row)
        self._dirty = set()
        return "[" + ",".join([encoded[key] for key in opened]) + "]"

    def load_state(self, state: dict[str, Any]) -> None:
        self._open.clear()
        self._by_ip.clear()
        self._encoded.clear()
        self._dirty = None
        self.clock_ms = state.get("clock")
        self.dropped = int(state.get("dropped", 0))
        for ip, user, module, start_ms, last_ms in state.get("open", []):
            session = OpenSession(ip, user, module, int(start_ms), int(last_ms))
            self._open[session.key] = session
            self._by_ip.setdefault(ip, set()).add(user)
            self._changed(session.key, session)

    # ------------------------------------------------------------------ rules

    def _asset_is_noise(self, hit: Hit, current: OpenSession | None) -> bool:
        if hit.user == GUEST and self._by_ip.get(hit.ip):
            return True  # a Guest heartbeat beside a live session at that address
        return current is not None  # portal thumbnail fan-out: the user is on another module

    def _open_session(self, hit: Hit, t: int, current: OpenSession | None, closed: list[SessionRecord]) -> None:
        _, ip, user, module, _ = hit
        if user != GUEST:
            self._sign_in(hit, t, closed)
        if current is not None:
            self._close(current, t, SWITCH, closed)
        opened = self._open
        while len(opened) >= self.max_sessions:
            oldest = next(iter(opened.values()))
            self.dropped += 1
            self._close(oldest, oldest.last_ms, CAPACITY, closed)
        key = (ip, user)
        session = opened[key] = OpenSession(ip, user, module, t, t)
        users = self._by_ip.get(ip)
        if users is None:
            self._by_ip[ip] = {user}
        else:
            users.add(user)
        self._changed(key, session)

    def _sign_in(self, hit: Hit, t: int, closed: list[SessionRecord]) -> None:
        """A signed-in hit retires the Guest session at the same address, at t."""
        if hit.user != GUEST:
            guest = self._open.get((hit.ip, GUEST))
            if guest is not None:
                self._close(guest, t, SIGN_IN, closed)

    def _expire(self, cutoff_ms: int, closed: list[SessionRecord]) -> None:
        while self._open:
            oldest = next(iter(self._open.values()))
            if oldest.last_ms > cutoff_ms:
                break
            self._close(oldest, oldest.last_ms, IDLE, closed)

    def _close(self, session: OpenSession, end_ms: int, reason: str, closed: list[SessionRecord]) -> None:
        ip, user, start = session.ip, session.user, session.start_ms
        key = (ip, user)
        del self._open[key]
        users = self._by_ip[ip]
        users.discard(user)
        if not users:
            del self._by_ip[ip]
        self._changed(key, None)
        if end_ms - start >= 1000:
            closed.append(_new_record(SessionRecord, (ip, user, session.module, start, end_ms, reason)))

    def _changed(self, key: Key, session: OpenSession | None) -> None:
        self.version += 1
        if self._track:
            self._changes[key] = session
        if self._dirty is not None:
            self._dirty.add(key)

    def _emit(self, closed: list[SessionRecord]) -> list[SessionRecord]:
        if closed:
            for listener in self._listeners:
                listener(closed)
        return closed
