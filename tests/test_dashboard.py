"""Page logic through NiceGUI's simulated user (no browser): cards, rows, limits, alerts."""

from __future__ import annotations

import asyncio
import json
import os
import re
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from nicegui import app, ui
from nicegui.testing import User
from nicegui.testing.user_interaction import UserInteraction

from components.hub import Hub
from components.today_chart import today_options
from gaze.journal import JournalEntry
from gaze.services import Services
from tests.conftest import is_our_setting, seed_migrated

pytest_plugins = ["nicegui.testing.user_plugin"]
WAIT = 40  # retries of 0.1 s: the hub pushes every 0.25 s and ticks every second


@pytest.fixture(autouse=True)
def gaze_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Settings for main.py as the `user` fixture runs it: temp state, no demo, no journal yet, and
    its SQLite database at the newest schema, as every start after the first finds it."""
    for name in [n for n in os.environ if is_our_setting(n)]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("MODULEGAZE_DATA_DIR", str(tmp_path / "data"))
    seed_migrated(f"sqlite:///{(tmp_path / 'data' / 'gaze.db').absolute()}")
    monkeypatch.setenv("MODULEFETCH_LOG_DIR", str(tmp_path / "logs"))
    monkeypatch.setenv("MODULEGAZE_DEMO", "off")
    monkeypatch.setenv("MODULEGAZE_UPLOADS_MODULES_ROOT", str(_uploads(tmp_path)))
    empty = tmp_path / "empty.journal"  # a journal file with no entries: journalctl refuses it
    empty.write_bytes(b"")
    monkeypatch.setenv("MODULEGAZE_JOURNAL_FILE", str(empty))
    yield


def _uploads(tmp_path: Path) -> Path:
    root = tmp_path / "uploads"
    for build, slug, title in (
        ("1763389063089_v6sji3qt1", "cdn_math", "Mathematics"),
        ("1763389063089_v6sji3qt1", "cdn_geo", "Geography of West Africa"),
    ):
        folder = root / build / slug
        folder.mkdir(parents=True)
        (folder / "index.html").write_text(f"<html><head><title>{title}</title></head></html>")
    return root


def services() -> Services:
    return app.state.services  # type: ignore[no-any-return]


def hub() -> Hub:
    return app.state.hub  # type: ignore[no-any-return]


def hit(ip: str, module: str, *, user: str = "anonymous", ago_s: float = 0.0, asset: bool = False) -> None:
    """Feed one oc4d line through the real parser and store, as the journal reader would (which it
    does only once the services have loaded: `login` waits for that)."""
    assert services().ready, "fed before start-up restored the monitor"
    when = time.time() - ago_s
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(when)) + f".{int(when * 1000) % 1000:03d}Z"
    path = f"/modules/{quote(module, safe='')}/" + ("app.js" if asset else "content/index.html")
    line = f'info: {ip} user={quote(user)} - [{stamp}] "GET {path} HTTP/1.1" 200'
    services().recorder.feed_entries([JournalEntry(None, int(when * 1_000_000), line)])


async def login(user: User, name: str = "tester", role: str = "admin") -> None:
    """Once start-up has loaded the services, create a user and sign in through the login page, as a
    person would."""
    await until(lambda: services().ready, timeout_s=30)
    password = f"{name}-password"
    await asyncio.to_thread(services().users.add, name, password, role)
    await user.open("/")
    await user.should_see(marker="login-submit")  # the login wall sent us to /login
    user.find(marker="login-user").type(name)
    user.find(marker="login-password").type(password)
    user.find(marker="login-submit").click()
    await user.should_see("Live sessions", retries=WAIT)


async def test_empty_board_explains_what_it_waits_for(user: User) -> None:
    await login(user)
    await user.should_see("Module Gaze")
    await user.should_see(marker="sessions-empty")
    await user.should_see("Start monitoring to see who is on a module")
    await user.should_see(marker="start-monitoring")
    await user.should_see("2 module names known", retries=WAIT)


async def test_rows_and_cards_follow_the_store(user: User) -> None:
    await login(user)
    hit("192.168.1.20", "cdn_math", user="anna@example.com", ago_s=30)
    hit("192.168.1.21", "cdn_geo", ago_s=5)
    await user.should_see("192.168.1.20", retries=WAIT)
    await user.should_see("anna@example.com")
    await user.should_see("Mathematics")  # catalog name with the slug beside it
    await user.should_see("cdn_math")
    await user.should_see("Guest")
    live_users = user.find(marker="card-live-users-value").elements.pop()
    await until(lambda: live_users.text == "2")
    rows = rows_in_order(user)
    assert len(rows) == 2 and all(re.search(r"\|\d+s$", r) for r in rows)
    assert "anna@example.com" in rows[0] and "Guest" in rows[1]  # longest on module first


async def test_each_second_only_a_bare_time_label_is_resent(user: User) -> None:
    """NiceGUI resends a changed element whole: the time that changes every second is a bare label
    (~40 bytes), not the badge with its classes, role and name (~280 bytes a row each second pushed
    an idle board's websocket from ~1 to ~6 KB/s, bench/live.py (c))."""
    await login(user)
    hit("192.168.1.20", "cdn_math", ago_s=30)
    await user.should_see("192.168.1.20", retries=WAIT)
    [row] = user.find(marker="session-row").elements
    _, badge = row.default_slot.children
    [time_label] = badge.default_slot.children
    assert isinstance(time_label, ui.label) and not time_label.classes and not time_label.props
    assert len(json.dumps(time_label._to_dict())) <= 100, time_label._to_dict()


async def test_pushes_change_pages_on_the_event_loop(user: User) -> None:
    """The hub's pushes run on the event loop, as NiceGUI needs (a plain function job ran in a worker
    thread, and the rows push and the second's push then changed the same rows at once)."""
    await login(user)
    services().sources.start()  # the second's push ticks rows while monitoring runs
    loop_thread, seen = threading.get_ident(), set()
    hub().sessions_changed.subscribe(lambda _: seen.add(("rows", threading.get_ident())))
    hub().second.subscribe(lambda _: seen.add(("second", threading.get_ident())))
    hit("10.0.0.3", "cdn_math")
    await until(lambda: {name for name, _ in seen} == {"rows", "second"})
    assert seen == {("rows", loop_thread), ("second", loop_thread)}


async def test_set_update_and_remove_limits(user: User) -> None:
    await login(user)
    user.find(marker="open-limits").click()  # the limits dialog is built when first opened
    select = user.find(marker="limit-module").elements.pop()
    minutes = user.find(marker="limit-minutes").elements.pop()
    assert isinstance(select, ui.select) and isinstance(minutes, ui.input)
    await until(lambda: "cdn_math" in select.options)  # the catalog loads in the background at start-up
    assert "cdn_math" in select.options and "Mathematics" in select.options["cdn_math"]

    user.find("Set limit").click()
    await user.should_see("Choose a module first.")
    select.set_value("cdn_math")
    minutes.set_value("0")
    user.find("Set limit").click()
    await user.should_see("0 minutes is outside 1–1440 (24 hours). Nothing was saved.")
    minutes.set_value("2.5")
    user.find("Set limit").click()
    await user.should_see("“2.5” is not a whole number of minutes: enter 1 to 1440. Nothing was saved.")
    assert services().limits.limits == {}

    minutes.set_value("30")
    user.find("Set limit").click()
    await user.should_see("Limits Mathematics to 30 min: no one is on it now.", retries=WAIT)
    await until(lambda: services().limits.limits == {"cdn_math": 30})
    select.set_value("cdn_geo")
    minutes.set_value("45")
    user.find("Set limit").click()
    await until(lambda: services().limits.limits.get("cdn_geo") == 45)
    select.set_value("cdn_math")
    await user.should_see("Update limit")
    minutes.set_value("20")
    user.find("Update limit").click()
    await until(lambda: services().limits.limits.get("cdn_math") == 20)
    assert services().limits.limits == {"cdn_math": 20, "cdn_geo": 45}

    rows = sorted(user.find(marker="limit-row").elements, key=lambda e: e.id)
    assert len(rows) == 2
    geo_row = next(r for r in rows if any(getattr(c, "text", "") == "45 min" for c in r.descendants()))
    remove = next(c for c in geo_row.descendants() if isinstance(c, ui.button))
    UserInteraction(user, {remove}, None).click()  # exactly the button of that row
    await until(lambda: "cdn_geo" not in services().limits.limits)
    await until(lambda: [e.text for e in user.find(marker="limit-row-minutes").elements] == ["20 min"])
    assert services().limits.limits == {"cdn_math": 20}


async def test_over_limit_alert_banner_and_acknowledge(user: User) -> None:
    await login(user)
    services().sources.start()  # alerts are raised while monitoring runs (a stopped board is frozen)
    services().limits.set_limit("cdn_geo", 1)
    hub().limits_changed.emit()
    hit("10.0.0.9", "cdn_geo", user="bob", ago_s=90)
    hit("10.0.0.9", "cdn_geo", user="bob", asset=True)
    await user.should_see(marker="alert-banner-item", retries=WAIT)
    await user.should_see("for more than 1 min")
    await until(lambda: "bg-red-600 font-semibold" in rows_in_order(user)[0])  # the time badge turned red
    assert len(services().limits.unacknowledged) == 1
    user.find("Mark seen").click()
    await user.should_not_see(marker="alert-banner-item", retries=WAIT)
    await user.should_see("marked seen")
    assert services().limits.unacknowledged == []
    await asyncio.sleep(2.2)  # two more ticks of the limit check
    assert len(services().limits.recent) == 1, "no second alert for the same session"


def rows_in_order(user: User) -> list[str]:
    """The session rows top to bottom, each as `<names and idle/limit html>|<time badge classes>|<time>`."""
    elements = user.find(marker="session-row").elements
    if not elements:
        return []
    siblings = next(iter(elements)).parent_slot.children  # type: ignore[union-attr]
    return [row_text(e) for e in siblings if e in elements]


def row_text(row: ui.element) -> str:
    cells, badge = row.default_slot.children
    [time_label] = badge.default_slot.children
    return "|".join([cells.content, " ".join(badge.classes), time_label.text])  # type: ignore[attr-defined]


async def until(condition: Callable[[], bool], timeout_s: float = 5.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.05)


async def test_todays_minutes_are_read_once_the_database_answers(user: User) -> None:
    """Not at the hub's first 15 s interval: until then the board's chart would have nothing to
    show, and it says nothing rather than "no module time today" while there may be some."""
    await login(user)
    await until(lambda: hub().today is not None)
    assert today_options(None, str)["baseOption"]["title"]["show"] is False  # says nothing
    assert today_options([], str)["baseOption"]["title"]["text"] == "No module time today yet."


async def test_identities_and_module_names_are_text_not_html(user: User) -> None:
    await login(user)
    hit("10.0.0.7", "<b>x</b>", user="<img src=x onerror=alert(1)>")
    await user.should_see("10.0.0.7", retries=WAIT)
    [row] = rows_in_order(user)
    assert "&lt;img src=x onerror=alert(1)&gt;" in row and "&lt;b&gt;x&lt;/b&gt;" in row  # escaped here…
    assert "<img" not in row and "<b>" not in row
    [element] = user.find(marker="session-row").elements
    names = element.default_slot.children[0]
    assert isinstance(names, ui.html) and names.props["sanitize"] is True  # …and sanitized there (DOMPurify)


async def test_start_monitoring_without_journal_shows_a_status_not_a_traceback(user: User) -> None:
    await login(user)
    user.find(marker="start-monitoring").click()
    await user.should_see("Monitoring started")
    await user.should_see(marker="stop-monitoring", retries=WAIT)
    await until(lambda: services().recorder.reader_state.status in ("restarting", "missing"))
    await user.should_see("restarting in", retries=WAIT)
    user.find(marker="stop-monitoring").click()
    await user.should_see("Stop monitoring?", retries=WAIT)
    user.find(marker="confirm-yes").click()
    await user.should_see(marker="start-monitoring", retries=WAIT)


async def test_today_so_far_keeps_ended_and_open_apart(user: User) -> None:
    """Ended minutes are History's Today (the roll-ups); open sessions are a separate part."""
    from gaze import history
    from gaze.board import today_so_far

    await login(user)
    hit("10.0.0.5", "cdn_math", ago_s=120)
    hit("10.0.0.5", "cdn_geo", ago_s=60)  # closes cdn_math after 60 s: an ended session
    await services().recorder.persist()  # the record and its roll-ups, as the next tick would
    now_ms = int(time.time() * 1000)
    points = {slug: (ended, running) for slug, ended, running in today_so_far(services().engine, [], now_ms)}
    ended_math = dict(history.minutes_by_module(services().engine, history.today())).get("cdn_math", 0.0)
    sessions = services().recorder.store.sessions()
    with_open = {slug: (e, r) for slug, e, r in today_so_far(services().engine, sessions, now_ms)}
    assert 0.9 < ended_math < 1.1 and points["cdn_math"] == (ended_math, 0.0)
    assert with_open["cdn_geo"][0] == 0.0 and 0.9 < with_open["cdn_geo"][1] < 1.2  # open for about a minute


@pytest.fixture
def earlier_writer(tmp_path: Path) -> None:
    """The log folder already holds three session lines (upstream's) when the app first starts."""
    from datetime import date

    from gaze.localtime import local_midnight_ms
    from gaze.logs.format import format_session_line

    # an hour ago, but today: from just after midnight the default JOURNAL_SINCE=today starts later than
    # yesterday's sessions, and reading would start at midnight instead (the test failed 00:00-01:00)
    end = max(int(time.time() * 1000) - 3_600_000, local_midnight_ms(date.today()) + 1)
    logs = tmp_path / "logs"
    logs.mkdir()
    lines = [format_session_line(end - i * 60_000, "Guest", "10.0.0.9", "cdn_math", 30) for i in range(3)]
    (logs / "modulegaze-sessions.log").write_text("".join(reversed(lines)))


async def test_status_strip_says_what_the_first_start_took_over(earlier_writer: None, user: User) -> None:
    await login(user)
    await user.should_see("Log folder taken over: 3 earlier sessions", retries=WAIT)
    await user.should_see("monitoring oc4d's log from then on")
