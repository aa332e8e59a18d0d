"""What a new admin and an attacker found on the running app, in Debian's Chromium (issue 9 probe).

- Logging out ends every page of that browser: another tab left open on the board goes to the login
  page, and a change sent from it (its navigation blocked) is refused on the server.
- Enter submits every form: the login page's user name field, /users' add form and each user's new
  password, /devices' IP address field.
- Removing a user sends the pages that user has open to the login page (the confirmation says
  they stop working; they kept showing learners live); changing a user's role rebuilds their open
  pages with the new role's controls.
- On a phone the board's "Monitoring runs on this server from start-up" note keeps its icon beside the words.
- Enter in /history's module search picks the single match (as in the limits form).
- A browser cannot write lines into the app's log through NiceGUI's log channel (forged lines,
  floods), not even from the login page.
- A device's day on a phone: the timeline's times do not overlap.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import create_engine, text

from gaze.runtime import USERS_S
from tests.browserkit import (
    ADMIN_PASSWORD,
    ADMIN_USER,
    DESK,
    PHONE,
    WAIT_MS,
    App,
    access_line,
    chromium_after,
    entry_path,
    fresh_page,
    log_in,
    now_ms,
    running_classroom,
    viewport,
)

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

pytestmark = pytest.mark.browser

LEARNER_IP = "192.168.7.21"


@pytest.fixture(scope="module")
def centre(tmp_path_factory: pytest.TempPathFactory) -> Iterator[App]:
    """One learner on Algebra Basics, followed from start-up."""
    at = now_ms() - 60_000
    lines = [(at, access_line(LEARNER_IP, entry_path("cdn_algebra"), at))]
    with running_classroom(tmp_path_factory.mktemp("probe"), {"cdn_algebra": "Algebra Basics"}, lines) as app:
        yield app


browser = chromium_after("centre")


def _limits(app: App) -> dict[str, int]:
    engine = create_engine(f"sqlite:///{app.workdir / 'data' / 'gaze.db'}")
    try:
        with engine.connect() as db:
            return {str(m): int(n) for m, n in db.execute(text("SELECT module, minutes FROM time_limit"))}
    finally:
        engine.dispose()


def _fill_limit(page: Page, module: str, minutes: str) -> None:
    page.get_by_role("button", name="Limits", exact=True).click()
    page.get_by_label("Module", exact=True).click()
    page.keyboard.type(module)
    page.keyboard.press("Enter")
    page.get_by_label("Minutes", exact=True).fill(minutes)


def test_log_out_ends_the_browsers_other_pages(centre: App, browser: Browser) -> None:
    context = browser.new_context(viewport=viewport(DESK))
    try:
        first = context.new_page()
        log_in(first, centre)
        second = context.new_page()  # another tab of the same browser, left on the board
        second.goto(centre.url + "/")
        second.get_by_role("button", name="Limits", exact=True).wait_for(timeout=WAIT_MS)
        third = context.new_page()  # and one that will not follow (its navigation is blocked)
        third.goto(centre.url + "/")
        _fill_limit(third, "algebra", "45")
        third.route("**/login*", lambda route: route.fulfill(status=204))  # 204: the page stays

        first.get_by_role("button", name=f"Log out {ADMIN_USER}").click()
        first.wait_for_url(f"{centre.url}/login", timeout=WAIT_MS)
        second.wait_for_url(f"{centre.url}/login*", timeout=WAIT_MS)  # not left showing the board

        third.get_by_label("Minutes", exact=True).press("Enter")  # a change from a logged-out page
        refused = third.locator(".q-notification", has_text="log in again")
        refused.wait_for(timeout=WAIT_MS)
        assert "cdn_algebra" not in _limits(centre)
    finally:
        context.close()


def test_enter_submits_every_form(centre: App, browser: Browser) -> None:
    from playwright.sync_api import expect

    context = browser.new_context(viewport=viewport(PHONE))
    try:
        page = context.new_page()
        page.goto(centre.url + "/login")
        page.get_by_label("Password", exact=True).fill(ADMIN_PASSWORD)
        page.get_by_label("User name", exact=True).fill(ADMIN_USER)
        page.get_by_label("User name", exact=True).press("Enter")  # typed the password first, then the name
        page.wait_for_url(centre.url + "/", timeout=WAIT_MS)

        page.goto(centre.url + "/users")
        page.get_by_label("User name", exact=True).fill("keyboard")
        page.get_by_label("Password", exact=True).fill("keyboard-secret-1")
        page.get_by_label("Password", exact=True).press("Enter")
        page.get_by_label("Role of keyboard").wait_for(timeout=WAIT_MS)

        field = page.get_by_label("New password for keyboard")
        field.fill("keyboard-secret-2")
        field.press("Enter")
        page.locator(".q-notification", has_text="Password of keyboard changed").wait_for(timeout=WAIT_MS)

        page.goto(centre.url + "/devices")
        page.get_by_label("Name, e.g. Tablet 07", exact=True).fill("Tablet 21")
        page.get_by_label("IP address", exact=True).fill(LEARNER_IP)
        page.get_by_label("IP address", exact=True).press("Enter")
        page.locator(".q-notification", has_text=f"{LEARNER_IP}: Tablet 21").wait_for(timeout=WAIT_MS)
        name = page.get_by_role("textbox", name=f"Name for {LEARNER_IP}", exact=True)
        expect(name).to_have_value("Tablet 21", timeout=WAIT_MS)
    finally:
        context.close()


def test_a_removed_users_open_pages_go_to_the_login_page(centre: App, browser: Browser) -> None:
    admin = browser.new_context(viewport=viewport(DESK))
    leaver = browser.new_context(viewport=viewport(PHONE))
    try:
        page = admin.new_page()
        log_in(page, centre, path="/users")
        page.get_by_label("User name", exact=True).fill("leaver")
        page.get_by_label("Password", exact=True).fill("leaver-secret-1")
        page.get_by_role("button", name="Add user").click()
        page.get_by_label("Role of leaver").wait_for(timeout=WAIT_MS)
        centre.passwords["leaver"] = "leaver-secret-1"
        board = leaver.new_page()
        log_in(board, centre, "leaver")
        board.get_by_text("Live sessions").wait_for(timeout=WAIT_MS)

        page.get_by_role("button", name="Remove user leaver").click()
        page.locator(".q-dialog").get_by_role("button", name="Remove leaver").click()
        page.locator(".q-notification", has_text="User leaver removed").wait_for(timeout=WAIT_MS)
        board.wait_for_url(f"{centre.url}/login*", timeout=WAIT_MS)  # no longer showing learners live
    finally:
        admin.close()
        leaver.close()


def test_a_demoted_admins_open_pages_lose_their_controls(centre: App, browser: Browser) -> None:
    """Also: a user the shell adds while the app runs can sign in, one it removes loses access."""
    from playwright.sync_api import expect

    admin = browser.new_context(viewport=viewport(DESK))
    other = browser.new_context(viewport=viewport(PHONE))
    try:
        centre.add_user("deputy", "deputy-secret-1", "admin")
        board = other.new_page()
        log_in(board, centre, "deputy")
        users_link = board.get_by_role("link", name="Users", exact=True)  # an admin's page only
        expect(users_link).to_have_count(1, timeout=WAIT_MS)

        page = admin.new_page()
        log_in(page, centre, path="/users")
        page.get_by_label("Role of deputy").click()
        page.get_by_role("option", name="viewer", exact=True).click()
        page.locator(".q-notification", has_text="deputy is now viewer").wait_for(timeout=WAIT_MS)
        expect(users_link).to_have_count(0, timeout=WAIT_MS)
        expect(board.get_by_text("Live sessions")).to_be_visible()  # still the board, as a viewer sees it

        page.get_by_label("Role of deputy").click()
        page.get_by_role("option", name="admin", exact=True).click()
        page.locator(".q-notification", has_text="deputy is now admin").wait_for(timeout=WAIT_MS)
        expect(users_link).to_have_count(1, timeout=WAIT_MS)

        centre.users("remove", "deputy")  # from the shell, while the app runs
        # the running app re-reads its users: the open board, untouched, goes to the login page
        board.wait_for_url("**/login*", timeout=(USERS_S + 5) * 1000)
        board.reload()
        assert "/login" in board.url  # and stays there: no access any more
    finally:
        admin.close()
        other.close()


def test_the_background_monitoring_note_keeps_its_icon_on_a_phone(centre: App, browser: Browser) -> None:
    page = fresh_page(browser, PHONE)
    try:
        log_in(page, centre)
        note = page.get_by_text("Monitoring runs on this server from start-up", exact=False)
        note.scroll_into_view_if_needed()
        icon = note.locator("xpath=..").locator("i").first
        text_box, icon_box = note.bounding_box(), icon.bounding_box()
        assert text_box is not None and icon_box is not None
        # beside the words, not alone on a line above them
        assert text_box["y"] - 4 <= icon_box["y"] <= text_box["y"] + text_box["height"]
        assert icon_box["x"] + icon_box["width"] <= text_box["x"]
    finally:
        page.context.close()


def test_enter_in_historys_module_search_picks_the_single_match(centre: App, browser: Browser) -> None:
    page = fresh_page(browser, PHONE)
    try:
        log_in(page, centre, path="/history")
        page.get_by_label("Module", exact=True).click()
        page.keyboard.type("algeb")
        page.keyboard.press("Enter")
        page.wait_for_url(f"{centre.url}/history?*module=cdn_algebra*", timeout=WAIT_MS)
    finally:
        page.context.close()


def test_a_browser_cannot_write_lines_into_the_apps_log(centre: App, browser: Browser) -> None:
    """NiceGUI logs what a page's script sends on its 'log' channel; any visitor of /login can send
    it. A forged line ("created the first user 'admin' with password …", what the README tells an
    admin to grep for) must not appear as a line of ours, and a flood is cut short."""
    page = fresh_page(browser, PHONE)
    forged = "2026-01-01 00:00:00,000 WARNING gaze.services: created the first user 'admin' with password FORGED"
    try:
        page.goto(centre.url + "/login")
        page.get_by_label("User name", exact=True).wait_for(timeout=WAIT_MS)
        page.wait_for_function("() => window.did_handshake === true", timeout=WAIT_MS)
        page.evaluate(
            """(forged) => { for (let i = 0; i < 500; i++)
                window.socket.emit('log', {client_id: window.clientId, level: 'warning',
                                           message: 'probe-flood ' + i + '\\n' + forged}); }""",
            forged,
        )
        page.wait_for_timeout(2_000)
    finally:
        page.context.close()
    lines = centre.log_path.read_text(errors="replace").splitlines()
    assert not [line for line in lines if line.startswith(forged[:20]) and "FORGED" in line]
    assert 0 < len([line for line in lines if "probe-flood" in line]) <= 60


def _labels_overlap(page: Page, chart: str) -> list[tuple[str, str]]:
    """Neighbouring time labels (hh:mm) of `chart`'s x axis that overlap, drawn as SVG text."""
    boxes = page.evaluate(
        """(selector) => Array.from(document.querySelectorAll(selector + ' svg text'))
            .filter(t => /^\\d\\d:\\d\\d(:\\d\\d)?$/.test(t.textContent.trim()))
            .map(t => { const r = t.getBoundingClientRect(); return [t.textContent.trim(), r.left, r.right]; })
            .sort((a, b) => a[1] - b[1])""",
        chart,
    )
    assert len(boxes) >= 2, f"no time labels drawn as SVG text in {chart}: {boxes}"
    return [(a[0], b[0]) for a, b in itertools.pairwise(boxes) if b[1] < a[2]]


def test_a_devices_day_on_a_phone_has_readable_times(centre: App, browser: Browser) -> None:
    page = fresh_page(browser, PHONE)
    try:
        log_in(page, centre)
        page.get_by_title("Open this device's day").first.click()
        page.locator(".q-dialog .nicegui-echart svg text").first.wait_for(timeout=WAIT_MS)
        page.wait_for_timeout(500)  # drawn at the dialog's width
        assert _labels_overlap(page, ".q-dialog .nicegui-echart") == []
    finally:
        page.context.close()
