"""The board an admin trusts at a glance, in Debian's Chromium against the real app (issue 9).

A classroom in a real .journal file: seven Guests on Algebra Basics for 25 minutes, two on
Geography for 3 minutes, Anna on Mathematics. The tests run in file order and build on each other:
refused limit values save nothing (checked in the app's own database); the form says what a limit
does before saving and Enter saves it; seven learners over at once give one banner, one
notification and the count in the tab title, and one "Mark seen"; alerts end by themselves
when their limit is removed; removing a user asks first and a refused role change shows the stored
role again, with no error in the app's log; no page scrolls sideways at 390 px. A second app,
started without background monitoring, shows the stopped board frozen after a confirmed Stop.

Set MODULEGAZE_SHOTS=/some/dir to keep screenshots of every page at 390×844 and 1280×800.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import create_engine, text

from tests.browserkit import (
    ADMIN_USER,
    DESK,
    PHONE,
    UNMONITORED,
    App,
    access_line,
    asset_path,
    chromium_after,
    entry_path,
    logged_in_page,
    now_ms,
    running_classroom,
)

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Locator, Page

pytestmark = pytest.mark.browser

CATALOG = {"cdn_algebra": "Algebra Basics", "cdn_geo": "Geography of West Africa", "cdn_math": "Mathematics"}
ALGEBRA_IPS = [f"192.168.4.{n}" for n in range(11, 18)]
GEO_IPS = ["192.168.4.31", "192.168.4.32"]
ANNA_IP = "192.168.4.50"
PAGES = ["/", "/history", "/devices", "/users"]
SHOTS = os.environ.get("MODULEGAZE_SHOTS")


@pytest.fixture(scope="module")
def classroom(tmp_path_factory: pytest.TempPathFactory) -> Iterator[App]:
    now = now_ms()
    lines = [(now - 25 * 60_000, access_line(ip, entry_path("cdn_algebra"), now - 25 * 60_000)) for ip in ALGEBRA_IPS]
    lines += [(now - 3 * 60_000, access_line(ip, entry_path("cdn_geo"), now - 3 * 60_000)) for ip in GEO_IPS]
    lines.append((now - 60_000, access_line(ANNA_IP, entry_path("cdn_math"), now - 60_000, user="anna@example.com")))
    for ago in range(21, 0, -4):  # still active: a request every 4 minutes keeps the 25-minute sessions open
        at = now - ago * 60_000
        lines += [(at, access_line(ip, asset_path("cdn_algebra"), at)) for ip in ALGEBRA_IPS]
    lines.sort(key=lambda line: line[0])
    work = tmp_path_factory.mktemp("classroom")
    with running_classroom(work, CATALOG, lines, users=[("helper", "helper-secret-9", "viewer")]) as app:
        yield app


browser = chromium_after("classroom")


def board(browser: Browser, app: App, size: tuple[int, int] = DESK, path: str = "/") -> Page:
    return logged_in_page(browser, app, size, path=path)


@pytest.fixture
def page(browser: Browser, classroom: App) -> Iterator[Page]:
    page = board(browser, classroom)
    page.get_by_text("Live sessions", exact=True).wait_for()
    try:
        yield page
    finally:
        page.context.close()


def stored_limits(app: App) -> list[tuple[str, int]]:
    engine = create_engine(f"sqlite:///{app.workdir / 'data' / 'gaze.db'}")
    try:
        with engine.connect() as db:
            return [(m, n) for m, n in db.execute(text("SELECT module, minutes FROM time_limit ORDER BY module"))]
    finally:
        engine.dispose()


def open_limits(page: Page) -> Locator:
    page.get_by_role("button", name="Limits", exact=True).click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_text("Time limits", exact=True).wait_for()
    return dialog


def choose(page: Page, search: str) -> None:
    """Type into the module search and press Enter: the single match is chosen."""
    select = page.get_by_role("combobox", name="Module")
    select.click()
    select.press_sequentially(search)
    select.press("Enter")


def banners(page: Page) -> Locator:
    return page.get_by_role("region", name=re.compile("^Over the limit: "))


def test_refused_minutes_save_nothing(page: Page, classroom: App) -> None:
    from playwright.sync_api import expect

    open_limits(page)
    choose(page, "Algeb")
    minutes = page.get_by_label("Minutes")
    for value, message in (
        ("0", "0 minutes is outside 1–1440 (24 hours). Nothing was saved."),
        ("-3", "-3 minutes is outside 1–1440 (24 hours). Nothing was saved."),
        ("99999", "99999 minutes is outside 1–1440 (24 hours). Nothing was saved."),
        ("2.5", "“2.5” is not a whole number of minutes: enter 1 to 1440. Nothing was saved."),
    ):
        minutes.fill(value)
        minutes.press("Enter")
        expect(page.get_by_role("alert")).to_have_text(message)
        expect(minutes).to_have_value(value)  # the field keeps what was typed: nothing guessed
    page.wait_for_timeout(500)
    assert stored_limits(classroom) == []
    expect(page.get_by_text("No limits set.", exact=False)).to_be_visible()


def test_limit_says_what_it_does_and_seven_over_make_one_banner(page: Page, classroom: App) -> None:
    from playwright.sync_api import expect

    dialog = open_limits(page)
    choose(page, "Algeb")
    minutes = page.get_by_label("Minutes")
    minutes.fill("20")
    expect(
        dialog.get_by_text("Limits Algebra Basics to 20 min: puts 7 learners over the limit now (of 7 on it).")
    ).to_be_visible()
    minutes.press("Enter")
    notes = page.locator(".q-notification")
    expect(notes.filter(has_text="puts 7 learners over the limit now")).to_have_count(1)
    expect(dialog.get_by_text("20 min", exact=True)).to_be_visible()
    assert stored_limits(classroom) == [("cdn_algebra", 20)]
    page.get_by_role("button", name="Close time limits").click()

    expect(banners(page)).to_have_count(1)
    expect(banners(page)).to_contain_text("Algebra Basics: 7 over 20 min")
    expect(page).to_have_title("(7) Module Gaze")
    expect(notes.filter(has_text="7 learners went over a time limit: Algebra Basics (7)")).to_have_count(1)
    expect(notes.filter(has_text="has been on")).to_have_count(0)  # not one pop-up per learner
    # Every message stands in one place (the bottom, where the form's message is): stacked, never
    # overlapping a message in another corner (issue 20.5).
    bottom = page.locator(".q-notifications__list--bottom.items-center .q-notification")
    expect(bottom.filter(has_text="7 learners went over a time limit")).to_have_count(1)
    expect(page.locator(".q-card").filter(has_text="Over limit now")).to_have_class(re.compile(r"\bbg-red-700\b"))

    page.get_by_role("button", name="Mark seen: Algebra Basics: 7 over 20 min").click()
    expect(banners(page)).to_have_count(0)
    expect(page).to_have_title("Module Gaze")
    expect(page.get_by_text(re.compile(rf"^seen by {ADMIN_USER} "))).to_have_count(7)


def test_alerts_end_when_their_limit_is_removed(page: Page, classroom: App) -> None:
    from playwright.sync_api import expect

    dialog = open_limits(page)
    choose(page, "Geogr")
    page.get_by_label("Minutes").fill("1")
    page.get_by_role("button", name="Set limit").click()
    expect(dialog.get_by_text("1 min", exact=True)).to_be_visible()
    page.get_by_role("button", name="Close time limits").click()
    expect(banners(page).filter(has_text="Geography of West Africa: 2 over 1 min")).to_have_count(1)
    expect(page).to_have_title("(2) Module Gaze")

    open_limits(page)
    expect(page.get_by_role("button", name="Update limit")).to_be_visible()  # the form still shows Geography
    page.get_by_label("Minutes").fill("5")
    expect(dialog.get_by_text(re.compile("^Changes Geography of West Africa from 1 to 5 min"))).to_be_visible()
    page.get_by_role("button", name="Remove limit for Geography of West Africa").click()
    # One message, and a form that starts afresh: no Geography, 5, UPDATE LIMIT left behind (issue 20.5).
    notes = page.locator(".q-notification")
    expect(notes.filter(has_text="Limit removed for Geography of West Africa")).to_have_count(1)
    expect(notes.filter(has_text="Limits Geography")).to_have_count(0)
    expect(dialog.get_by_text(re.compile("Geography of West Africa from 1 to 5"))).to_have_count(0)
    expect(page.get_by_role("button", name="Set limit")).to_be_visible()
    expect(page.get_by_role("button", name="Update limit")).to_have_count(0)
    expect(page.get_by_label("Minutes")).to_have_value("")
    expect(page.get_by_role("combobox", name="Module")).to_have_value("")
    page.get_by_role("button", name="Close time limits").click()
    expect(banners(page)).to_have_count(0)
    expect(page).to_have_title("Module Gaze")
    expect(page.get_by_text(re.compile(r"^limit removed \d\d:\d\d:\d\d$"))).to_have_count(2)
    assert stored_limits(classroom) == [("cdn_algebra", 20)]


def test_users_remove_asks_first_and_refused_role_reverts(browser: Browser, classroom: App) -> None:
    from playwright.sync_api import expect

    page = board(browser, classroom, path="/users")
    try:
        rows = page.locator("div.border-b").filter(has=page.get_by_role("button", name=re.compile("^Remove user")))
        expect(rows).to_have_count(2)
        page.get_by_role("button", name="Remove user helper").click()
        dialog = page.get_by_role("dialog")
        expect(dialog).to_contain_text("Remove helper?")
        dialog.get_by_role("button", name="Cancel").click()
        expect(dialog).to_have_count(0)
        expect(rows).to_have_count(2)

        role = page.get_by_role("combobox", name=f"Role of {ADMIN_USER}")
        role.click()
        page.get_by_role("option", name="viewer", exact=True).click()
        refused = page.locator(".q-notification").filter(has_text="The last admin cannot lose the admin role.")
        expect(refused).to_have_count(1)  # the one message of this action (components/messages.py)
        expect(page.get_by_role("combobox", name=f"Role of {ADMIN_USER}")).to_have_value("admin")

        page.get_by_role("button", name="Remove user helper").click()
        page.get_by_role("dialog").get_by_role("button", name="Remove helper").click()
        expect(page.locator(".q-notification").filter(has_text="User helper removed")).to_have_count(1)
        expect(rows).to_have_count(1)
    finally:
        page.context.close()
    assert "RuntimeError" not in classroom.output()
    assert "has been deleted" not in classroom.output()


def overflow(page: Page) -> int:
    """How far the page scrolls sideways (0 = not at all)."""
    return int(page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth"))


def shot(page: Page, name: str) -> None:
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SHOTS) / f"{name}.png"), full_page=True)


@pytest.mark.parametrize("size", [PHONE, DESK], ids=["390", "1280"])
def test_no_page_scrolls_sideways(browser: Browser, classroom: App, size: tuple[int, int]) -> None:
    from playwright.sync_api import expect

    page = board(browser, classroom, size)
    try:
        for path in PAGES:
            page.goto(classroom.url + path)
            page.locator("header").wait_for()
            page.wait_for_timeout(600)  # charts and pushed content drawn
            assert overflow(page) <= 0, f"{path} scrolls sideways at {size[0]} px"
            shot(page, f"{path.strip('/') or 'board'}-{size[0]}")
        page.goto(classroom.url + "/")
        if size == DESK:  # the live table's columns line up with their titles
            titles = page.locator("div.uppercase").first
            row = page.locator("div.border-gray-200").filter(has=page.get_by_text(ANNA_IP, exact=True))
            for title, cell in (("Device", ANNA_IP), ("Module", "Mathematics")):
                head = titles.get_by_text(title, exact=True).bounding_box()
                body = row.get_by_text(cell, exact=True).bounding_box()
                assert head is not None and body is not None and abs(head["x"] - body["x"]) < 1, (title, head, body)
        open_limits(page)
        select = page.get_by_role("combobox", name="Module")
        select.click()
        menu = page.get_by_role("listbox")
        expect(menu).to_be_visible()
        box = menu.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= size[0] + 0.5, box
        assert overflow(page) <= 0
        shot(page, f"limits-{size[0]}")
        if size == PHONE:
            page.keyboard.press("Escape")
            page.goto(classroom.url + "/history")
            expect(page.get_by_text("Last 7 days", exact=True)).to_be_visible()
            assert overflow(page) <= 0
            page.get_by_role("combobox", name="Module").click()  # its menu stays inside the screen
            menu = page.get_by_role("listbox")
            expect(menu).to_be_visible()
            box = menu.bounding_box()
            assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= size[0] + 0.5, box
            assert overflow(page) <= 0
    finally:
        page.context.close()


def test_stopped_board_says_so_and_freezes(browser: Browser, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    now = now_ms()
    lines = [(now, access_line(ANNA_IP, entry_path("cdn_math"), now, user="anna@example.com"))]
    with running_classroom(tmp_path, CATALOG, lines, extra_env=UNMONITORED, following=False) as app:
        page = board(browser, app)
        stopped = page.get_by_role("status").filter(has_text="Monitoring is stopped")
        expect(stopped).to_be_visible()
        page.get_by_role("button", name="Start monitoring").click()
        expect(stopped).not_to_be_visible()
        badge = page.get_by_role("status", name="time on module")
        expect(badge).to_be_visible()
        first = badge.inner_text()
        expect(badge).not_to_have_text(first, timeout=3_000)  # ticking while monitoring runs

        page.get_by_role("button", name="Stop monitoring").click()
        dialog = page.get_by_role("dialog")
        expect(dialog).to_contain_text("Stop monitoring?")
        dialog.get_by_role("button", name="Cancel").click()
        expect(dialog).to_have_count(0)
        expect(page.get_by_role("button", name="Stop monitoring")).to_be_visible()
        expect(stopped).not_to_be_visible()
        page.wait_for_timeout(1_500)
        expect(stopped).not_to_be_visible()  # Cancel stopped nothing

        page.get_by_role("button", name="Stop monitoring").click()
        page.get_by_role("dialog").get_by_role("button", name="Stop monitoring").click()
        expect(stopped).to_be_visible()
        expect(stopped).to_contain_text(re.compile(r"since \d\d:\d\d:\d\d"))
        expect(page.get_by_role("button", name="Start monitoring")).to_be_visible()
        frozen = badge.inner_text()
        page.wait_for_timeout(2_500)
        assert badge.inner_text() == frozen, "the stopped board still ticks"
        expect(page.locator(".grayscale").filter(has=badge)).to_have_count(1)
        shot(page, "stopped-1280")
        page.context.close()


def test_a_live_row_opens_the_devices_day(page: Page, classroom: App) -> None:
    from playwright.sync_api import expect

    row = page.locator("div.border-gray-200").filter(has=page.get_by_text(ANNA_IP, exact=True))
    row.click()
    day = page.get_by_role("dialog")
    expect(day.get_by_text(f"{ANNA_IP}: today", exact=True)).to_be_visible()
    expect(
        day.get_by_text(
            re.compile(r"^Today on this device, anyone's: no ended sessions yet; open now: anna@example.com on Mathem")
        )
    ).to_be_visible()
    expect(day.get_by_text("anna@example.com on any device: minutes per module", exact=True)).to_be_visible()
    page.wait_for_timeout(300)
    shot(page, "device-day-1280")
    day.get_by_label("Device name").fill("Tablet 07")
    day.get_by_label("Device name").press("Enter")
    expect(day.get_by_text(f"Tablet 07 · {ANNA_IP}: today", exact=True)).to_be_visible()
    page.get_by_role("button", name="Close the device's day").click()
    expect(page.get_by_text(f"Tablet 07 · {ANNA_IP}", exact=True)).to_be_visible()  # the row's device, renamed
    page.locator("div.border-gray-200").filter(has=page.get_by_text(GEO_IPS[0], exact=True)).click()
    expect(day.get_by_text(f"{GEO_IPS[0]}: today", exact=True)).to_be_visible()
    for taken, why in (
        ("tablet 07 ", f"{ANNA_IP} is already called 'Tablet 07'"),
        (ANNA_IP, "a name cannot be an IP address"),
    ):
        day.get_by_label("Device name").fill(taken)  # another device's name (any case) or address: refused
        day.get_by_role("button", name="Save name", exact=True).click()
        expect(page.get_by_text(f"Name not saved: {why}", exact=False)).to_be_visible()
    expect(day.get_by_text(f"{GEO_IPS[0]}: today", exact=True)).to_be_visible()  # still unnamed
    page.get_by_role("button", name="Close the device's day").click()


def test_wall_display_is_large_and_has_no_controls(browser: Browser, classroom: App) -> None:
    from playwright.sync_api import expect

    page = board(browser, classroom, path="/wall")
    try:
        expect(page.get_by_role("status", name="time on module")).to_have_count(10)
        expect(page.get_by_text("Live users", exact=True)).to_be_visible()
        assert page.get_by_role("button").count() == 0
        assert page.get_by_role("textbox").count() == 0 and page.get_by_role("combobox").count() == 0
        size = page.evaluate("parseFloat(getComputedStyle(document.documentElement).fontSize)")
        assert size >= 24
        page.wait_for_timeout(500)
        assert overflow(page) <= 0
        shot(page, "wall-1280")
    finally:
        page.context.close()


def test_rows_come_with_the_first_html_and_the_chart_after_it(page: Page, classroom: App) -> None:
    """Issue 9, login -> first row: the board's first HTML already holds every open session (no wait
    for a push), and not ECharts (about 1 MB of script the first row would wait for): the "Today so
    far" chart is drawn once the page is connected, in the place kept for it."""
    from playwright.sync_api import expect

    first = page.request.get(classroom.url + "/")  # the same browser session, as the login lands
    html = first.text()
    assert first.ok and "Live sessions" in html
    assert all(ip in html for ip in [*ALGEBRA_IPS, *GEO_IPS, ANNA_IP])
    assert '"tag":"nicegui-echart"' not in html and "echart.js" not in html
    card = page.locator(".q-card").filter(has=page.get_by_text(re.compile(r"^Today so far: minutes per module")))
    expect(card.locator(".nicegui-echart svg").first).to_be_visible()
    assert card.locator(".nicegui-echart").bounding_box()["height"] >= 200  # type: ignore[index]
