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
- One message per action (issue 20.5): on /users a refusal is replaced by the success that follows
  it, /devices shows one message for three saves; the form's own error lines are gone.
- Issue 20.6: a device's day has a key for its colours, whole module names, and a top line and a
  learner part that each say whose sessions they count.
- Issue 20.7: removing the last admin is refused before the question; "Log out" is a labelled
  button and the login page then says "Logged out"; /devices says which module a device is on.
"""

from __future__ import annotations

import itertools
import re
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
    append,
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
SHARED_IP = "192.168.7.30"  # a Guest's session ends there when amina signs in on it
LONG_MODULE = "Acids, Bases and Salts in Everyday Life"


@pytest.fixture(scope="module")
def centre(tmp_path_factory: pytest.TempPathFactory) -> Iterator[App]:
    """One learner on Algebra Basics, followed from start-up."""
    at = now_ms() - 60_000
    lines = [(at, access_line(LEARNER_IP, entry_path("cdn_algebra"), at))]
    catalog = {"cdn_algebra": "Algebra Basics", "cdn_acids": LONG_MODULE}
    with running_classroom(tmp_path_factory.mktemp("probe"), catalog, lines) as app:
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

        first.get_by_role("button", name="Log out", exact=True).click()
        first.wait_for_url(f"{centre.url}/login?signed_out=1", timeout=WAIT_MS)
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


def _on_the_board(page: Page, ip: str) -> None:
    """Wait until the board shows a live row of device `ip`."""
    row = page.locator("div.border-gray-200").filter(has=page.get_by_text(ip, exact=True))
    row.first.wait_for(timeout=WAIT_MS)


def test_one_message_per_action(centre: App, browser: Browser) -> None:
    from playwright.sync_api import expect

    page = fresh_page(browser, DESK)
    messages = page.locator(".q-notification")
    try:
        log_in(page, centre, path="/users")
        page.get_by_label("User name", exact=True).fill("teacher")
        page.get_by_label("Password", exact=True).fill("short")
        page.get_by_role("button", name="Add user").click()
        expect(messages.filter(has_text="A password needs at least 8 characters.")).to_be_visible()
        page.get_by_label("Password", exact=True).fill("teacher-secret-1")
        page.get_by_role("button", name="Add user").click()
        expect(messages.filter(has_text="User teacher added")).to_be_visible()
        expect(messages).to_have_count(1)  # the refusal before it is gone: replaced, not piled
        expect(page.get_by_text("A password needs at least 8 characters.")).to_have_count(0)

        page.goto(centre.url + "/devices")
        address, name = page.get_by_label("IP address", exact=True), page.get_by_label("Name, e.g. Tablet 07")
        for ip, label, said in (
            ("not-an-ip", "Tablet 77", "Name of not-an-ip not saved"),
            ("10.0.0.77", "x" * 41, "Name of 10.0.0.77 not saved"),
            ("10.0.0.77", "Tablet 77", "10.0.0.77: Tablet 77"),
        ):
            address.fill(ip)
            name.fill(label)
            name.press("Enter")
            expect(messages.last).to_contain_text(said)
        expect(messages).to_have_count(1)
        expect(messages).to_have_text(re.compile("10.0.0.77: Tablet 77"))
        expect(page.get_by_text("not saved")).to_have_count(0)
        box, height = messages.bounding_box(), page.viewport_size["height"] if page.viewport_size else 0
        assert box is not None and box["y"] > height / 2  # at the bottom: one place on every page
    finally:
        page.context.close()


def test_a_devices_day_says_whose_sessions_it_counts(centre: App, browser: Browser) -> None:
    from playwright.sync_api import expect

    at = now_ms()
    append(
        centre.journal,
        [
            (at - 120_000, access_line(SHARED_IP, entry_path("cdn_acids"), at - 120_000)),
            (at - 5_000, access_line(SHARED_IP, entry_path("cdn_algebra"), at - 5_000, user="amina@example.com")),
        ],
    )
    for size in (PHONE, DESK):
        page = fresh_page(browser, size)
        try:
            log_in(page, centre)
            _on_the_board(page, SHARED_IP)
            page.wait_for_timeout(1_500)  # the Guest's ended session stored (the recorder's next save)
            page.locator("div.border-gray-200").filter(has=page.get_by_text(SHARED_IP, exact=True)).first.click()
            day = page.get_by_role("dialog")
            top = re.compile(
                r"^Today on this device, anyone's: 1 ended session \(.+\) by a Guest; "
                r"open now: amina@example.com on Algebra Basics \(.+ so far\)\.$"
            )
            expect(day.get_by_text(top)).to_be_visible()
            learner = "No ended sessions of amina@example.com on any device today yet."
            expect(day.get_by_text(learner, exact=True)).to_be_visible()
            expect(day.get_by_text("ended session", exact=True)).to_be_visible()  # the key of the colours
            expect(day.get_by_text("open session, still going", exact=True)).to_be_visible()
            chart = day.locator(".nicegui-echart").first
            chart.locator("svg text").first.wait_for(timeout=WAIT_MS)
            page.wait_for_timeout(500)  # drawn at the dialog's width
            words = " ".join(" ".join(chart.locator("svg text").all_text_contents()).split())  # a name on 2 lines
            assert "Everyday Life" in words and "…" not in words and "..." not in words, words  # not cut
        finally:
            page.context.close()


def test_devices_says_which_module_a_device_is_on(centre: App, browser: Browser) -> None:
    from playwright.sync_api import expect

    at = now_ms()
    append(centre.journal, [(at, access_line("192.168.7.40", entry_path("cdn_acids"), at))])
    page = fresh_page(browser, PHONE)
    try:
        log_in(page, centre)
        _on_the_board(page, "192.168.7.40")
        page.goto(centre.url + "/devices")
        row = page.locator("div.border-b").filter(has=page.get_by_text("192.168.7.40", exact=True))
        expect(row).to_contain_text(f"now on {LONG_MODULE}")
    finally:
        page.context.close()


def test_sign_out_is_labelled_and_the_login_page_says_so(centre: App, browser: Browser) -> None:
    from playwright.sync_api import expect

    page = fresh_page(browser, PHONE)
    try:
        log_in(page, centre)
        sign_out = page.get_by_role("button", name="Log out", exact=True)
        expect(sign_out).to_be_visible()
        expect(sign_out).to_contain_text("Log out")  # words on the button, not an icon alone
        sign_out.click()
        page.wait_for_url("**/login?signed_out=1", timeout=WAIT_MS)
        expect(page.get_by_role("status")).to_have_text("Logged out. Log in again to see the board.")
    finally:
        page.context.close()


def test_removing_the_last_admin_is_refused_before_the_question(centre: App, browser: Browser) -> None:
    """Runs after the tests that add admins: the tests' admin is the only one left."""
    from playwright.sync_api import expect

    page = fresh_page(browser, DESK)
    try:
        log_in(page, centre, path="/users")
        expect(page.get_by_role("combobox", name=re.compile("^Role of"))).not_to_have_count(0)
        page.get_by_role("button", name=f"Remove user {ADMIN_USER}").click()
        expect(page.locator(".q-notification", has_text="The last admin cannot be removed.")).to_be_visible()
        expect(page.locator(".q-dialog")).to_have_count(0)  # no "Remove tester?" asked first
    finally:
        page.context.close()
