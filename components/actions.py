"""Every change a page can make, each checked against the signed-in user's role on the server.

A page builds one `Actions` for the identity its session carries; pages for viewers do not show
the controls, and the check here refuses the change anyway — also for an admin who was demoted or
removed while the page stayed open, or who logged out in another tab of the same browser (the
page's `session` no longer names them).
"""

from __future__ import annotations

import logging
import weakref
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from nicegui import Client, ui

from components.hub import Hub
from components.io import io_bound
from components.messages import tell
from gaze.auth import ADMIN, User
from gaze.services import Services

log = logging.getLogger(__name__)


# Every open page built for a signed-in user: a removed user's pages are sent to the login page,
# and one whose role changed are built again, with the controls of the new role.
_PAGES: weakref.WeakKeyDictionary[Client, str] = weakref.WeakKeyDictionary()


SIGNED_OUT = "/login?signed_out=1"  # the login page then says "Logged out."


def send_to_login(clients: Iterable[Client]) -> None:
    """Send these open pages to the login page, which says they were signed out (nothing may show
    on them any more: their browser signed out, or their user was removed)."""
    for client in clients:
        with client:
            ui.navigate.to(SIGNED_OUT)


def end_pages_of(username: str) -> None:
    """Send every open page built for `username` to the login page."""
    send_to_login(_open_pages_of(username))


def rebuild_pages_of(username: str, but: Client | None = None) -> None:
    """Reload every open page built for `username` (but the one asking): a demoted admin's pages
    lose their controls, a promoted viewer's gain them."""
    for client in _open_pages_of(username):
        if client is not but:
            with client:
                ui.navigate.reload()


def follow_users(changed: Mapping[str, str | None]) -> None:
    """Users another process changed (`Runtime.on_users_changed`): as if done on /users here — a
    removed user's pages go to the login page, one whose role changed get the new role's pages."""
    for username, role in changed.items():
        if role is None:
            end_pages_of(username)
        else:
            rebuild_pages_of(username)


def _open_pages_of(username: str) -> list[Client]:
    return [client for client, owner in list(_PAGES.items()) if owner == username and client.id in Client.instances]


class NotAllowed(PermissionError):
    """The signed-in user may not do this; the page has been told."""


@dataclass(frozen=True, slots=True)
class Identity:
    username: str


class Actions:
    """The changes, not the data: widgets get what they show from their page, never through here."""

    def __init__(
        self, services: Services, hub: Hub, identity: Identity, session: Mapping[str, object] | None = None
    ) -> None:
        """`session`: the browser's sign-in the page was built with (`app.storage.user`, shared by
        its tabs and emptied by Log out); None when there is no browser (a script, a test)."""
        self._services = services
        self.hub = hub
        self.identity = identity
        self._session = session
        if session is not None:  # a page in a browser: remembered for `end_pages_of`, `rebuild_pages_of`
            _PAGES[ui.context.client] = identity.username

    @property
    def role(self) -> str | None:
        return self._services.users.role_of(self.identity.username)

    @property
    def is_admin(self) -> bool:
        return self.role == ADMIN

    @property
    def signed_out(self) -> bool:
        """This browser logged out (in any of its tabs) since the page was built."""
        return self._session is not None and self._session.get("username") != self.identity.username

    def _require_admin(self, what: str) -> None:
        if self.signed_out:
            log.warning(
                "refused: %s tried to %s from a page of a browser that logged out", self.identity.username, what
            )
            tell("You have signed out on this browser: log in again to make changes.", "refused")
            raise NotAllowed(what)
        if not self.is_admin:
            log.warning("refused: %s (role %s) tried to %s", self.identity.username, self.role, what)
            tell(f"Only an admin can {what}.", "refused")
            raise NotAllowed(what)

    # ------------------------------------------------------------------ limits and alerts

    async def set_limit(self, module: str, minutes: object) -> int:
        self._require_admin("set time limits")
        value = await io_bound(self._services.limits.set_limit, module, minutes)
        self.hub.limits_changed.emit()
        self.hub.refresh_status()
        return value

    async def remove_limit(self, module: str) -> bool:
        self._require_admin("remove time limits")
        removed = await io_bound(self._services.limits.remove_limit, module)
        self.hub.limits_changed.emit()
        self.hub.refresh_status()
        return removed

    async def acknowledge(self, alert_ids: list[int]) -> int:
        """Acknowledge these alerts (one, or all of a module's); how many were still open."""
        self._require_admin("acknowledge alerts")
        done = await io_bound(self._services.limits.acknowledge, alert_ids, self.identity.username)
        self.hub.alerts_changed.emit()
        return done

    # ------------------------------------------------------------------ monitoring

    async def start_monitoring(self) -> None:
        self._require_admin("start monitoring")
        self._services.sources.start()
        self.hub.refresh_status()

    async def stop_monitoring(self) -> None:
        self._require_admin("stop monitoring")
        await self._services.sources.stop()
        self.hub.refresh_status()

    # ------------------------------------------------------------------ devices

    async def set_device_label(self, ip: str, label: str) -> str | None:
        self._require_admin("name devices")
        stored = await io_bound(self._services.devices.set, ip, label)
        self.hub.labels_changed.emit()
        return stored

    # ------------------------------------------------------------------ users

    async def add_user(self, username: str, password: str, role: str) -> User:
        self._require_admin("manage users")
        return await io_bound(self._services.users.add, username, password, role)

    async def set_password(self, username: str, password: str) -> None:
        self._require_admin("manage users")
        await io_bound(self._services.users.set_password, username, password)

    async def set_role(self, username: str, role: str) -> None:
        self._require_admin("manage users")
        await io_bound(self._services.users.set_role, username, role)
        rebuild_pages_of(username, but=ui.context.client)

    async def remove_user(self, username: str) -> None:
        self._require_admin("manage users")
        await io_bound(self._services.users.remove, username)
        end_pages_of(username)


MUTATING = tuple(
    name for name, value in vars(Actions).items() if callable(value) and not name.startswith("_") and name != "role"
)
