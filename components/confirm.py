"""A question before a change that cannot be taken back (stop monitoring, remove a user)."""

from __future__ import annotations

from nicegui import ui

from components.frame import name_dialog


async def confirm(question: str, detail: str, yes: str, *, danger: bool = True) -> bool:
    """Ask in a dialog; True only when the admin pressed `yes` (Escape or Cancel = no)."""
    with ui.dialog() as dialog, ui.card().classes("max-w-md").mark("confirm-dialog"):
        name_dialog(dialog, ui.label(question).classes("text-lg font-semibold"))
        ui.label(detail).classes("text-sm text-gray-700")
        with ui.row().classes("w-full justify-end gap-2"):
            ui.button("Cancel", on_click=lambda: dialog.submit(False)).props("flat").mark("confirm-no")
            ui.button(yes, color="red-8" if danger else "primary", on_click=lambda: dialog.submit(True)).mark(
                "confirm-yes"
            )
    try:
        return bool(await dialog)
    finally:
        dialog.delete()
