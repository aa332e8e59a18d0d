"""/history in Debian's Chromium against the real app (issue 9): the filters, page and sort live in the
URL (a reload or a shared link keeps them, Back and Forward step through them), the device filter takes the admin's name for a device,
the session table sorts on the server by any column with the pager intact, a bad link shows notes
instead of an error, and nothing scrolls sideways at 390 px.

Set MODULEGAZE_SHOTS=/some/dir to keep screenshots of /history at 390×844 and 1280×800.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from gaze.db import IMPORT, DeviceLabelRow
from gaze.localtime import local_midnight_ms
from gaze.records import add_records
from gaze.sessions import SessionRecord
from tests import journalkit
from tests.browserkit import (
    ADMIN_PASSWORD,
    ADMIN_USER,
    App,
    access_line,
    append,
    chromium_available,
    entry_path,
    log_in,
    make_catalog,
    now_ms,
    playwright_available,
    running_chromium,
)
from tests.conftest import require

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

pytestmark = pytest.mark.browser

WAIT_MS = 8_000
CATALOG = {"cdn_algebra": "Algebra Basics", "cdn_geo": "Geography of West Africa", "cdn_math": "Mathematics"}
TABLET = "10.0.0.7"
SHOTS = os.environ.get("MODULEGAZE_SHOTS")
PHONE, DESK = (390, 844), (1280, 800)


def records() -> list[SessionRecord]:
    """30 sessions today (durations 61 s … 90 s, user00 the shortest) and 2 yesterday; every third
    of today's on the tablet the admin named "Tablet 07"."""
    today, yesterday = date.today(), date.today() - timedelta(days=1)
    noon = local_midnight_ms(today) + 12 * 3_600_000
    slugs = list(CATALOG)
    out = [
        SessionRecord(
            ip=TABLET if i % 3 == 0 else f"10.0.1.{i}",
            user=f"user{i:02d}",
            module=slugs[i % 3],
            start_ms=noon + i * 600_000 - (61 + i) * 1000,
            end_ms=noon + i * 600_000,
            reason="idle",
        )
        for i in range(30)
    ]
    for n in range(2):
        end = local_midnight_ms(yesterday) + 12 * 3_600_000 + n * 60_000
        out.append(SessionRecord("10.0.2.1", "zoe", "cdn_math", end - 300_000, end, "idle"))
    return out


@pytest.fixture(scope="module")
def centre(tmp_path_factory: pytest.TempPathFactory) -> Iterator[App]:
    require(chromium_available(), "/usr/bin/chromium")
    require(playwright_available(), "playwright (python)")
    require(journalkit.available(), "systemd-journal-remote and journalctl")
    work = tmp_path_factory.mktemp("centre")
    make_catalog(work / "uploads", CATALOG)
    journal = work / "oc4d.journal"
    now = now_ms()
    append(journal, [(now, access_line("10.0.3.1", entry_path("cdn_geo"), now))])
    app = App(journal, work)
    app.add_user(ADMIN_USER, ADMIN_PASSWORD, "admin")  # creates the database
    engine = create_engine(f"sqlite:///{work / 'data' / 'gaze.db'}")
    with Session(engine) as db, db.begin():
        assert add_records(db, records(), IMPORT) == 32
        db.add(DeviceLabelRow(ip=TABLET, label="Tablet 07", updated_ms=now))
    engine.dispose()
    app.start()
    try:
        yield app
    finally:
        app.stop()


@pytest.fixture(scope="module")
def browser(centre: App) -> Iterator[Browser]:
    with running_chromium() as chromium:
        yield chromium


def open_history(browser: Browser, app: App, size: tuple[int, int] = DESK) -> Page:
    page = browser.new_context(viewport={"width": size[0], "height": size[1]}).new_page()
    page.set_default_timeout(WAIT_MS)
    log_in(page, app, path="/history")
    return page


def query(page: Page) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(page.url).query).items()}


def wait_query(browser_page: Page, **wanted: str) -> None:
    page = browser_page
    deadline = time.monotonic() + WAIT_MS / 1000
    while {k: query(page).get(k) for k in wanted} != wanted:
        assert time.monotonic() < deadline, (page.url, wanted)
        page.wait_for_timeout(100)


def column(page: Page, index: int) -> list[str]:
    """The texts of one column of the session table (0 = Ended … 4 = Duration)."""
    return page.locator("table tbody tr").evaluate_all(
        f"rows => rows.map(r => r.children[{index}] ? r.children[{index}].innerText.trim() : '')"
    )


def test_filters_page_and_sort_survive_a_reload(browser: Browser, centre: App) -> None:
    from playwright.sync_api import expect

    page = open_history(browser, centre)
    try:
        expect(page.get_by_text("30 sessions", exact=True)).to_be_visible()
        page.get_by_text("Last 7 days", exact=True).click()
        expect(page.get_by_text("32 sessions", exact=True)).to_be_visible()
        wait_query(page, range="7d")
        page.get_by_label("User").fill("zoe")
        expect(page.get_by_text("2 sessions", exact=True)).to_be_visible()
        wait_query(page, range="7d", user="zoe")
        page.reload()
        expect(page.get_by_text("2 sessions", exact=True)).to_be_visible()
        expect(page.get_by_label("User")).to_have_value("zoe")
        expect(page.get_by_role("button", name="Last 7 days")).to_have_attribute("aria-pressed", "true")
        assert set(column(page, 1)) == {"zoe"}

        page.goto(centre.url + "/history?range=custom&date_from=2000-01-01&date_to=2000-01-02&module=cdn_math")
        expect(page.get_by_text("0 sessions", exact=True)).to_be_visible()
        expect(page.get_by_label("From")).to_have_value("2000-01-01")
        expect(page.get_by_role("combobox", name="Module")).to_have_value("Mathematics (cdn_math)")
    finally:
        page.context.close()


def test_back_and_forward_step_through_the_ranges(browser: Browser, centre: App) -> None:
    """Each range is a history entry: Back shows the previous range selected, with its data, and
    Forward the next; a text filter typed in several keystrokes is one entry, not one per key."""
    from playwright.sync_api import expect

    def shows(range_name: str, key: str, sessions: str) -> None:
        expect(page.get_by_role("button", name=range_name)).to_have_attribute("aria-pressed", "true")
        expect(page.get_by_text(sessions, exact=True)).to_be_visible()
        wait_query(page, range=key)

    page = open_history(browser, centre)
    try:
        shows("Today", "today", "30 sessions")
        page.get_by_text("Last 7 days", exact=True).click()
        shows("Last 7 days", "7d", "32 sessions")
        page.get_by_text("Yesterday", exact=True).click()
        shows("Yesterday", "yesterday", "2 sessions")
        assert set(column(page, 1)) == {"zoe"}
        page.go_back()
        shows("Last 7 days", "7d", "32 sessions")
        expect(page.locator("table tbody tr").first).to_contain_text("user29")  # the table follows too
        page.go_back()
        shows("Today", "today", "30 sessions")
        page.go_forward()
        shows("Last 7 days", "7d", "32 sessions")

        page.get_by_label("User").press_sequentially("zoe", delay=600)  # each keystroke its own change
        expect(page.get_by_text("2 sessions", exact=True)).to_be_visible()
        wait_query(page, range="7d", user="zoe")
        page.go_back()  # the whole filter at once, back to the 7 days unfiltered
        shows("Last 7 days", "7d", "32 sessions")
        expect(page.get_by_label("User")).to_have_value("")
        assert "user" not in query(page)
        assert page.url.startswith(centre.url + "/history")
    finally:
        page.context.close()


def test_downloads_and_links_still_leave_the_page(browser: Browser, centre: App) -> None:
    """Back/Forward come through NiceGUI's sub pages router, which also sees every link click:
    the CSV still downloads and the header's links still open their pages."""
    from playwright.sync_api import expect

    page = open_history(browser, centre)
    try:
        expect(page.get_by_text("30 sessions", exact=True)).to_be_visible()
        with page.expect_download() as download:
            page.get_by_role("button", name="Download CSV").click()
        assert download.value.suggested_filename == "modulegaze-sessions-today.csv"
        expect(page.get_by_text("30 sessions", exact=True)).to_be_visible()  # the page stays as it was
        page.get_by_role("link", name="Devices", exact=True).click()
        page.wait_for_url(centre.url + "/devices")
        page.go_back()
        page.wait_for_url(re.compile(re.escape(centre.url) + r"/history\?range=today$"))
        expect(page.get_by_text("30 sessions", exact=True)).to_be_visible()
    finally:
        page.context.close()


def test_device_filter_takes_a_name(browser: Browser, centre: App) -> None:
    from playwright.sync_api import expect

    page = open_history(browser, centre)
    try:
        expect(page.get_by_text("30 sessions", exact=True)).to_be_visible()
        page.get_by_label("Device name or IP").fill("tablet 07")
        expect(page.get_by_text("10 sessions", exact=True)).to_be_visible()
        wait_query(page, device="tablet 07")
        assert set(column(page, 2)) == {f"Tablet 07 · {TABLET}"}
        page.reload()  # the shared link, by name
        expect(page.get_by_text("10 sessions", exact=True)).to_be_visible()
        page.get_by_label("Device name or IP").fill("Library")
        expect(page.get_by_text("0 sessions", exact=True)).to_be_visible()
        expect(page.get_by_text("no device is named 'Library'", exact=False)).to_be_visible()
        page.get_by_label("Device name or IP").fill(TABLET)  # an IP works as before
        expect(page.get_by_text("10 sessions", exact=True)).to_be_visible()
    finally:
        page.context.close()


def test_sorting_by_a_column_keeps_paging_and_the_url(browser: Browser, centre: App) -> None:
    from playwright.sync_api import expect

    page = open_history(browser, centre)
    try:
        expect(page.get_by_text("30 sessions", exact=True)).to_be_visible()
        assert column(page, 1)[:2] == ["user29", "user28"]  # newest first
        header = page.locator("table thead th").filter(has_text="Duration")
        header.click()
        wait_query(page, sort="duration")
        expect(page.locator("table tbody tr").first).to_contain_text("user00")
        assert column(page, 1) == [f"user{i:02d}" for i in range(25)]  # shortest first, across the page
        page.get_by_role("button", name="2", exact=True).click()
        wait_query(page, sort="duration", page="2")
        expect(page.locator("table tbody tr").first).to_contain_text("user25")
        assert column(page, 1) == [f"user{i:02d}" for i in range(25, 30)]
        page.reload()
        expect(page.locator("table tbody tr").first).to_contain_text("user25")
        page.locator("table thead th").filter(has_text="Duration").click()  # again: longest first, page 1
        wait_query(page, sort="-duration")
        assert "page" not in query(page)
        expect(page.locator("table tbody tr").first).to_contain_text("user29")
        page.locator("table thead th").filter(has_text="User").click()
        wait_query(page, sort="user")
        expect(page.locator("table tbody tr").first).to_contain_text("user00")
    finally:
        page.context.close()


def test_a_bad_link_gives_notes_not_an_error(browser: Browser, centre: App) -> None:
    from playwright.sync_api import expect

    page = open_history(browser, centre)
    try:
        response = page.goto(centre.url + "/history?range=decade&page=-4&sort=colour&date_to=x&user=%01")
        assert response is not None and response.status == 200
        notes = page.get_by_text("Ignored in the link:")
        expect(notes).to_contain_text("range 'decade'")
        expect(notes).to_contain_text("page '-4'")
        expect(notes).to_contain_text("sort 'colour'")
        expect(notes).to_contain_text("user filter")
        expect(page.get_by_text("30 sessions", exact=True)).to_be_visible()
        page.goto(centre.url + "/history?range=custom&date_from=2026-02-30&date_to=2026-03-01&page=99")
        expect(page.get_by_text("Ignored in the link:")).to_contain_text("dates")
        expect(page.get_by_text("30 sessions", exact=True)).to_be_visible()
        wait_query(page, range="today")  # the URL now says what is shown: today, page 2 of 2
        assert query(page).get("page") == "2"
        assert "Traceback" not in centre.output()
    finally:
        page.context.close()


@pytest.mark.parametrize("size", [PHONE, DESK], ids=["390", "1280"])
def test_history_fits_the_screen(browser: Browser, centre: App, size: tuple[int, int]) -> None:
    from playwright.sync_api import expect

    page = open_history(browser, centre, size)
    try:
        page.goto(centre.url + "/history?range=7d&device=Tablet+07&sort=-duration")
        expect(page.get_by_text("10 sessions", exact=True)).to_be_visible()
        width = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert width <= 0
        if SHOTS:
            Path(SHOTS).mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(Path(SHOTS) / f"history-{size[0]}.png"), full_page=True)
            page.screenshot(path=str(Path(SHOTS) / f"history-{size[0]}-screen.png"))
        page.goto(centre.url + "/history?range=a-very-long-range-name-" + "x" * 80 + "&device=Projector&page=z")
        expect(page.get_by_text("Ignored in the link:")).to_be_visible()
        expect(page.get_by_text("no device is named", exact=False)).to_be_visible()
        assert page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth") <= 0
        if SHOTS:
            page.screenshot(path=str(Path(SHOTS) / f"history-{size[0]}-notes.png"))
    finally:
        page.context.close()
