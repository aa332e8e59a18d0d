"""The frame of every signed-in page (NiceGUI's examples/modularization): the app's colour, the
header (title, navigation, who is signed in, log out) and the column the page's content goes in.

    with frame(actions, "History"):
        ...  # the page's widgets
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from nicegui import Client, __version__, app, ui
from nicegui.elements.mixins.text_element import TextElement

from components.actions import Actions, send_to_login
from components.theme import PRIMARY

WALL_FONT_PX = 24
# Every link and button of the header shows where the keyboard is: a white ring around it (Quasar's
# own focus shade on a flat button over the header's colour is hardly seen).
HEADER_FOCUS = "[&_*:focus-visible]:outline-2! [&_*:focus-visible]:outline-offset-2 [&_*:focus-visible]:outline-white"

# The header is a plain <header> at the top of NiceGUI's layout that CSS keeps in view, not NiceGUI's
# ui.header: Quasar's q-header (the layout measures it and pads the page) and NiceGUI's script for it
# cost a board ~8 ms of the browser's main thread before the first row (issue 21). The page below it
# is no longer padded by the layout, so it need not fill the screen (no scroll bar on a short page).
# The browser keeps what gets the keyboard's focus clear of the header (scroll-padding, as NiceGUI's
# script did with the header's measured height): the header takes one line from 1024 px (two with a
# long user name), up to three on a phone.
HEADER_CSS = """
.gaze-header { position: sticky; top: 0; z-index: 2000; }
.gaze-header ~ .q-page-container > .q-page { min-height: 0 !important; }
html { scroll-padding-top: 120px; }
@media (min-width: 1024px) { html { scroll-padding-top: 84px; } }
"""


def install_colors() -> None:
    """The app's colours (Quasar's primary: buttons, toggles, links) on every page, from Quasar's
    configuration: not a `ui.colors` element and its script in each page's first build (issue 21)."""
    app.colors(primary=PRIMARY)


def icon_button(
    icon: str, label: str, on_click: Callable[..., object], *, props: str = "flat round dense"
) -> ui.button:
    """An icon-only button with an accessible name (aria-label) and the same words as a tooltip."""
    button = ui.button(icon=icon, on_click=on_click).props(props)
    button.props["aria-label"] = label
    button.tooltip(label)
    return button


class Heading(TextElement):
    """A page's one h1 (Quasar's large h1 size reset: `classes` say how it looks)."""

    def __init__(self, text: str = "", classes: str = "text-xl font-semibold") -> None:
        super().__init__(tag="h1", text=text)
        self.classes(f"m-0 leading-normal tracking-normal {classes}")


class Link(TextElement):
    """A link as NiceGUI's `ui.link` draws it (same class, same look) without its script component:
    one script fewer before the board's first row (issue 21). The app has no path prefix."""

    def __init__(self, text: str, href: str) -> None:
        super().__init__(tag="a", text=text)
        self.props["href"] = href
        self.classes("nicegui-link")


def preload_scripts(*kinds: type[ui.element]) -> None:
    """Ask the browser to fetch the scripts of these kinds of element (NiceGUI's JavaScript components)
    now, for the page it opens next: NiceGUI serves them under /_nicegui/<version>/ with a year's
    immutable cache, so that page's script takes them from the cache instead of waiting for the
    server (issue 21). The app has no path prefix."""
    for kind in kinds:
        if kind.component is not None:
            url = f"/_nicegui/{__version__}/components/{kind.component.key}"
            ui.add_head_html(f'<link rel="modulepreload" href="{url}">')


def name_dialog(dialog: ui.dialog, title: ui.element) -> None:
    """The dialog's accessible name is its visible `title` (aria-labelledby): a screen reader says
    what opened, also after the title's text changes."""
    dialog.props(f"aria-labelledby={title.html_id}")


def browser_id(client: Client) -> str | None:
    """The browser a page belongs to (NiceGUI's session cookie id, shared by that browser's tabs)."""
    try:
        value = client.request.session.get("id")
    except (RuntimeError, AssertionError):  # a page without a request (NiceGUI's auto-index)
        return None
    return value if isinstance(value, str) else None


def log_out() -> None:
    """Forget this browser's sign-in and send every page it has open to the login page: a tab left
    on the board must not keep showing learners (nor changing anything, components/actions.py)."""
    here = ui.context.client
    browser = browser_id(here)
    app.storage.user.clear()
    others = [c for c in list(Client.instances.values()) if browser is not None and browser_id(c) == browser]
    send_to_login({here, *others})


@contextmanager
def frame(
    actions: Actions,
    title: str = "Live module sessions",
    *,
    tools: Callable[[], None] | None = None,
    width: str = "max-w-6xl",
    gap: str = "gap-4",
    wall: bool = False,
) -> Iterator[ui.column]:
    """A signed-in page: its header, then a centred column `width` wide whose children stand `gap`
    apart. `tools` draws page-specific buttons at the start of the header's right-hand group (e.g.
    the board's Limits). A `wall` (the board for a screen in the centre) has large type and no
    header: nothing to click."""
    if wall:
        for element in ("html", "body"):  # every rem-sized thing grows, and what inherits body's size
            ui.query(element).style(f"font-size: {WALL_FONT_PX}px")
        content = ui.column().classes("w-full gap-4 p-4").mark("wall")
    else:
        _header(actions, title, tools)
        content = ui.column().classes(f"w-full {width} mx-auto {gap} p-2 sm:p-4")
    with content:
        yield content


def _header(actions: Actions, title: str, tools: Callable[[], None] | None) -> None:
    ui.add_css(HEADER_CSS)
    with ui.context.client.layout:  # where NiceGUI puts its ui.header: first in the layout
        header = ui.element("header")
    header.move(target_index=0)
    with header.classes(
        f"nicegui-header wrap q-layout__section--marginal gaze-header items-center justify-between bg-[{PRIMARY}] "
        f"px-2 sm:px-4 py-2 gap-x-2 gap-y-1 flex-wrap {HEADER_FOCUS}"
    ):
        # The page's h1: the app's name (a link to the board) and the page's title; on a phone the
        # title is read out but not shown (no room beside the links).
        with Heading(classes="flex items-baseline gap-4 text-white"):
            Link("Module Gaze", "/").classes("text-xl font-semibold text-white no-underline")
            ui.label(title).classes("text-sm max-md:sr-only").mark("page-title")
        with ui.row().classes("items-center gap-x-2 sm:gap-x-3 gap-y-1 flex-wrap"):
            if tools is not None:
                tools()
            for text, path in (("Board", "/"), ("History", "/history"), ("Devices", "/devices")):
                Link(text, path).classes("text-white text-sm").mark(f"nav-{text.lower()}")
            Link("Wall", "/wall").classes("text-white text-sm").mark("nav-wall").tooltip(
                "The board for a screen in the centre: large type, no controls"
            )
            if actions.is_admin:
                Link("Users", "/users").classes("text-white text-sm").mark("nav-users")
            ui.label(f"{actions.identity.username} · {actions.role}").classes("text-white text-sm max-sm:hidden").mark(
                "whoami"
            )

            ui.button("Log out", icon="logout", on_click=log_out).props("flat dense no-caps color=white")
