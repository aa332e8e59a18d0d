"""A page's state in its URL, with the browser's Back and Forward stepping through it.

`show(params, step=True)` writes the URL as a new browser history entry (a step the admin may want
to go back to); `step=False` replaces the current entry (a correction, or the next keystroke of the
same filter). Back and Forward do not reload the page: NiceGUI's sub pages router hears them (the
browser's popstate) and `on_pop` gets that entry's query to show its state again. The page has no
sub pages of its own: the empty `ui.sub_pages` only brings the router's listener. Links to other
pages still open them (the router opens every path it has no sub page for).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from urllib.parse import parse_qsl, urlencode, urlsplit

from nicegui import background_tasks, ui

PopHandler = Callable[[dict[str, str]], Awaitable[None]]


class UrlHistory:
    def __init__(self, path: str, on_pop: PopHandler) -> None:
        self.path = path
        self.on_pop = on_pop
        self.shown = ""  # the URL in the address bar, once this page has written one
        self.anchor = ui.sub_pages(show_404=False).classes("hidden")
        ui.context.client.sub_pages_router.on_path_changed(self._path_changed)

    def show(self, params: Mapping[str, str], *, step: bool) -> None:
        url = f"{self.path}?{urlencode(params)}"
        if url == self.shown:
            return
        if step and self.shown:
            ui.navigate.history.push(url)
        else:  # the page's first URL replaces the link it was opened with
            ui.navigate.history.replace(url)
        self.shown = url

    def _path_changed(self, path: str) -> None:
        parts = urlsplit(path)
        if parts.path != self.path:  # a link to another page or a download: the router opens it
            return
        self.shown = path
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        background_tasks.create(self.on_pop(query), name=f"back/forward on {self.path}", context=self.anchor)
