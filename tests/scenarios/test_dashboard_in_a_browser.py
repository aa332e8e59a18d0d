"""The real dashboard in Debian's Chromium, fed by a real .journal file the app follows live.

One app process (and one browser) for the whole module; the tests run in file order and build on
each other's journal lines: a row appears, HTML in log fields stays text, a limit is set through
the searchable select, an over-limit alert is raised and acknowledged, limits survive a reload and
a restart, a viewer sees the board but can change nothing, a page opened without a session lands
on the login page (a wrong password is refused), the phone layout of the board and of the login
page does not scroll sideways, and no request ever leaves localhost.

Every page needs a login: the app's admin (``tester``) and a viewer are created with
``python main.py users add`` before the app starts, and each browser context logs in through the
login page (``tests.browserkit.log_in``). One more app, started without background monitoring,
shows the Start/Stop monitoring buttons to its admin only.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import pytest

from tests.browserkit import (
    ADMIN_PASSWORD,
    ADMIN_USER,
    UNMONITORED,
    App,
    access_line,
    append,
    asset_path,
    chromium_after,
    entry_path,
    fill_login,
    fresh_page,
    log_in,
    now_ms,
    running_classroom,
)

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Dialog, Locator, Page, Request, WebSocket

pytestmark = pytest.mark.browser

CATALOG = {"cdn_math": "Mathematics (CDN)", "cdn_geo": "Geography of West Africa", "cdn_verbs": "English Verbs"}
ANNA_IP, OVER_IP, EVIL_IP, VERBS_IP = "192.168.1.50", "192.168.1.70", "192.168.1.66", "192.168.1.80"
EVIL_USER = "<img src=x onerror=alert(1)>"
EVIL_MODULE = "<b>x</b>"
LOCAL_HOSTS = {"127.0.0.1", "localhost"}
VIEWER_USER, VIEWER_PASSWORD = "watcher", "watcher-secret-7"
VIEWER_ACCOUNT = (VIEWER_USER, VIEWER_PASSWORD, "viewer")
WRONG_LOGIN = "Wrong user name or password."
USERS_DENIED = "Only an admin can manage users."


@dataclass
class Recorder:
    """Every URL any test page requested (HTTP and websocket) and every dialog it opened."""

    urls: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)

    def attach(self, page: Page) -> None:
        page.on("request", self._request)
        page.on("websocket", self._websocket)
        page.on("dialog", self._dialog)

    def _request(self, request: Request) -> None:
        self.urls.append(request.url)

    def _websocket(self, socket: WebSocket) -> None:
        self.urls.append(socket.url)

    def _dialog(self, dialog: Dialog) -> None:
        self.dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()


@pytest.fixture(scope="module")
def board(tmp_path_factory: pytest.TempPathFactory) -> Iterator[App]:
    # A Guest who opened Geography 70 s ago: past a 1-minute limit as soon as one is set. Another
    # opened English Verbs then: over the limit the viewer test sets (and removes) on that module.
    start = now_ms() - 70_000
    lines = [
        (start, access_line(OVER_IP, entry_path("cdn_geo"), start)),
        (start, access_line(VERBS_IP, entry_path("cdn_verbs"), start)),
    ]
    work = tmp_path_factory.mktemp("board")
    with running_classroom(work, CATALOG, lines, users=[VIEWER_ACCOUNT]) as app:
        yield app


browser = chromium_after("board")


@pytest.fixture(scope="module")
def recorder() -> Recorder:
    return Recorder()


def new_page(browser: Browser, recorder: Recorder, width: int = 1280, height: int = 900) -> Page:
    """A page in a fresh browser context (no session cookie)."""
    page = fresh_page(browser, (width, height))
    recorder.attach(page)
    return page


def open_board(
    browser: Browser, recorder: Recorder, app: App, width: int = 1280, height: int = 900, user: str = ADMIN_USER
) -> Page:
    """A fresh context that logs in as ``user`` on the login page and lands on the board."""
    page = new_page(browser, recorder, width, height)
    log_in(page, app, user)
    page.get_by_text("Live sessions", exact=True).wait_for()
    return page


@pytest.fixture
def page(browser: Browser, recorder: Recorder, board: App) -> Iterator[Page]:
    page = open_board(browser, recorder, board)
    try:
        yield page
    finally:
        page.context.close()


def session_row(page: Page, ip: str) -> Locator:
    """The live-sessions row of a device (rows are the bordered blocks holding the IP label)."""
    return page.locator("div.border-gray-200").filter(has=page.get_by_text(ip, exact=True))


def limit_rows(page: Page) -> Locator:
    return page.locator("div.border-b").filter(has=page.get_by_role("button", name=re.compile(r"^Remove limit for")))


def open_limits(page: Page) -> Locator:
    """The header's Limits button opens the time-limits dialog (the dialog's card is returned)."""
    dialog = page.get_by_role("dialog")
    if not dialog.is_visible():
        page.get_by_role("button", name="Limits", exact=True).click()
    dialog.get_by_text("Time limits", exact=True).wait_for()
    return dialog


def close_limits(page: Page) -> None:
    from playwright.sync_api import expect

    page.get_by_role("button", name="Close time limits").click()
    expect(page.get_by_role("dialog")).to_have_count(0)


def set_limit(page: Page, search: str, option: str, minutes: int | str, *, close: bool = True) -> None:
    """In the limits dialog: type part of a module's name, pick it, type minutes, press Enter."""
    open_limits(page)
    select = page.get_by_role("combobox", name="Module")
    select.click()
    select.press_sequentially(search)
    page.get_by_role("option").filter(has_text=option).first.click()
    page.get_by_label("Minutes").fill(str(minutes))
    page.get_by_label("Minutes").press("Enter")
    if close:
        page.get_by_role("button", name=re.compile(r"^Update limit$|^Set limit$")).wait_for()
        close_limits(page)


def alert_items(page: Page) -> Locator:
    return page.locator("div.bg-red-600").filter(has=page.get_by_role("button", name=re.compile("^Mark seen")))


def test_appended_entry_appears_as_a_row(page: Page, board: App) -> None:
    from playwright.sync_api import expect

    assert session_row(page, ANNA_IP).count() == 0
    now = now_ms()
    append(board.journal, [(now, access_line(ANNA_IP, entry_path("cdn_math"), now, user="anna@example.com"))])
    row = session_row(page, ANNA_IP)
    expect(row).to_have_count(1)
    expect(row).to_be_visible()
    expect(row.get_by_text("anna@example.com", exact=True)).to_be_visible()
    module = row.get_by_text("Mathematics (CDN)", exact=True)  # the name only; the id in its tooltip
    expect(module).to_be_visible()
    expect(module).to_have_attribute("title", "Mathematics (CDN) · id cdn_math")
    expect(row).not_to_contain_text("cdn_math")
    expect(row.get_by_role("status", name="time on module")).to_have_text(re.compile(r"^\d+s$"))


def test_html_in_log_fields_is_shown_as_text(page: Page, board: App, browser: Browser, recorder: Recorder) -> None:
    from playwright.sync_api import expect

    now = now_ms()
    user = "%3Cimg%20src%3Dx%20onerror%3Dalert(1)%3E"
    path = "/modules/%3Cb%3Ex%3C%2Fb%3E/index.html"
    append(board.journal, [(now, access_line(EVIL_IP, path, now, user=user))])

    def check(view: Page) -> None:
        row = session_row(view, EVIL_IP)
        expect(row).to_be_visible()
        expect(row.get_by_text(EVIL_USER, exact=True)).to_be_visible()
        expect(row.get_by_text(EVIL_MODULE, exact=True)).to_be_visible()
        assert view.locator('img[src="x"]').count() == 0
        assert row.locator("b").count() == 0

    check(page)  # pushed live over the websocket
    fresh = open_board(browser, recorder, board)  # drawn in the initial page
    try:
        check(fresh)
        fresh.wait_for_timeout(1_000)
    finally:
        fresh.context.close()
    assert recorder.dialogs == []


def test_set_limit_through_searchable_select(page: Page) -> None:
    from playwright.sync_api import expect

    set_limit(page, "maths", "Mathematics (CDN)", 30, close=False)  # no module has "maths" in its name
    row = limit_rows(page).filter(has=page.get_by_text("Mathematics (CDN)", exact=True))
    expect(row).to_have_count(1)
    expect(row.get_by_text("30 min", exact=True)).to_be_visible()
    close_limits(page)
    expect(session_row(page, ANNA_IP).get_by_text(re.compile(r"limit 30 min$"))).to_be_visible()


def test_over_limit_turns_red_and_alert_is_acknowledged(page: Page, board: App) -> None:
    from playwright.sync_api import expect

    now = now_ms()
    append(board.journal, [(now, access_line(OVER_IP, asset_path("cdn_geo"), now))])
    badge = session_row(page, OVER_IP).get_by_role("status", name="time on module")
    expect(badge).to_have_text(re.compile(r"^1m \d\ds$"))
    expect(badge).not_to_have_class(re.compile(r"\bbg-red-600\b"))
    expect(alert_items(page)).to_have_count(0)

    set_limit(page, "Geogr", "Geography of West Africa", 1)
    expect(badge).to_have_class(re.compile(r"\bbg-red-600\b"))
    banner = alert_items(page)
    expect(banner).to_have_count(1)
    expect(banner).to_contain_text("Geography of West Africa: 1 over 1 min")
    expect(page).to_have_title("(1) Module Gaze")

    banner.get_by_role("button", name=re.compile("^Mark seen")).click()
    expect(alert_items(page)).to_have_count(0)
    expect(page.get_by_text(re.compile(rf"^seen by {ADMIN_USER} \d\d:\d\d:\d\d$"))).to_have_count(1)
    expect(page).to_have_title("Module Gaze")
    expect(badge).to_have_class(re.compile(r"\bbg-red-600\b"))  # still over the limit, only acknowledged


def expect_limits(page: Page) -> None:
    from playwright.sync_api import expect

    open_limits(page)
    rows = limit_rows(page)
    expect(rows).to_have_count(2)
    expect(rows.filter(has_text="Mathematics (CDN)").get_by_text("30 min", exact=True)).to_be_visible()
    expect(rows.filter(has_text="Geography of West Africa").get_by_text("1 min", exact=True)).to_be_visible()
    close_limits(page)


def test_limits_persist_across_reload_and_restart(page: Page, board: App, browser: Browser, recorder: Recorder) -> None:
    from playwright.sync_api import expect

    page.reload()
    expect_limits(page)
    page.context.close()

    board.restart()
    after = open_board(browser, recorder, board)
    try:
        expect_limits(after)
        expect(session_row(after, OVER_IP).get_by_role("status", name="time on module")).to_have_class(
            re.compile(r"\bbg-red-600\b")
        )
        after.wait_for_timeout(2_000)  # a few limit checks: the acknowledged alert is not raised again
        expect(alert_items(after)).to_have_count(0)
    finally:
        after.context.close()


def test_viewer_sees_the_board_but_changes_nothing(browser: Browser, recorder: Recorder, board: App) -> None:
    from playwright.sync_api import expect

    admin = open_board(browser, recorder, board)
    viewer = open_board(browser, recorder, board, user=VIEWER_USER)
    try:
        now = now_ms()
        append(board.journal, [(now, access_line(VERBS_IP, asset_path("cdn_verbs"), now))])  # still on Verbs
        expect(viewer.get_by_text(f"{VIEWER_USER} · viewer", exact=True)).to_be_visible()
        row = session_row(viewer, ANNA_IP)
        expect(row.get_by_text("Mathematics (CDN)", exact=True)).to_be_visible()
        expect(row.get_by_role("status", name="time on module")).to_be_visible()
        expect(session_row(viewer, VERBS_IP).get_by_text("English Verbs", exact=True)).to_be_visible()
        open_limits(viewer)
        limits = viewer.locator("div.border-b")
        expect(limits.filter(has_text="Mathematics (CDN)").get_by_text("30 min", exact=True)).to_be_visible()
        expect(limits.filter(has_text="Geography of West Africa").get_by_text("1 min", exact=True)).to_be_visible()
        expect(viewer.get_by_role("button", name=re.compile(r"(set|update) limit", re.I))).not_to_be_visible()
        expect(viewer.get_by_role("button", name=re.compile(r"^Remove limit for"))).to_have_count(0)
        expect(viewer.get_by_role("combobox", name="Module")).not_to_be_visible()
        close_limits(viewer)
        expect(viewer.get_by_role("button", name=re.compile(r"(start|stop) monitoring", re.I))).to_have_count(0)
        expect(viewer.get_by_role("link", name="Users")).to_have_count(0)

        # An alert the viewer sees without an Acknowledge button; the admin's acknowledgement clears it.
        set_limit(admin, "Verbs", "English Verbs", 1)
        text = "English Verbs: 1 over 1 min"
        banner = viewer.locator("div.bg-red-600").filter(has_text=text)
        expect(banner).to_have_count(1)
        expect(banner).to_be_visible()
        expect(viewer.get_by_role("button", name=re.compile("^Mark .*seen"))).to_have_count(0)
        expect(alert_items(viewer)).to_have_count(0)
        admin_banner = alert_items(admin).filter(has_text=text)
        expect(admin_banner).to_have_count(1)
        admin_banner.get_by_role("button", name=re.compile("^Mark seen")).click()
        expect(banner).to_have_count(0)
        open_limits(admin)
        admin.get_by_role("button", name="Remove limit for English Verbs").click()
        expect(admin.get_by_text("Limit removed for English Verbs")).to_be_visible()
        close_limits(admin)
        expect_limits(admin)

        viewer.goto(f"{board.url}/users")
        expect(viewer.get_by_text(USERS_DENIED, exact=True)).to_be_visible()
        expect(viewer.get_by_role("button", name=re.compile("add user", re.I))).to_have_count(0)
        expect(viewer.get_by_text(ADMIN_USER, exact=True)).to_have_count(0)
    finally:
        admin.context.close()
        viewer.context.close()
    assert recorder.dialogs == []


def test_only_an_admin_sees_start_and_stop_monitoring(browser: Browser, recorder: Recorder, tmp_path: Path) -> None:
    """An app without background monitoring: its admin gets the button, a viewer only the state."""
    from playwright.sync_api import expect

    now = now_ms()
    lines = [(now, access_line(ANNA_IP, entry_path("cdn_math"), now))]
    with running_classroom(tmp_path, {}, lines, users=[VIEWER_ACCOUNT], extra_env=UNMONITORED, following=False) as app:
        admin = open_board(browser, recorder, app)
        expect(admin.get_by_role("button", name=re.compile("start monitoring", re.I))).to_be_visible()
        admin.context.close()
        viewer = open_board(browser, recorder, app, user=VIEWER_USER)
        expect(viewer.get_by_text("Monitoring is off.", exact=True)).to_be_visible()
        expect(viewer.get_by_role("button", name=re.compile(r"(start|stop) monitoring", re.I))).to_have_count(0)
        viewer.context.close()


def test_without_a_session_the_login_page_refuses_a_wrong_password(
    browser: Browser, recorder: Recorder, board: App
) -> None:
    from playwright.sync_api import expect

    page = new_page(browser, recorder)
    try:
        page.goto(board.url)
        expect(page).to_have_url(f"{board.url}/login?redirect_to=%2F")
        expect(page.get_by_role("button", name="Log in", exact=True)).to_be_visible()
        expect(page.get_by_text("Live sessions", exact=True)).to_have_count(0)
        assert page.context.request.get(f"{board.url}/api/live-sessions").status == 401

        fill_login(page, ADMIN_USER, ADMIN_PASSWORD + "x")
        expect(page.get_by_text(WRONG_LOGIN, exact=True)).to_be_visible()
        expect(page.get_by_label("Password", exact=True)).to_have_value("")
        expect(page).to_have_url(re.compile(r"/login\?redirect_to=%2F$"))
        expect(page.get_by_text("Live sessions", exact=True)).to_have_count(0)
        assert page.context.request.get(f"{board.url}/api/live-sessions").status == 401

        fill_login(page, ADMIN_USER, ADMIN_PASSWORD)  # the right one: on to the board
        page.wait_for_url(f"{board.url}/")
        expect(page.get_by_text("Live sessions", exact=True)).to_be_visible()
        expect(page.get_by_text(WRONG_LOGIN, exact=True)).to_have_count(0)
        assert page.context.request.get(f"{board.url}/api/live-sessions").status == 200
    finally:
        page.context.close()


def test_phone_width_does_not_scroll_sideways(browser: Browser, recorder: Recorder, board: App, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    login = new_page(browser, recorder, width=390, height=844)
    try:
        login.goto(board.url)
        expect(login.get_by_role("button", name="Log in", exact=True)).to_be_visible()
        login.wait_for_timeout(300)
        width = login.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"login page is {width}px wide at a 390px viewport"
        shot = tmp_path / "login-390.png"
        login.screenshot(path=str(shot), full_page=True)
        assert shot.is_file()
        assert shot.stat().st_size > 0
    finally:
        login.context.close()

    page = open_board(browser, recorder, board, width=390, height=844)
    try:
        expect(session_row(page, EVIL_IP)).to_be_visible()
        expect_limits(page)
        page.wait_for_timeout(300)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"page is {width}px wide at a 390px viewport"
        shot = tmp_path / "dashboard-390.png"
        page.screenshot(path=str(shot), full_page=True)
        assert shot.is_file()
        assert shot.stat().st_size > 0
    finally:
        page.context.close()


def test_no_request_leaves_localhost(browser: Browser, recorder: Recorder, board: App) -> None:
    page = open_board(browser, recorder, board)  # at least one full load, also when run alone
    try:
        page.reload()
        page.get_by_text("Live sessions", exact=True).wait_for()
    finally:
        page.context.close()
    assert recorder.urls
    foreign = sorted({url for url in recorder.urls if urlsplit(url).hostname not in LOCAL_HOSTS})
    assert foreign == []
    assert recorder.dialogs == []
