"""/history in Debian's Chromium against the real app (issue 9): the filters, page and sort live in the
URL (a reload or a shared link keeps them, Back and Forward step through them), the device filter takes the admin's name for a device,
the session table sorts on the server by any column with the pager intact, a bad link shows notes
instead of an error, and nothing scrolls sideways at 390 px — not even inside the page: on a phone each
session is a card showing every column. The device timeline says so when it has nothing to draw.
/devices refuses a name another device has (any case) or an IP address, saving nothing; Enter saves.

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
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from gaze.db import IMPORT, DeviceLabelRow
from gaze.localtime import local_midnight_ms
from gaze.records import add_records
from gaze.sessions import SessionRecord
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
    logged_in_page,
    now_ms,
    running_classroom,
)

if TYPE_CHECKING:
    from playwright.sync_api import Browser, FloatRect, Locator, Page

pytestmark = pytest.mark.browser

CATALOG = {"cdn_algebra": "Algebra Basics", "cdn_geo": "Geography of West Africa", "cdn_math": "Mathematics"}
TABLET = "10.0.0.7"
SHOTS = os.environ.get("MODULEGAZE_SHOTS")


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
    now = now_ms()

    def seed(app: App) -> None:  # the admin, added first, created the database
        engine = create_engine(f"sqlite:///{app.workdir / 'data' / 'gaze.db'}")
        with Session(engine) as db, db.begin():
            assert add_records(db, records(), IMPORT) == 32
            db.add(DeviceLabelRow(ip=TABLET, label="Tablet 07", updated_ms=now))
        engine.dispose()

    lines = [(now, access_line("10.0.3.1", entry_path("cdn_geo"), now))]
    admin = (ADMIN_USER, ADMIN_PASSWORD, "admin")
    with running_classroom(tmp_path_factory.mktemp("centre"), CATALOG, lines, users=[admin], prepare=seed) as app:
        yield app


browser = chromium_after("centre")


def open_history(browser: Browser, app: App, size: tuple[int, int] = DESK) -> Page:
    return logged_in_page(browser, app, size, path="/history")


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
        shown: list[str] = []  # every URL the page writes, pushed or replaced
        page.on("framenavigated", lambda frame: shown.append(frame.url) if frame == page.main_frame else None)
        page.goto(centre.url + "/history?range=custom&date_from=2026-02-30&date_to=2026-03-01&page=99")
        expect(page.get_by_text("Ignored in the link:")).to_contain_text("dates")
        expect(page.get_by_text("30 sessions", exact=True)).to_be_visible()
        wait_query(page, range="today")  # the URL now says what is shown: today, page 2 of 2
        assert query(page).get("page") == "2"
        written = [parse_qs(urlsplit(url).query) for url in shown]
        assert {"range": ["today"], "page": ["99"]} not in written, shown  # it never said "today, page 99"
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


# elements inside the page that scroll sideways within themselves; not the hidden ones (no box,
# see-through like Quasar's 1-px focus target of a select, or clipped to nothing like the chart's
# keyboard buttons until one has the focus: Tailwind's sr-only)
SCROLLING_INSIDE = """() => [...document.querySelectorAll('.q-page *')]
    .filter(e => e.getClientRects().length && getComputedStyle(e).opacity !== '0')
    .filter(e => !e.closest('.sr-only:not(:focus)'))
    .filter(e => e.scrollWidth > e.clientWidth + 0.5)
    .map(e => `${e.tagName}.${e.className}: ${e.scrollWidth} > ${e.clientWidth}`)"""


def card_value(card: Locator, title: str) -> Locator:
    """A session card's value for one column (its title on the left)."""
    row = card.locator(".q-table__grid-item-row").filter(has=card.page.get_by_text(title, exact=True))
    return row.locator(".q-table__grid-item-value")


def test_on_a_phone_every_column_of_a_session_is_on_screen(browser: Browser, centre: App) -> None:
    from playwright.sync_api import expect

    page = open_history(browser, centre, PHONE)
    try:
        page.goto(centre.url + "/history?range=7d&device=Tablet+07&sort=-duration")
        expect(page.get_by_text("10 sessions", exact=True)).to_be_visible()
        expect(page.locator("table tbody tr").first).to_be_hidden()  # the wide table is for wider screens
        cards = page.locator(".q-table__grid-item-card")
        expect(cards).to_have_count(10)
        first = cards.first
        expect(card_value(first, "User")).to_have_text("user27")  # longest first
        expect(card_value(first, "Device")).to_have_text(f"Tablet 07 · {TABLET}")
        duration = card_value(first, "Duration")
        expect(duration).to_have_text("1m 28s")
        duration.hover()  # scrolls it into view; retried if the cards redraw meanwhile (scroll_into_view is not)
        box = duration.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= PHONE[0], box
        assert page.evaluate(SCROLLING_INSIDE) == []
        assert page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth") <= 0
        sort = page.get_by_role("combobox", name="Sort")
        expect(sort).to_have_value("Longest first")
        sort.click()
        menu = page.get_by_role("listbox")
        box = menu.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= PHONE[0] + 0.5, box
        menu.get_by_text("Shortest first", exact=True).click()
        wait_query(page, sort="duration")
        expect(card_value(cards.first, "User")).to_have_text("user00")
        cards.first.click()  # a card opens that device's day, as a row does
        expect(page.get_by_text(re.compile(rf"^Tablet 07 · {re.escape(TABLET)} on .*: 10 sessions$"))).to_be_visible()
        if SHOTS:
            Path(SHOTS).mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(Path(SHOTS) / "history-390-cards.png"), full_page=True)
        assert page.evaluate(SCROLLING_INSIDE) == []
    finally:
        page.context.close()


def full_size(box: FloatRect | None, size: tuple[int, int]) -> bool:
    return box is not None and box["height"] > 200 and box["width"] > min(size[0] * 0.7, 600)


@pytest.mark.parametrize("size", [PHONE, DESK], ids=["390", "1280"])
def test_a_row_opens_its_device_day_where_the_admin_looks(browser: Browser, centre: App, size: tuple[int, int]) -> None:
    """Clicking a session (a row, a card on a phone) far down the list opens that device's day in a
    dialog over the page: its timeline is on screen, drawn full size; Escape closes it."""
    from playwright.sync_api import expect

    page = open_history(browser, centre, size)
    try:
        expect(page.get_by_text("30 sessions", exact=True)).to_be_visible()
        rows = page.locator("table tbody tr" if size == DESK else ".q-table__grid-item-card")
        row = rows.filter(has_text="user06")  # the 24th of 25: the bottom of the list, on the tablet
        row.click()  # scrolls down to it; retried if the table redraws meanwhile (scroll_into_view is not)
        title = page.get_by_text(re.compile(rf"^Tablet 07 · {re.escape(TABLET)} on .*: 10 sessions$"))
        expect(title).to_be_in_viewport()
        timeline = page.locator(".q-dialog .nicegui-echart")
        expect(timeline).to_be_in_viewport(ratio=1)
        deadline = time.monotonic() + WAIT_MS / 1000
        while not full_size(timeline.bounding_box(), size):  # once the dialog has grown to its size
            assert time.monotonic() < deadline, timeline.bounding_box()
            page.wait_for_timeout(100)
        expect(timeline).to_be_in_viewport(ratio=1)
        expect(page.get_by_role("dialog", name=re.compile("^Tablet 07"))).to_be_visible()
        if SHOTS:
            Path(SHOTS).mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(Path(SHOTS) / f"history-{size[0]}-day.png"))
        page.keyboard.press("Escape")
        expect(title).to_be_hidden()
    finally:
        page.context.close()


def stored_names(app: App) -> dict[str, str]:
    engine = create_engine(f"sqlite:///{app.workdir / 'data' / 'gaze.db'}")
    try:
        with engine.connect() as db:
            return dict(db.execute(text("SELECT ip, label FROM device_label")).all())  # type: ignore[arg-type]
    finally:
        engine.dispose()


@pytest.mark.parametrize("size", [PHONE, DESK], ids=["390", "1280"])
def test_a_device_name_is_its_own(browser: Browser, centre: App, size: tuple[int, int]) -> None:
    from playwright.sync_api import expect

    page = open_history(browser, centre, size)
    other = "10.0.1.1"
    try:
        page.goto(centre.url + "/devices")
        name = page.get_by_role("textbox", name=f"Name for {other}", exact=True)
        save = page.get_by_role("button", name=f"Save name for {other}", exact=True)
        expect(page.get_by_role("textbox", name=f"Name for {TABLET}", exact=True)).to_have_value("Tablet 07")
        if SHOTS:
            Path(SHOTS).mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(Path(SHOTS) / f"devices-{size[0]}.png"), full_page=True)
        name.fill("  tablet 07 ")
        name.press("Enter")
        refused = page.get_by_text(f"Name of {other} not saved: {TABLET} is already called 'Tablet 07'", exact=False)
        expect(refused).to_be_visible()
        if SHOTS:
            page.screenshot(path=str(Path(SHOTS) / f"devices-{size[0]}-refused.png"))
        name.fill(TABLET)
        save.click()
        expect(
            page.get_by_text(f"Name of {other} not saved: a name cannot be an IP address ({TABLET} is another device")
        ).to_be_visible()
        assert stored_names(centre) == {TABLET: "Tablet 07"}  # nothing saved
        assert page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth") <= 0
        name.fill("Tablet 01")
        name.press("Enter")  # Enter saves
        expect(page.get_by_text(f"{other}: Tablet 01", exact=True)).to_be_visible()
        assert stored_names(centre) == {TABLET: "Tablet 07", other: "Tablet 01"}
        expect(refused).to_be_hidden()
        name.fill("")
        save.click()  # an empty name removes it
        expect(page.get_by_text(f"{other}: name removed", exact=True)).to_be_visible()
        assert stored_names(centre) == {TABLET: "Tablet 07"}
    finally:
        page.context.close()


# what a chart on the page draws now: ECharts' own merged options (test-only JS)
CHART_STATE = """el => { const o = getElement(el.id.slice(1)).chart.getOption();
    return {title: (o.title || []).filter(t => t.show !== false).map(t => t.text).filter(Boolean),
            axes: [...o.xAxis, ...o.yAxis].map(a => a.show !== false),
            names: o.yAxis[0].data || []}; }"""


def chart_state(page: Page, index: int) -> dict[str, object]:
    return page.locator(".nicegui-echart").nth(index).evaluate(CHART_STATE)  # type: ignore[no-any-return]


def test_charts_redraw_whole_after_an_empty_result(browser: Browser, centre: App) -> None:
    """A filter that matches nothing, then cleared (or an empty range, then Today): the module and
    hour charts show their axes and names again, not the empty chart's words across the bars."""
    from playwright.sync_api import expect

    page = open_history(browser, centre)
    try:
        expect(page.get_by_text("30 sessions", exact=True)).to_be_visible()
        whole = {"title": [], "axes": [True, True], "names": sorted(CATALOG.values())}
        for step in ("device", "range"):
            if step == "device":
                page.get_by_label("Device name or IP").fill("Library")
            else:
                page.goto(centre.url + "/history?range=custom&date_from=2000-01-01&date_to=2000-01-02")
            expect(page.get_by_text("0 sessions", exact=True)).to_be_visible()
            assert chart_state(page, 0)["title"] == ["No ended sessions in this range."]
            assert chart_state(page, 1)["axes"] == [False, False]
            if step == "device":
                page.get_by_label("Device name or IP").fill("")
            else:
                page.get_by_role("button", name="Today").click()
            expect(page.get_by_text("30 sessions", exact=True)).to_be_visible()
            modules = chart_state(page, 0)
            assert {**modules, "names": sorted(modules["names"])} == whole, (step, modules)  # type: ignore[call-overload]
            hours = chart_state(page, 1)
            assert hours["title"] == [] and hours["axes"] == [True, True], (step, hours)
    finally:
        page.context.close()


def downloaded_rows(page: Page) -> list[list[str]]:
    import csv

    with page.expect_download() as download:
        page.get_by_role("button", name="Download CSV").click()
    path = download.value.path()
    with open(path, encoding="utf-8", newline="") as file:
        return list(csv.reader(file))[1:]


def test_filters_find_part_of_an_address_a_name_or_a_user(browser: Browser, centre: App) -> None:
    """What a person types: part of an address, part of a device's name, part of a user name, any
    case — the table, the totals and the CSV download alike."""
    from playwright.sync_api import expect

    page = open_history(browser, centre)
    try:
        expect(page.get_by_text("30 sessions", exact=True)).to_be_visible()
        device = page.get_by_label("Device name or IP")
        device.fill("10.0.1")  # 20 devices 10.0.1.x, one session each
        expect(page.get_by_text("20 sessions", exact=True)).to_be_visible()
        expect(page.locator(".q-card").filter(has_text="Devices").get_by_text("20", exact=True)).to_be_visible()
        rows = downloaded_rows(page)
        assert len(rows) == 20 and {row[2].rsplit(".", 1)[0] for row in rows} == {"10.0.1"}
        device.fill("0.0.7")
        expect(page.get_by_text("Device: named", exact=False)).to_be_hidden()
        expect(page.get_by_text("10 sessions", exact=True)).to_be_visible()
        device.fill("TABL")  # part of the name the admin gave 10.0.0.7
        expect(page.get_by_text("10 sessions", exact=True)).to_be_visible()
        expect(page.get_by_text(f"Device: named Tablet 07 · {TABLET}", exact=True)).to_be_visible()
        device.fill("")
        expect(page.get_by_text("30 sessions", exact=True)).to_be_visible()
        page.get_by_label("User").fill("USER0")  # user00 … user09
        expect(page.get_by_text("10 sessions", exact=True)).to_be_visible()
        assert set(column(page, 1)) == {f"user{i:02d}" for i in range(10)}
        assert sorted(row[0] for row in downloaded_rows(page)) == [f"user{i:02d}" for i in range(10)]
    finally:
        page.context.close()


def test_the_csv_rows_come_in_the_order_the_table_shows(browser: Browser, centre: App) -> None:
    from playwright.sync_api import expect

    page = open_history(browser, centre)
    try:
        expect(page.get_by_text("30 sessions", exact=True)).to_be_visible()
        newest_first = [f"user{i:02d}" for i in reversed(range(30))]
        assert [row[0] for row in downloaded_rows(page)] == newest_first  # as the table: newest first
        page.locator("table thead th").filter(has_text="Module").click()  # module A–Z, then oldest end first
        wait_query(page, sort="module")
        by_module = [f"user{i:02d}" for k in range(3) for i in range(k, 30, 3)]
        expect(page.locator("table tbody tr").first).to_contain_text("user00")
        assert column(page, 1) == by_module[:25]
        assert [row[0] for row in downloaded_rows(page)] == by_module
    finally:
        page.context.close()


FOCUSED = """() => { const e = document.activeElement, s = getComputedStyle(e), r = e.getBoundingClientRect();
    return {tag: e.tagName, text: (e.innerText || '').trim(), width: r.width,
            ring: s.outlineStyle === 'solid' || s.boxShadow.includes('0px 0px 0px 2px')}; }"""


def tab_to(page: Page, tag: str, text: str | re.Pattern[str], presses: int = 150) -> dict[str, object]:
    """Press Tab until the focused element is a `tag` whose text is (or matches) `text`."""
    for _ in range(presses):
        page.keyboard.press("Tab")
        focused: dict[str, object] = page.evaluate(FOCUSED)
        shown = str(focused["text"])
        if focused["tag"] == tag and (shown == text if isinstance(text, str) else text.search(shown)):
            return focused
    raise AssertionError(f"Tab never reached a {tag} {text!r}")


def test_history_by_keyboard_only(browser: Browser, centre: App) -> None:
    """Tab reaches the chart's filter (Enter filters by that module), the sortable headers (Enter or
    Space sorts) and the session rows (Enter opens the device's day), each visibly focused."""
    from playwright.sync_api import expect

    page = open_history(browser, centre)
    try:
        expect(page.get_by_text("30 sessions", exact=True)).to_be_visible()
        header = tab_to(page, "BUTTON", re.compile(r"^Duration"))
        assert header["ring"], header  # focus seen
        page.keyboard.press("Enter")
        wait_query(page, sort="duration")
        expect(page.locator("table tbody tr").first).to_contain_text("user00")
        assert page.evaluate(FOCUSED)["text"].startswith("Duration")  # still on it, sorted
        page.keyboard.press("Space")
        wait_query(page, sort="-duration")
        expect(page.locator("table tbody tr").first).to_contain_text("user29")
        row = tab_to(page, "TR", re.compile("user29"))
        assert row["ring"], row
        page.keyboard.press("Enter")
        expect(page.get_by_text(re.compile(r"^10\.0\.1\.29 on .*: 1 session$"))).to_be_in_viewport()
        page.keyboard.press("Escape")
        expect(page.get_by_role("dialog")).to_have_count(0)

        page.goto(centre.url + "/history")
        expect(page.get_by_text("30 sessions", exact=True)).to_be_visible()
        bar = tab_to(page, "BUTTON", re.compile(r"^Show only Mathematics \(12\.8 min\)$"))  # the top bar
        assert float(str(bar["width"])) > 50, bar  # seen while focused
        page.keyboard.press("Enter")
        wait_query(page, module="cdn_math")
        expect(page.get_by_text("10 sessions", exact=True)).to_be_visible()
    finally:
        page.context.close()


def test_on_a_phone_tab_reaches_the_session_cards(browser: Browser, centre: App) -> None:
    """On a phone the sessions are cards: Tab reaches each one, visibly focused, and Enter or Space
    opens its device's day, as a tap does."""
    from playwright.sync_api import expect

    page = open_history(browser, centre, PHONE)
    try:
        expect(page.get_by_text("30 sessions", exact=True)).to_be_visible()  # newest first: user29, user28
        card = tab_to(page, "DIV", re.compile(r"\buser29\b"))
        assert card["ring"], card
        page.keyboard.press("Enter")
        day = page.get_by_text(re.compile(r"^10\.0\.1\.29 on .*: 1 session$"))
        expect(day).to_be_in_viewport()
        page.keyboard.press("Escape")
        expect(page.get_by_role("dialog")).to_have_count(0)
        card = tab_to(page, "DIV", re.compile(r"\buser28\b"))
        page.keyboard.press("Space")
        expect(page.get_by_text(re.compile(r"^10\.0\.1\.28 on .*: 1 session$"))).to_be_in_viewport()
    finally:
        page.context.close()
