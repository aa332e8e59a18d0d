"""/users' widget: admins add users, change passwords and roles, remove users."""

from __future__ import annotations

from nicegui import ui

from components.actions import Actions, NotAllowed
from components.confirm import confirm
from components.frame import icon_button
from components.messages import tell
from gaze.auth import ROLES, VIEWER, AuthError, Users


class UsersPanel:
    """Every change tells its result first (one message, components/messages.py), then redraws,
    inside the panel's own column: a handler whose button the redraw removes never runs UI code in
    a deleted slot."""

    def __init__(self, actions: Actions, users: Users) -> None:
        self.actions = actions
        self.users = users
        with ui.column().classes("w-full gap-4") as self.root:
            with ui.card().classes("w-full"):
                ui.label("Add a user").classes("text-lg font-semibold")
                with ui.row().classes("w-full items-start gap-3 flex-wrap"):
                    self.name = ui.input("User name").classes("min-w-[180px]").mark("user-name")
                    self.role = ui.select(list(ROLES), value=VIEWER, label="Role").classes("w-32").mark("user-role")
                    self.password = ui.input("Password", password=True, password_toggle_button=True).mark(
                        "user-password"
                    )
                    ui.button("Add user", icon="person_add", on_click=self.add).mark("user-add")
                    for field in (self.name, self.password):  # Enter adds, as the button does
                        field.on("keydown.enter", self.add)
            with ui.card().classes("w-full"):
                ui.label("Users").classes("text-lg font-semibold")
                self.list = ui.column().classes("w-full gap-1")
        self.draw()

    async def _do(self, coro: object, done: str) -> bool:
        """Run one change; tell the admin what happened (success or why not), then redraw."""
        with self.root:
            try:
                await coro  # type: ignore[misc]
            except AuthError as exc:
                tell(str(exc), "refused")
                self.draw()  # e.g. a refused role change: the select shows the stored role again
                return False
            except NotAllowed:
                self.draw()
                return False
            tell(done)
            self.draw()
            return True

    async def add(self) -> None:
        name = (self.name.value or "").strip()
        if await self._do(
            self.actions.add_user(name, self.password.value or "", self.role.value), f"User {name} added"
        ):
            self.name.set_value("")
            self.password.set_value("")

    async def change_password(self, username: str, field: ui.input) -> None:
        await self._do(self.actions.set_password(username, field.value or ""), f"Password of {username} changed")

    async def change_role(self, username: str, role: str) -> None:
        await self._do(self.actions.set_role(username, role), f"{username} is now {role}")

    async def remove(self, username: str) -> None:
        with self.root:
            refused = self.users.removal_refused(username)
            if refused:  # said before the question, not after the admin confirmed
                tell(refused, "refused")
                return
            sure = await confirm(
                f"Remove {username}?",
                f"{username} can no longer sign in; pages they have open stop working. This cannot be undone.",
                f"Remove {username}",
            )
        if sure:
            await self._do(self.actions.remove_user(username), f"User {username} removed")

    def draw(self) -> None:
        self.list.clear()
        with self.list:
            for user in self.users.list():
                name = user.username
                with (
                    ui.row()
                    .classes("w-full items-center gap-3 border-b border-gray-200 py-2 flex-wrap")
                    .mark("user-row")
                ):
                    ui.label(name).classes("font-medium min-w-[120px]")
                    role = ui.select(
                        list(ROLES), value=user.role, on_change=lambda e, u=name: self.change_role(u, e.value)
                    )
                    role.classes("w-28").props("dense").mark("user-role-select")
                    role.props["aria-label"] = f"Role of {name}"
                    new_password = ui.input("New password", password=True).props("dense").classes("w-40")
                    new_password.props["aria-label"] = f"New password for {name}"

                    async def set_password(u: str = name, f: ui.input = new_password) -> None:
                        await self.change_password(u, f)

                    new_password.on("keydown.enter", set_password)  # Enter sets it, as the button does
                    ui.button("Set password", on_click=set_password).props("flat dense")
                    icon_button(
                        "delete",
                        f"Remove user {name}",
                        lambda u=name: self.remove(u),
                        props="flat round dense color=grey-7",
                    ).mark("user-remove")
