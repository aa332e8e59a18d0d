"""The objects one running Module Gaze shares (gaze.services): loading them from a real database,
the first admin's sign-in block, the database check and what happens when the database is away."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest

from gaze.auth import FIRST_ADMIN
from gaze.db import make_engine
from gaze.services import Services, lan_address
from tests.recorderkit import make_settings, open_engine

pytestmark = pytest.mark.usefixtures("clean_env")


async def test_connect_loads_everything_and_creates_the_first_admin_once(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    engine = open_engine(settings)
    try:
        services = Services(settings, engine)
        assert services.recorder.feed is services.sources and not services.ready
        assert await services.connect(attempts=1)
        assert services.ready and services.recorder.restored and services.db_ok
        password = services.first_password
        assert password
        block = services.sign_in_block("192.168.1.5")
        assert f"http://localhost:{settings.port}/" in block and f"http://192.168.1.5:{settings.port}/" in block
        assert f"user name:  {FIRST_ADMIN}" in block and password in block
        again = Services(settings, engine)
        assert await again.connect(attempts=1) and again.first_password is None  # shown only once
        later = again.sign_in_block(None)
        assert password not in later and f"main.py users passwd {FIRST_ADMIN}" in later
        assert "from other devices" not in later
    finally:
        engine.dispose()


async def test_an_unreachable_database_is_reported_not_raised(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    engine = make_engine("postgresql://gaze:hunter2@127.0.0.1:1/gaze")  # nothing listens on port 1
    try:
        services = Services(settings, engine)
        assert await services.connect(attempts=1) is False
        assert not services.ready and services.db_ok is False
        assert services.db_error and "hunter2" not in services.db_error
        assert services.check_database() is False and services.db_checked_at is not None
        assert services.reload_users() == {}  # roles stay as they were
    finally:
        engine.dispose()


def test_demo_mode_starts_by_itself_and_says_so_in_the_passwd_command(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    engine = open_engine(settings)
    try:
        demo = Services(settings, engine, demo=True)
        assert demo.autostart and demo.uplink is None
        assert demo.passwd_command().startswith("MODULEGAZE_DEMO=on ")
        assert not Services(settings, engine).passwd_command().startswith("MODULEGAZE_DEMO")
    finally:
        engine.dispose()


def test_lan_address_is_an_ipv4_address_that_is_not_loopback() -> None:
    found = lan_address()
    if found is not None:
        address = ipaddress.ip_address(found)
        assert address.version == 4 and not address.is_loopback and not address.is_link_local
