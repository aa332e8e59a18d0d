"""What the live board shows, computed from the store, catalog and limits (no UI code here)."""

from __future__ import annotations

import bisect
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import Engine

from gaze import history
from gaze.alerts import alert_key
from gaze.limits import Limits
from gaze.logline import GUEST
from gaze.sessions import Key, OpenSession
from gaze.uplink import ago

IDLE_SHOWN_AFTER_S = 60
TODAY_TOP = 8  # modules in the board's "today so far" chart


class ModuleLike(Protocol):
    # read-only: the catalog's Module is a frozen dataclass
    @property
    def slug(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def language(self) -> str: ...


class SessionsLike(Protocol):
    def sessions(self) -> list[OpenSession]: ...


class CatalogLike(Protocol):
    @property
    def modules(self) -> Sequence[ModuleLike]: ...
    def match(self, slug: str) -> ModuleLike | None: ...
    def module_name(self, slug: str) -> str: ...
    def display_name(self, user: str) -> str | None: ...


def format_duration(seconds: float) -> str:
    """`12s`, `4m 05s`, `1h 02m 03s`."""
    total = max(int(seconds), 0)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h {minutes:02d}m {secs:02d}s"
    if minutes:
        return f"{minutes}m {secs:02d}s"
    return f"{secs}s"


def format_age(seconds: float | None) -> str:
    """How long ago, as the whole status strip says it (gaze.uplink.ago), or `never`."""
    return "never" if seconds is None else ago(seconds)


@dataclass(frozen=True, slots=True)
class RowView:
    """One open session as the table shows it (static parts; times are computed per tick)."""

    key: tuple[str, str]
    name: str
    is_guest: bool
    ip: str
    device: str  # the admin's label for the IP with the IP, or the IP
    module: str  # the log slug
    module_name: str
    module_slug: str | None  # the module's id when it differs from the name: a tooltip, not the row
    start_ms: int
    last_ms: int

    def on_module_s(self, now_ms: int) -> float:
        return (now_ms - self.start_ms) / 1000

    def idle_s(self, now_ms: int) -> float:
        return (now_ms - self.last_ms) / 1000


def shown_names(modules: Sequence[ModuleLike]) -> dict[str, str]:
    """slug -> the name pages show for a module: its catalog name; where several modules share a
    name, each says which it is in plain words — its language when theirs differ ("Algebra
    (French)"), else its place among them by id ("Algebra (2 of 2)"). The id itself stays off the
    main screens (a tooltip, the device's day and /api show it)."""
    groups: dict[str, list[ModuleLike]] = {}
    for module in modules:
        groups.setdefault(module.name.casefold(), []).append(module)
    shown = {module.slug: module.name for module in modules}
    for group in (g for g in groups.values() if len(g) > 1):
        languages = [m.language.strip() for m in group]
        if all(languages) and len({lang.casefold() for lang in languages}) == len(group):
            shown.update({m.slug: f"{m.name} ({lang})" for m, lang in zip(group, languages, strict=True)})
        else:
            ordered = sorted(group, key=lambda m: m.slug)
            shown.update({m.slug: f"{m.name} ({n} of {len(group)})" for n, m in enumerate(ordered, 1)})
    return shown


class _ShownNames:
    """`shown_names` of the catalog's modules, computed again only when the catalog reloaded (a
    reload makes a new list of modules)."""

    def __init__(self) -> None:
        self._for: Sequence[ModuleLike] | None = None
        self._names: dict[str, str] = {}

    def __call__(self, modules: Sequence[ModuleLike]) -> dict[str, str]:
        if modules is not self._for:
            self._names, self._for = shown_names(modules), modules
        return self._names


_shown = _ShownNames()


def module_label(catalog: CatalogLike | None, slug: str) -> tuple[str, str | None]:
    """(name to show, the module's id when it differs: for a tooltip or the device's day)."""
    module = catalog.match(slug) if catalog is not None else None
    if catalog is None or module is None:
        return slug, None
    name = _shown(catalog.modules).get(module.slug, module.name)
    return name, (None if name == slug else slug)


def module_title(module: ModuleLike) -> str:
    """How a select names a catalog module: `Name (slug)`, or the slug alone when that is its name."""
    return module.name if module.name == module.slug else f"{module.name} ({module.slug})"


def device_text(ip: str, labels: Callable[[str], str | None] | None) -> str:
    """`Tablet 07 · 192.168.1.20` when the admin named the device, else the IP."""
    label = labels(ip) if labels is not None else None
    return f"{label} · {ip}" if label else ip


def learner_name(catalog: CatalogLike | None, user: str) -> str:
    """The catalog's name for a signed-in learner, else the user name from the log."""
    return (catalog.display_name(user) if catalog is not None else None) or user


@dataclass(frozen=True, slots=True)
class Names:
    """How a page names what it shows: modules and learners from the catalog, devices from the
    admin's labels. Both are looked up on each call, so a reloaded catalog or a new label shows."""

    catalog: CatalogLike | None
    labels: Callable[[str], str | None] | None = None

    def module(self, slug: str) -> str:
        """The module's name (its slug when the catalog does not know it)."""
        return module_label(self.catalog, slug)[0]

    def learner(self, user: str) -> str:
        return learner_name(self.catalog, user)

    def label(self, ip: str) -> str | None:
        """The admin's name for the device, if any."""
        return self.labels(ip) if self.labels is not None else None

    def device(self, ip: str) -> str:
        return device_text(ip, self.labels)


def row_view(
    session: OpenSession, catalog: CatalogLike | None, labels: Callable[[str], str | None] | None = None
) -> RowView:
    is_guest = session.user == GUEST
    name = GUEST if is_guest else learner_name(catalog, session.user)
    module_name, slug = module_label(catalog, session.module)
    return RowView(
        session.key,
        name,
        is_guest,
        session.ip,
        device_text(session.ip, labels),
        session.module,
        module_name,
        slug,
        session.start_ms,
        session.last_ms,
    )


class LiveOrder:
    """Open sessions ordered longest on module first — kept once per process for every dashboard.

    Fed with the store's change batches (`SessionStore.drain_changes`); holds copies, so readers
    see a consistent state between batches.
    """

    def __init__(self) -> None:
        self._sessions: dict[Key, OpenSession] = {}
        self._order: list[tuple[int, Key]] = []  # (start_ms, key); ascending start = longest first

    def __len__(self) -> int:
        return len(self._order)

    def get(self, key: Key) -> OpenSession | None:
        return self._sessions.get(key)

    def top(self, n: int) -> list[OpenSession]:
        return [self._sessions[key] for _, key in self._order[:n]]

    def apply(self, changes: dict[Key, OpenSession | None]) -> None:
        for key, session in changes.items():
            old = self._sessions.get(key)
            if session is None:
                if old is not None:
                    self._drop(old)
            elif old is not None and (old.start_ms, old.module) == (session.start_ms, session.module):
                old.last_ms = session.last_ms
            else:
                if old is not None:
                    self._drop(old)
                copy = OpenSession(session.ip, session.user, session.module, session.start_ms, session.last_ms)
                self._sessions[key] = copy
                bisect.insort(self._order, (copy.start_ms, key))

    def _drop(self, session: OpenSession) -> None:
        index = bisect.bisect_left(self._order, (session.start_ms, session.key))
        if index < len(self._order) and self._order[index] == (session.start_ms, session.key):
            del self._order[index]
        del self._sessions[session.key]


@dataclass(frozen=True, slots=True)
class Stats:
    live_users: int
    active_modules: int
    active_limits: int
    over_limit: int
    over_acknowledged: int  # of those over the limit: the ones an admin has acknowledged already


def stats(store: SessionsLike, limits: Limits, now_ms: int) -> Stats:
    sessions = store.sessions()
    over = [s for s in sessions if limits.over_limit(s, now_ms)]
    seen = limits.acknowledged_sessions
    return Stats(
        live_users=len(sessions),
        active_modules=len({s.module for s in sessions}),
        active_limits=len(limits.limits),
        over_limit=len(over),
        over_acknowledged=sum(1 for s in over if alert_key(s) in seen),
    )


def over_note(stats: Stats) -> str:
    """What "Over limit now" adds under its count, so that it reads right next to the alert banner
    (which lists only the learners no one has marked seen yet)."""
    if not stats.over_acknowledged:
        return ""
    if stats.over_acknowledged == stats.over_limit:
        return "all seen"
    return f"{stats.over_acknowledged} seen"


TodayPoint = tuple[str, float, float]  # module slug, minutes of ended sessions, minutes of open ones so far


def today_so_far(engine: Engine, sessions: list[OpenSession], now_ms: int) -> list[TodayPoint]:
    """Minutes per module today, in two parts: ended sessions exactly as /history's "Today" counts
    them (the roll-ups, by end time), and the open sessions' time since midnight so far."""
    rng = history.today()
    ended: dict[str, float] = dict(history.minutes_by_module(engine, rng, top=1000))
    running: dict[str, float] = {}
    for session in sessions:
        start = max(session.start_ms, rng.start_ms)
        if now_ms > start:
            running[session.module] = running.get(session.module, 0.0) + (now_ms - start) / 60_000
    points = [(m, ended.get(m, 0.0), running.get(m, 0.0)) for m in set(ended) | set(running)]
    return sorted(points, key=lambda p: (-(p[1] + p[2]), p[0]))[:TODAY_TOP]
