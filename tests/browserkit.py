"""Helpers for browser tests and the live benchmark: the real app as a subprocess, a real journal
file it follows, and Debian's Chromium driven by Playwright.

- ``App``: ``python main.py`` on a free port with its own data/log dirs, following
  ``MODULEGAZE_JOURNAL_FILE`` from the start (``MODULEGAZE_BACKGROUND_MONITOR=1``,
  ``MODULEGAZE_JOURNAL_SINCE=all``, ``MODULEGAZE_DEMO=off``). ``start()`` waits for ``/healthz``
  to answer 200 (reader following, database reachable); ``restart()`` keeps the same dirs/port.
  The app requires a login: before the first start ``App`` creates its own admin (``ADMIN_USER``)
  with ``python main.py users add … --password-stdin`` (so the app never makes a random ``admin``);
  ``add_user()`` adds more (e.g. a viewer) the same way.
- ``log_in(page, app, ...)``: open a page, land on ``/login?redirect_to=…``, fill in "User name"
  and "Password", press "Log in" and wait until the browser is back on the page asked for.
- ``append(journal, [(time_ms, message), ...])``: write oc4d entries with
  ``__REALTIME_TIMESTAMP`` = ``time_ms`` (``tests.journalkit.write_journal`` creates or appends).
- ``access_line(...)``: one oc4d access line whose bracketed time is ``time_ms``.
- ``launch_chromium(playwright)`` / ``running_chromium()``: ``/usr/bin/chromium`` only (never a downloaded browser).
- ``running_classroom(work, catalog, lines, ...)``: what every browser test module starts from — skips
  (or fails under CI) without Chromium, Playwright or the journal tools, writes a catalog and a
  journal, creates users, starts an ``App`` on them and stops it afterwards.
- ``browser = chromium_after("classroom")``: a test module's ``browser`` fixture, Chromium launched
  once that module's app fixture is up and closed before it stops.
- ``fresh_page(browser, size)`` / ``logged_in_page(browser, app, size, path=…, user=…)``: a page in a
  new browser context (no session cookie) with the tests' bounded wait, logged in or not.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import pytest

from tests import journalkit
from tests.conftest import require
from tests.livekit import env_for

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page, Playwright, ViewportSize

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
BUILD = "1763389063089_v6sji3qt1"
ADMIN_USER = "tester"
ADMIN_PASSWORD = "tester-secret-42"
LOGIN_TIMEOUT_MS = 15_000
WAIT_MS = 8_000  # bounded wait for anything pushed by the app (it pushes every 0.25 s)
DESK = (1280, 800)
PHONE = (390, 844)
UNMONITORED = {"MODULEGAZE_BACKGROUND_MONITOR": "0"}  # an app whose admin starts monitoring by hand


def chromium_available() -> bool:
    return os.access(CHROMIUM, os.X_OK)


def playwright_available() -> bool:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return False
    return True


def launch_chromium(playwright: Playwright) -> Browser:
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)


@contextlib.contextmanager
def running_chromium() -> Iterator[Browser]:
    """Playwright and Debian's Chromium, for one test module (closed afterwards)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = launch_chromium(playwright)
        try:
            yield chromium
        finally:
            chromium.close()


def chromium_after(app_fixture: str) -> Any:
    """A module-scoped ``browser`` fixture: ``running_chromium()``, launched once the module's app
    fixture ``app_fixture`` is up (so a missing tool skips before a browser starts) and closed before
    that app stops."""

    @pytest.fixture(scope="module")
    def browser(request: pytest.FixtureRequest) -> Iterator[Browser]:
        request.getfixturevalue(app_fixture)
        with running_chromium() as chromium:
            yield chromium

    return browser


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def iso(ms: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms / 1000)) + f".{ms % 1000:03d}Z"


def access_line(ip: str, path: str, time_ms: int, *, user: str | None = None, status: int = 200) -> str:
    """A morgan-style oc4d access line (``user=`` token written as given, i.e. already encoded)."""
    who = f" user={user}" if user is not None else ""
    return f'info: {ip}{who} - [{iso(time_ms)}] "GET {path} HTTP/1.1" {status}'


def entry_path(slug: str) -> str:
    return f"/modules/{slug}/content/index.html"


def asset_path(slug: str) -> str:
    return f"/modules/{slug}/content/css/style.css"


def append(journal: Path, lines: Iterable[tuple[int, str]]) -> None:
    """Create or append to ``journal``: one oc4d.service entry per (time_ms, message)."""
    journalkit.write_journal(journal, (journalkit.export_entry(msg, ms * 1000) for ms, msg in lines))


def make_catalog(root: Path, modules: Mapping[str, str]) -> Path:
    """An uploads folder ``<root>/<build>/<slug>/index.html`` titled ``modules[slug]``."""
    for slug, title in modules.items():
        folder = root / BUILD / slug
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "index.html").write_text(f"<html><head><title>{title}</title></head><body></body></html>")
    return root


@dataclass
class App:
    """The dashboard as a subprocess (``python main.py``)."""

    journal: Path
    workdir: Path
    extra_env: dict[str, str] = field(default_factory=dict)
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    passwords: dict[str, str] = field(default_factory=dict)
    root: Path = ROOT  # the checkout whose main.py runs (a benchmark may compare another)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.workdir / "app.out"

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def env(self) -> dict[str, str]:
        data = self.workdir / "data"
        data.mkdir(parents=True, exist_ok=True)
        env = env_for(
            self.journal,
            self.workdir / "logs",
            f"sqlite:///{data / 'gaze.db'}",
            MODULEGAZE_PORT=str(self.port),
            MODULEGAZE_BACKGROUND_MONITOR="1",
            MODULEGAZE_DEMO="off",
            MODULEGAZE_UPLOADS_MODULES_ROOT=str(self.workdir / "uploads"),
        )
        env.update(self.extra_env)
        # Under pytest NiceGUI would run in its screen-test mode: the app must see a plain start.
        for name in [k for k in env if k.startswith(("PYTEST_", "NICEGUI_"))]:
            del env[name]
        return env

    def add_user(self, username: str, password: str, role: str = "viewer") -> None:
        """``python main.py users add`` with the app's settings (password on stdin)."""
        self.users("add", username, "--role", role, "--password-stdin", stdin=f"{password}\n")
        self.passwords[username] = password

    def users(self, *args: str, stdin: str = "") -> None:
        """``python main.py users ARGS`` with the app's settings, as an admin types it in a shell."""
        done = subprocess.run(
            [sys.executable, str(self.root / "main.py"), "users", *args],
            cwd=self.root,
            env=self.env(),
            input=stdin.encode(),
            capture_output=True,
            timeout=60,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"users {' '.join(args)} failed ({done.returncode}): {done.stdout!r} {done.stderr!r}")

    def start(self, timeout: float = 30.0, *, following: bool = True) -> App:
        """Start and wait for ``/healthz``: 200 when ``following``; any answer for an app started
        with ``MODULEGAZE_BACKGROUND_MONITOR=0`` (its reader waits for an admin, so 503)."""
        if ADMIN_USER not in self.passwords:  # before the first start: no random first admin
            self.add_user(ADMIN_USER, ADMIN_PASSWORD, "admin")
        with self.log_path.open("ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, str(self.root / "main.py")],
                cwd=self.root,
                env=self.env(),
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        self.wait_healthy(timeout, following=following)
        return self

    def health(self) -> tuple[int, dict[str, Any]]:
        try:
            with urllib.request.urlopen(f"{self.url}/healthz", timeout=2) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read() or b"{}")

    def wait_healthy(self, timeout: float, *, following: bool = True) -> None:
        deadline = time.monotonic() + timeout
        last: object = None
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"app exited with {self.process.returncode}:\n{self.output()}")
            try:
                status, body = self.health()
                if status == 200 or (not following and status == 503 and "reader" in body):
                    return
                last = body
            except (OSError, ValueError) as exc:
                last = exc
            time.sleep(0.1)
        raise RuntimeError(f"app not healthy after {timeout}s ({last}):\n{self.output()}")

    def output(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-4000:]
        except OSError:
            return ""

    def stop(self, timeout: float = 15.0) -> None:
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=5)

    def restart(self) -> App:
        self.stop()
        return self.start()

    # ---------------------------------------------------------- /proc figures

    def rss_kib(self) -> int:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise RuntimeError("no VmRSS")

    def cpu_ticks(self) -> int:
        stat = Path(f"/proc/{self.pid}/stat").read_text()
        fields = stat[stat.rindex(")") + 2 :].split()
        return int(fields[11]) + int(fields[12])  # utime + stime (fields 14 and 15)


def fill_login(page: Page, username: str, password: str) -> None:
    page.get_by_label("User name", exact=True).fill(username)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Log in", exact=True).click()


def log_in(page: Page, app: App, username: str = ADMIN_USER, path: str = "/") -> None:
    """Open ``path`` without a session, log in as ``username`` (a user ``app`` created) on the
    login page it redirects to, and wait until the browser is back on ``path``."""
    page.goto(app.url + path)
    login_url = f"{app.url}/login?redirect_to={quote(path, safe='')}"
    page.wait_for_url(login_url, timeout=LOGIN_TIMEOUT_MS)
    fill_login(page, username, app.passwords[username])
    page.wait_for_url(app.url + path, timeout=LOGIN_TIMEOUT_MS)


def viewport(size: tuple[int, int]) -> ViewportSize:
    """Playwright's viewport of a (width, height) such as DESK or PHONE."""
    return {"width": size[0], "height": size[1]}


def fresh_page(browser: Browser, size: tuple[int, int] = DESK, timeout_ms: int = WAIT_MS) -> Page:
    """A page in a new browser context (no session cookie) whose waits give up after ``timeout_ms``."""
    page = browser.new_context(viewport=viewport(size)).new_page()
    page.set_default_timeout(timeout_ms)
    return page


def logged_in_page(browser: Browser, app: App, size: tuple[int, int] = DESK, *, path: str = "/") -> Page:
    """A ``fresh_page`` logged in as the app's admin and back on ``path``."""
    page = fresh_page(browser, size)
    log_in(page, app, path=path)
    return page


def require_browser_tools() -> None:
    """Skip (or fail, under CI) without Chromium, Playwright and the journal tools."""
    require(chromium_available(), "/usr/bin/chromium")
    require(playwright_available(), "playwright (python)")
    require(journalkit.available(), "systemd-journal-remote and journalctl")


@contextlib.contextmanager
def running_classroom(
    work: Path,
    catalog: Mapping[str, str],
    lines: Iterable[tuple[int, str]],
    *,
    users: Iterable[tuple[str, str, str]] = (),
    prepare: Callable[[App], None] | None = None,
    extra_env: Mapping[str, str] | None = None,
    following: bool = True,
) -> Iterator[App]:
    """The app on a classroom in ``work``: ``catalog`` as its uploads folder, ``lines`` (time_ms,
    message) in ``work/oc4d.journal``, each (username, password, role) of ``users`` added, then
    ``prepare(app)`` (e.g. rows in its database) before it starts; stopped afterwards."""
    require_browser_tools()
    make_catalog(work / "uploads", catalog)
    journal = work / "oc4d.journal"
    append(journal, lines)
    app = App(journal, work, extra_env=dict(extra_env or {}))
    for username, password, role in users:
        app.add_user(username, password, role)
    if prepare is not None:
        prepare(app)
    app.start(following=following)
    try:
        yield app
    finally:
        app.stop()
