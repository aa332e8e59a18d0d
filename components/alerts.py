"""Over-limit alerts: one banner per module, one summary notification, the count in the tab title,
and the last 50 alerts with how each ended and who marked it seen.

One wording for acknowledging, on every screen: a module's banner has "Mark seen" (all of that
module's learners), "Mark all N seen" above the banners when there are several modules; the card,
the notification and the history say "seen"."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from datetime import datetime
from html import escape
from typing import Protocol

from nicegui import ui

from components.actions import Actions, NotAllowed
from components.deferred import Deferred
from components.hub import Hub
from components.messages import tell
from gaze.alerts import Alert
from gaze.board import Names
from gaze.logline import GUEST

NAMES_SHOWN = 3
TITLE = "Module Gaze"


def _when(ms: int | None) -> str:
    return "" if ms is None else datetime.fromtimestamp(ms / 1000).strftime("%H:%M:%S")


class AlertLog(Protocol):
    """The alerts a page shows (gaze.limits.Limits keeps them)."""

    @property
    def pending(self) -> list[Alert]: ...  # neither acknowledged nor ended, newest first
    @property
    def recent(self) -> list[Alert]: ...  # the last 50, newest first
    @property
    def version(self) -> int: ...  # changes whenever `recent` does


def _who(names: Names, alert: Alert) -> str:
    if alert.user == GUEST:
        label = names.label(alert.ip)
        return f"Guest on {label}" if label else f"Guest at {alert.ip}"
    return names.learner(alert.user)


def _describe(names: Names, alert: Alert) -> str:
    return f"{_who(names, alert)} has been on {names.module(alert.module)} for more than {alert.limit_minutes} min"


def group_by_module(module_name: Callable[[str], str], alerts: list[Alert]) -> list[tuple[str, list[Alert]]]:
    """(module name, its alerts) — the module with most alerts first, then by name."""
    groups: dict[str, list[Alert]] = {}
    for alert in alerts:
        groups.setdefault(module_name(alert.module), []).append(alert)
    return sorted(groups.items(), key=lambda item: (-len(item[1]), item[0].lower()))


def group_text(name: str, alerts: list[Alert]) -> str:
    """`Algebra Basics: 7 over 20 min`."""
    minutes = sorted({a.limit_minutes for a in alerts})
    limit = f"{minutes[0]} min" if len(minutes) == 1 else f"{minutes[0]}–{minutes[-1]} min"
    return f"{name}: {len(alerts)} over {limit}"


def summary_text(names: Names, alerts: list[Alert]) -> str:
    if len(alerts) == 1:
        return _describe(names, alerts[0])
    parts = ", ".join(f"{name} ({len(group)})" for name, group in group_by_module(names.module, alerts))
    return f"{len(alerts)} learners went over a time limit: {parts}"


class AlertBanner:
    """Pending alerts (neither acknowledged nor ended), one banner per module, shown to everyone."""

    def __init__(self, actions: Actions, alerts: AlertLog, names: Names, *, controls: bool = True) -> None:
        self.actions = actions
        self.alerts = alerts
        self.names = names
        self.controls = controls and actions.is_admin  # the wall display has none
        hub = actions.hub
        # Built with the first pending alert (issue 21): most first pages have none.
        self.root = Deferred(lambda: ui.column().classes("w-full gap-2").mark("alert-banner"))
        self._shown: list[tuple[str, tuple[int, ...]]] | None = None
        self._draw()
        hub.alerts_changed.subscribe(self._draw)
        hub.alert_raised.subscribe(self._notify)
        hub.labels_changed.subscribe(self._redraw)
        hub.catalog_changed.subscribe(self._redraw)

    def _redraw(self) -> None:
        self._shown = None
        self._draw()

    def _draw(self) -> None:
        pending = self.alerts.pending
        groups = group_by_module(self.names.module, pending)
        shown = [(name, tuple(a.id for a in group)) for name, group in groups]
        if shown == self._shown:
            return
        self._shown = shown
        ui.page_title(f"({len(pending)}) {TITLE}" if pending else TITLE)
        if not pending and self.root.made is None:
            return
        root = self.root.get()
        root.clear()
        with root:
            if len(groups) > 1 and self.controls:
                with ui.row().classes("w-full items-center justify-end"):
                    everything = ui.button(f"Mark all {len(pending)} seen", on_click=lambda: self.acknowledge(pending))
                    everything.props("dense color=red-8 no-caps").mark("alert-ack-everything")
                    everything.props["aria-label"] = f"Mark all {len(pending)} over-limit learners seen"
            for name, group in groups:
                self._group(name, group)
        root.set_visibility(bool(pending))

    def _group(self, name: str, group: list[Alert]) -> None:
        who = [_who(self.names, a) for a in group]
        more = len(who) - NAMES_SHOWN
        names = ", ".join(who[:NAMES_SHOWN]) + (f" and {more} more" if more > 0 else "")
        with (
            ui.row()
            .classes("w-full items-center gap-x-3 gap-y-1 rounded bg-red-600 text-white px-3 py-2 flex-nowrap")
            .mark("alert-banner-item") as item
        ):
            item.props["role"] = "region"
            item.props["aria-label"] = f"Over the limit: {name}"
            ui.icon("alarm").classes("text-2xl max-sm:hidden")
            with ui.column().classes("gap-0 flex-grow min-w-0"):
                ui.label(group_text(name, group)).classes("font-semibold").mark("alert-group-title")
                # full white: at 90% or 80% on the red these read at 4.0:1 and 3.3:1 (issue 20.8)
                ui.label(names).classes("text-sm truncate max-w-full").tooltip(", ".join(who))
            ui.label(f"since {_when(min(a.raised_ms for a in group))}").classes("text-xs max-sm:hidden")
            if self.controls:
                button = ui.button("Mark seen", on_click=lambda g=group: self.acknowledge(g))
                button.props("flat dense no-caps color=white").classes("shrink-0 whitespace-nowrap").mark("alert-ack")
                button.props["aria-label"] = f"Mark seen: {group_text(name, group)}"

    async def acknowledge(self, alerts: list[Alert]) -> None:
        with contextlib.suppress(NotAllowed), self.root.get():
            done = await self.actions.acknowledge([a.id for a in alerts])
            if done:
                tell(f"{done} alert{'s' if done != 1 else ''} marked seen")

    def _notify(self, alerts: list[Alert]) -> None:
        """One notification per check, however many learners crossed at once."""
        with self.root.get():
            tell(summary_text(self.names, alerts), "alert")


def ending_text(alert: Alert) -> list[tuple[str, str]]:
    """Badges (text, background class) for how an alert went: seen by whom, ended how, or open."""
    badges: list[tuple[str, str]] = []
    if alert.acknowledged_ms is not None:
        who = f" by {alert.acknowledged_by}" if alert.acknowledged_by else ""
        badges.append((f"seen{who} {_when(alert.acknowledged_ms)}", "bg-gray-600"))
    if alert.resolved_ms is not None:
        badges.append((f"{alert.resolution or 'ended'} {_when(alert.resolved_ms)}", "bg-green-700"))
    if not badges:
        badges.append(("open", "bg-red-600"))
    return badges


class AlertHistory:
    """The last 50 alerts: when, who, and how each ended."""

    def __init__(self, hub: Hub, alerts: AlertLog, names: Names) -> None:
        self.alerts = alerts
        self.names = names
        with ui.card().classes("w-full"):
            ui.label("Recent alerts").classes("text-lg font-semibold")
            self.list = ui.column().classes("w-full gap-0").mark("alert-history")
        self._version = -1
        self._draw()  # the board builds this once the page is connected (pages/dashboard.py)
        hub.alerts_changed.subscribe(self._draw)

    def _draw(self) -> None:
        alerts = self.alerts
        if alerts.version == self._version:
            return
        self._version = alerts.version
        self.list.clear()
        with self.list:
            if not alerts.recent:
                ui.label("No alerts yet.").classes("text-gray-500 text-sm")
            for alert in alerts.recent:  # one element per alert: a board keeps up to 50 of them
                ui.html(self._row(alert), sanitize=True).classes(
                    "w-full flex flex-wrap items-center gap-x-2 gap-y-0 border-b border-gray-200 py-1 text-sm"
                ).mark("alert-history-row")

    def _row(self, alert: Alert) -> str:
        badges = "".join(
            f'<span class="rounded px-1 text-xs text-white {background}">{escape(text)}</span>'
            for text, background in ending_text(alert)
        )
        return (
            f'<span class="text-gray-500 w-16">{_when(alert.raised_ms)}</span>'
            f'<span class="flex-grow min-w-0">{escape(_describe(self.names, alert))}</span>{badges}'
        )
