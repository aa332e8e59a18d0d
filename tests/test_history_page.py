"""/history (totals, range, filters, pager, chart click, CSV, archives) and /devices, through NiceGUI's user."""

from __future__ import annotations

import asyncio
import csv
import io
import zipfile
from datetime import UTC, date, datetime, timedelta

import pytest
from fastapi import HTTPException
from fastapi.routing import APIRoute
from nicegui import app, ui
from nicegui.testing import User
from sqlalchemy.orm import Session

from gaze.auth import VIEWER
from gaze.db import IMPORT
from gaze.localtime import local_midnight_ms
from gaze.records import add_records
from gaze.sessions import SessionRecord
from tests.test_auth import raw_client
from tests.test_dashboard import WAIT, gaze_env, hit, hub, login, services, until

pytest_plugins = ["nicegui.testing.user_plugin"]
__all__ = ["gaze_env"]  # the autouse fixture that gives main.py its temp settings

CSV_HEADER_LINE = (
    "User,Access Time,IP Address,Access Date,Module Viewed,Duration Seconds,Module ID,Device,Local Start,Local End"
)
ARCHIVE_NAME = "modulegaze-sessions-2026-01-02.log.zip"
CARDS = ("total-time", "total-sessions", "total-devices", "total-users")


# ---------------------------------------------------------------- helpers


def noon_ms(day: date, seconds_later: int = 0) -> int:
    """A time safely inside local day `day` (whatever the time of the run)."""
    return local_midnight_ms(day) + 12 * 3_600_000 + seconds_later * 1000


def record(user: str, ip: str, module: str, end_ms: int, seconds: int) -> SessionRecord:
    return SessionRecord(
        ip=ip, user=user, module=module, start_ms=end_ms - seconds * 1000, end_ms=end_ms, reason="idle"
    )


async def insert(records: list[SessionRecord]) -> None:
    """Synthetic records go in as an import: a "live" source would be written to the session log."""

    def write() -> int:
        with Session(services().engine) as db, db.begin():
            return add_records(db, records, IMPORT)

    assert await asyncio.to_thread(write) == len(records)


async def started() -> None:
    """Start-up loads the catalog (the module filter's options) and then the device names in the
    background; wait for it, so it does not replace what a test sets."""
    await until(lambda: services().db_checked_at is not None)
    assert any(m.slug == "cdn_math" for m in services().catalog.modules)


def element(user: User, marker: str) -> ui.element:
    [found] = user.find(marker=marker).elements
    return found


def cards(user: User) -> tuple[str, ...]:
    return tuple(element(user, marker).text for marker in CARDS)  # type: ignore[attr-defined]


def table(user: User) -> ui.table:
    found = element(user, "sessions-table")
    assert isinstance(found, ui.table)
    return found


def today_records() -> list[SessionRecord]:
    today = date.today()
    return [
        record("anna@example.com", "10.0.0.1", "cdn_math", noon_ms(today), 600),
        record("Guest", "10.0.0.2", "cdn_geo", noon_ms(today, 60), 300),
        record("bob", "10.0.0.1", "cdn_geo", noon_ms(today, 120), 120),
    ]


# ---------------------------------------------------------------- /history page


async def check_history_page(user: User) -> None:
    yesterday = date.today() - timedelta(days=1)
    await insert([*today_records(), record("carol", "10.0.0.3", "cdn_math", noon_ms(yesterday), 45)])
    await started()
    await user.open("/history")
    assert cards(user) == ("17m 00s", "3", "2", "2")  # Guest is not a signed-in user
    assert [r["user"] for r in table(user).rows] == ["bob", "Guest", "anna@example.com"]  # newest first
    assert element(user, "sessions-count").text == "3 sessions"  # type: ignore[attr-defined]

    toggle = element(user, "range")
    assert isinstance(toggle, ui.toggle)
    toggle.set_value("yesterday")
    await until(lambda: cards(user) == ("45s", "1", "1", "1"))
    await until(lambda: [r["user"] for r in table(user).rows] == ["carol"])  # the table loads after the cards
    assert [(r["user"], r["module"]) for r in table(user).rows] == [("carol", "Mathematics")]
    await until(lambda: element(user, "sessions-count").text == "1 session")  # type: ignore[attr-defined]

    toggle.set_value("today")
    await until(lambda: cards(user) == ("17m 00s", "3", "2", "2"))
    module = element(user, "filter-module")
    assert isinstance(module, ui.select) and "cdn_geo" in module.options
    module.set_value("cdn_geo")
    await until(lambda: cards(user) == ("7m 00s", "2", "2", "1"))
    await until(lambda: [r["user"] for r in table(user).rows] == ["bob", "Guest"])
    assert {r["module"] for r in table(user).rows} == {"Geography of West Africa"}
    assert element(user, "sessions-count").text == "2 sessions"  # type: ignore[attr-defined]


async def test_history_as_admin(user: User) -> None:
    await login(user)
    await check_history_page(user)


async def test_history_as_viewer(user: User) -> None:
    await login(user, "watcher", VIEWER)
    await check_history_page(user)


async def test_history_pager_and_count(user: User) -> None:
    today = date.today()
    await insert([record(f"user{i:02d}", "10.0.0.5", "cdn_math", noon_ms(today, i * 10), 5) for i in range(30)])
    await login(user)
    await user.open("/history")
    assert cards(user)[1] == "30"
    assert element(user, "sessions-count").text == "30 sessions"  # type: ignore[attr-defined]
    rows = table(user).rows
    assert len(rows) == 25 and rows[0]["user"] == "user29" and rows[-1]["user"] == "user05"
    [pager] = user.find(ui.pagination).elements
    assert isinstance(pager, ui.pagination) and pager.max == 2
    pager.set_value(2)
    await until(lambda: [r["user"] for r in table(user).rows] == [f"user{i:02d}" for i in range(4, -1, -1)])
    pager.set_value(1)
    await until(lambda: len(table(user).rows) == 25 and table(user).rows[0]["user"] == "user29")


async def test_clicking_a_module_bar_filters(user: User) -> None:
    await insert(today_records())
    await started()
    await login(user)
    await user.open("/history")
    chart = element(user, "chart-modules")
    assert isinstance(chart, ui.echart)
    assert chart.options["yAxis"]["data"] == ["Mathematics", "Geography of West Africa"]  # most minutes first
    point = {
        "componentType": "series",
        "seriesType": "bar",
        "seriesIndex": 0,
        "seriesName": "series0",
        "name": "Geography of West Africa",
        "dataIndex": 1,
        "data": 7.0,
        "dataType": None,
        "value": 7.0,
    }
    user.find(marker="chart-modules").trigger("componentClick", point)  # what ECharts' click emits
    module = element(user, "filter-module")
    await until(lambda: module.value == "cdn_geo")  # type: ignore[attr-defined]
    await until(lambda: cards(user) == ("7m 00s", "2", "2", "1"))
    assert chart.options["yAxis"]["data"] == ["Geography of West Africa"]


async def test_empty_charts_say_so(user: User) -> None:
    """No ended sessions in the range: both charts say it in words, not with bare axes; with
    sessions, no such words over the bars."""
    await login(user)
    await user.open("/history")
    charts = [element(user, "chart-modules"), element(user, "chart-hours")]
    for chart in charts:
        assert isinstance(chart, ui.echart)
        await until(lambda c=chart: c.options.get("title", {}).get("text") == "No ended sessions in this range.")
        assert not chart.options["xAxis"]["show"] and not chart.options["yAxis"]["show"]  # no lines through it
    assert table(user).props["no-data-label"] == "No ended sessions in this range."
    await insert(today_records())
    element(user, "range").set_value("7d")  # type: ignore[attr-defined]
    for chart in charts:
        await until(lambda c=chart: any(c.options["series"][0]["data"]))
        # said outright, not left out: the browser merges a redraw into what it shows (issue 20.1)
        assert chart.options["title"]["show"] is False and chart.options["title"]["text"] == ""
        assert chart.options["xAxis"]["show"] is True and chart.options["yAxis"]["show"] is True


async def test_custom_range_and_its_errors(user: User) -> None:
    yesterday = date.today() - timedelta(days=1)
    await insert([*today_records(), record("carol", "10.0.0.3", "cdn_math", noon_ms(yesterday), 45)])
    await login(user)
    await user.open("/history")
    element(user, "range").set_value("custom")  # type: ignore[attr-defined]
    await user.should_see(marker="from")
    date_from, date_to = element(user, "from"), element(user, "to")
    assert date_from.value == date_to.value == date.today().isoformat()  # type: ignore[attr-defined]
    await until(lambda: cards(user) == ("17m 00s", "3", "2", "2"))
    date_from.set_value(yesterday.isoformat())  # type: ignore[attr-defined]
    await until(lambda: cards(user) == ("17m 45s", "4", "3", "3"))
    date_to.set_value("9999-12-31")  # type: ignore[attr-defined]
    await until(lambda: element(user, "range-error").text.startswith("Range: "))  # type: ignore[attr-defined]
    date_to.set_value(yesterday.isoformat())  # type: ignore[attr-defined]
    await until(lambda: cards(user) == ("45s", "1", "1", "1"))
    assert element(user, "range-error").text == ""  # type: ignore[attr-defined]


# ---------------------------------------------------------------- CSV export


async def test_csv_export(user: User) -> None:
    await started()
    roots = services().settings.uploads_roots
    folder = roots[0] / "1763389063089_v6sji3qt1" / "cdn_lecture"
    folder.mkdir(parents=True)
    (folder / "index.html").write_text(
        '<html><head><meta charset="utf-8"><title>Lecture française · «Été»</title></head></html>', encoding="utf-8"
    )
    await asyncio.to_thread(services().catalog.reload)
    today = date.today()
    await insert(
        [
            record('Doe, "Jay"', "10.0.0.8", "cdn_lecture", noon_ms(today), 90),
            record("anna@example.com", "10.0.0.9", "cdn_math", noon_ms(today, 30), 15),
            record("carol", "10.0.0.9", "cdn_math", noon_ms(today - timedelta(days=1)), 15),  # not today
        ]
    )
    await asyncio.to_thread(services().devices.set, "10.0.0.8", "Tablet 07")
    await login(user)

    response = await user.http_client.get("/history/export.csv", params={"range": "today"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert response.headers["content-disposition"] == 'attachment; filename="modulegaze-sessions-today.csv"'
    body = response.content.decode("utf-8")
    assert body.split("\r\n", 1)[0] == CSV_HEADER_LINE
    assert '"Doe, ""Jay"""' in body  # RFC 4180 quoting
    header, *rows = list(csv.reader(io.StringIO(body, newline="")))
    assert ",".join(header) == CSV_HEADER_LINE
    assert len(rows) == 2
    second, first = rows  # newest first, as the table (issue 20.7)
    start = noon_ms(today) - 90_000
    assert first[0] == 'Doe, "Jay"' and first[2] == "10.0.0.8" and first[4] == "Lecture française · «Été»"
    assert first[5] == "90" and first[6] == "cdn_lecture" and first[7] == "Tablet 07"
    ended_utc = datetime.fromtimestamp(noon_ms(today) / 1000, UTC)  # Access Date/Time: the UTC end
    assert first[1] == ended_utc.strftime("%H:%M:%S") and first[3] == ended_utc.date().isoformat()
    assert first[8] == datetime.fromtimestamp(start / 1000).strftime("%Y-%m-%d %H:%M:%S")  # local start
    assert second[:1] == ["anna@example.com"] and second[4] == "Mathematics" and second[7] == ""

    filtered = await user.http_client.get("/history/export.csv", params={"range": "today", "module": "cdn_math"})
    assert [row[0] for row in csv.reader(io.StringIO(filtered.text, newline=""))][1:] == ["anna@example.com"]
    for device in ({"device": "tablet 07"}, {"ip": "10.0.0.8"}):  # what /history's URL says; the older name
        by_device = await user.http_client.get("/history/export.csv", params={"range": "today", **device})
        assert [row[0] for row in csv.reader(io.StringIO(by_device.text, newline=""))][1:] == ['Doe, "Jay"']
    by_user = await user.http_client.get("/history/export.csv", params={"range": "today", "sort": "user"})
    assert [row[0] for row in csv.reader(io.StringIO(by_user.text, newline=""))][1:] == [
        "anna@example.com",
        'Doe, "Jay"',
    ]  # the table's sort: User A–Z, any case

    for bad in (
        {"range": "forever"},
        {"range": "custom"},
        {"range": "custom", "date_from": "x", "date_to": "y"},
        {"range": "custom", "date_from": "9999-12-31", "date_to": "9999-12-31"},  # no day after it
    ):
        response = await user.http_client.get("/history/export.csv", params=bad)
        assert response.status_code == 400, bad

    async with raw_client() as client:
        response = await client.get("/history/export.csv", params={"range": "today"})
    assert response.status_code == 303 and response.headers["location"].startswith("/login?redirect_to=")


# ---------------------------------------------------------------- archives


async def test_archives_listed_and_downloaded(user: User) -> None:
    log_dir = services().settings.log_dir
    log_dir.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("modulegaze-sessions-2026-01-02.log", "User,Access Time\r\nanna,09:00:00\r\n")
    data = buffer.getvalue()
    (log_dir / ARCHIVE_NAME).write_bytes(data)
    (log_dir / "gaze.db").write_bytes(b"not for download")
    (log_dir.parent / "secret").write_text("outside the log directory")
    await login(user)
    await user.open("/history")
    await user.should_see(marker="archive-link")
    [link] = user.find(marker="archive-link").elements
    assert isinstance(link, ui.link) and link.text == ARCHIVE_NAME
    assert link.props["href"] == f"/history/archives/{ARCHIVE_NAME}"

    response = await user.http_client.get(f"/history/archives/{ARCHIVE_NAME}")
    assert response.status_code == 200 and response.content == data
    assert response.headers["content-type"] == "application/zip"
    assert ARCHIVE_NAME in response.headers["content-disposition"]

    for bad in (
        "gaze.db",
        "%2e%2e%2fsecret",
        "%2e%2e",
        "..%2Fsecret",
        "modulegaze-sessions-2026-01-03.log.zip",  # the right shape, but no such file
        "modulegaze-sessions-2026-01-02.log.zip%2F..%2F..%2Fsecret",
    ):
        response = await user.http_client.get(f"/history/archives/{bad}")
        assert response.status_code == 404, bad
    # HTTP clients resolve "../" before sending; hand such names to the route's handler directly.
    [route] = [r for r in app.routes if isinstance(r, APIRoute) and r.path == "/history/archives/{name}"]
    for bad in ("../secret", "..", "../logs/" + ARCHIVE_NAME, "gaze.db", ARCHIVE_NAME + "/../../secret"):
        with pytest.raises(HTTPException) as refused:
            route.endpoint(name=bad)
        assert refused.value.status_code == 404, bad

    async with raw_client() as client:
        response = await client.get(f"/history/archives/{ARCHIVE_NAME}")
    assert response.status_code == 303 and response.headers["location"].startswith("/login?redirect_to=")


# ---------------------------------------------------------------- /devices


async def test_admin_names_a_device_and_the_board_shows_it(user: User) -> None:
    await login(user)
    hit("192.168.1.42", "cdn_math", user="anna@example.com", ago_s=20)
    await user.open("/devices")
    await user.should_see("192.168.1.42", retries=WAIT)
    await user.should_see("now on Mathematics")  # which module the device is on
    user.find(marker="device-ip").type("192.168.1.42")
    user.find(marker="device-label").type("Tablet 07")
    user.find(marker="device-save").click()
    await until(lambda: services().devices.all() == {"192.168.1.42": "Tablet 07"})
    await until(lambda: element(user, "device-ip").value == "")  # type: ignore[attr-defined]
    await user.should_see("192.168.1.42: Tablet 07")  # the one message: what was saved

    await user.open("/")
    await user.should_see("Tablet 07 · 192.168.1.42", retries=WAIT)


async def test_device_name_errors(user: User) -> None:
    await login(user)
    await user.open("/devices")
    user.find(marker="device-ip").type("not-an-ip")
    user.find(marker="device-label").type("Tablet 07")
    user.find(marker="device-save").click()
    await user.should_see("not an IP address: 'not-an-ip'", retries=WAIT)
    user.find(marker="device-ip").clear().type("10.0.0.5")
    user.find(marker="device-label").clear().type("x" * 41)
    user.find(marker="device-save").click()
    await user.should_see("a label has at most 40 characters", retries=WAIT)
    assert services().devices.all() == {}


async def test_viewer_sees_device_names_without_inputs(user: User) -> None:
    await started()
    await asyncio.to_thread(services().devices.set, "10.0.0.5", "Tablet 03")
    await login(user, "watcher", VIEWER)
    await user.open("/devices")
    await user.should_see("Only an admin can change names.")
    await user.should_see(marker="device-row")
    await user.should_see("Tablet 03")
    await user.should_not_see(marker="device-ip")
    await user.should_not_see(marker="device-save")
    await user.should_not_see(kind=ui.input)


# ---------------------------------------------------------------- live Today, the URL's state


async def test_today_updates_live_while_open(user: User) -> None:
    await insert(today_records())
    await started()
    await login(user)
    services().sources.start()  # a stopped board is frozen: History's today follows the running one
    hub().refresh_status()
    await user.open("/history?sort=duration")
    assert cards(user) == ("17m 00s", "3", "2", "2")
    assert [r["user"] for r in table(user).rows] == ["bob", "Guest", "anna@example.com"]  # shortest first
    await insert([record("dan", "10.0.0.4", "cdn_math", noon_ms(date.today(), 300), 30)])
    await hub().refresh_today()  # the hub's push every TODAY_EVERY_S seconds
    await until(lambda: cards(user) == ("17m 30s", "4", "3", "3"))
    await until(lambda: [r["user"] for r in table(user).rows] == ["dan", "bob", "Guest", "anna@example.com"])

    element(user, "range").set_value("yesterday")  # a range without today is not redrawn
    await until(lambda: cards(user) == ("0s", "0", "0", "0"))
    await insert([record("erin", "10.0.0.5", "cdn_math", noon_ms(date.today(), 400), 30)])
    await hub().refresh_today()
    await asyncio.sleep(0.3)
    assert cards(user) == ("0s", "0", "0", "0")


async def test_history_reads_its_state_from_the_url(user: User) -> None:
    yesterday = date.today() - timedelta(days=1)
    await insert([*today_records(), record("carol", "10.0.0.3", "cdn_math", noon_ms(yesterday), 45)])
    await started()
    await asyncio.to_thread(services().devices.set, "10.0.0.1", "Tablet 01")
    await login(user)
    await user.open(f"/history?range=custom&date_from={yesterday}&date_to={date.today()}&device=tablet+01&user=bob")
    assert cards(user) == ("2m 00s", "1", "1", "1")
    assert element(user, "range").value == "custom"  # type: ignore[attr-defined]
    assert element(user, "from").value == yesterday.isoformat()  # type: ignore[attr-defined]
    assert element(user, "filter-device").value == "tablet 01"  # type: ignore[attr-defined]
    assert [r["device"] for r in table(user).rows] == ["Tablet 01 · 10.0.0.1"]
    assert element(user, "url-notes").text == ""  # type: ignore[attr-defined]

    await user.open("/history?range=week&module=%00x&page=0&sort=-colour")
    notes = element(user, "url-notes").text  # type: ignore[attr-defined]
    assert notes.startswith("Ignored in the link: range 'week'")
    assert "module filter" in notes and "page '0'" in notes and "sort '-colour'" in notes
    assert cards(user) == ("17m 00s", "3", "2", "2")  # today, unfiltered, newest first
    assert [r["user"] for r in table(user).rows] == ["bob", "Guest", "anna@example.com"]
    element(user, "filter-user").set_value("bob")  # type: ignore[attr-defined]
    await until(lambda: element(user, "url-notes").text == "")  # type: ignore[attr-defined]
    await until(lambda: [r["user"] for r in table(user).rows] == ["bob"])
