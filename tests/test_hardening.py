"""Issue 12 §6/§8 without a running web server: passwords never shown (log lines, tracebacks,
database errors), owner-only data, and the one-line refusal of a port in use."""

from __future__ import annotations

import io
import logging
import socket
import stat
from pathlib import Path

import pytest

from gaze.catalog.oc4d_db import read_database
from gaze.config import SettingsError
from gaze.hardening import RedactingFormatter, port_in_use, private_dir, private_sqlite_file, redact
from gaze.startup import open_database
from tests.test_config import _run_main

SECRET = "hunter2-Secret"

# ---------------------------------------------------------------- redaction


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        (f"postgresql://gaze:{SECRET}@db:5432/gaze", "postgresql://gaze:***@db:5432/gaze"),
        (f"postgresql+psycopg://gaze:{SECRET}@db/gaze?sslmode=require", "postgresql+psycopg://gaze:***@db/gaze"),
        (f"cannot use database mysql://root:{SECRET}@10.0.0.5/x (boom)", "mysql://root:***@10.0.0.5/x (boom)"),
        (f"postgresql://u:p@{SECRET}@db/gaze", "postgresql://u:***@db/gaze"),  # a raw @ in the password
        (f"Could not parse URL from string 'postgresql://u:{SECRET}@h/d'", "'postgresql://u:***@h/d'"),
        (f"host=db user=gaze password={SECRET} dbname=gaze", "password=*** dbname=gaze"),
        (f"host=db password='{SECRET} x' dbname=gaze", "password=*** dbname=gaze"),
        (f"postgresql://u@h/d?password={SECRET}&sslmode=disable", "?password=***&sslmode=disable"),
        (f"PGPASSWORD={SECRET}", "PGPASSWORD=***"),
    ],
)
def test_redact_hides_passwords(text: str, shown: str) -> None:
    out = redact(text)
    assert SECRET not in out and "hunter2" not in out
    assert shown in out


@pytest.mark.parametrize(
    "text",
    [
        "postgresql://gaze@db/gaze",
        "sqlite:////var/lib/modulegaze/gaze.db",
        "http://oc4d.cdn:8080/modules/x/index.html?user=anna@example.com",
        "connection refused (is the server running on host 127.0.0.1, port 5432?)",
        "userId=anna@example.com|10.0.0.1",
    ],
)
def test_redact_leaves_other_text_alone(text: str) -> None:
    assert redact(text) == text


def test_log_lines_and_tracebacks_are_redacted() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(RedactingFormatter("%(levelname)s %(message)s"))
    logger = logging.getLogger("test.redaction")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.error("connecting to %s", f"postgresql://gaze:{SECRET}@db/gaze")
        try:
            raise RuntimeError(f"bad URL postgresql://gaze:{SECRET}@db/gaze")
        except RuntimeError:
            logger.exception("start-up failed")
    finally:
        logger.removeHandler(handler)
    text = stream.getvalue()
    assert SECRET not in text
    assert "connecting to postgresql://gaze:***@db/gaze" in text
    assert "Traceback" in text and "RuntimeError: bad URL postgresql://gaze:***@db/gaze" in text


def test_database_errors_do_not_show_the_password() -> None:
    url = f"postgresql://gaze:{SECRET}@127.0.0.1:1/gaze"  # nothing listens on port 1
    with pytest.raises(SettingsError) as info:
        open_database(url)
    assert SECRET not in str(info.value) and "MODULEGAZE_DATABASE_URL" in str(info.value)
    _, _, status = read_database(url, [])
    assert status.ok is False and SECRET not in (status.error or "")
    with pytest.raises(SettingsError) as bad:  # SQLAlchemy quotes the whole string it cannot parse
        open_database(f"postgresql://gaze:{SECRET}@db:notaport/gaze")
    assert SECRET not in str(bad.value)


# ---------------------------------------------------------------- owner-only data


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_data_dir_and_sqlite_file_are_created_private(tmp_path: Path) -> None:
    data = private_dir(tmp_path / "new" / "data")
    assert mode(data) == 0o700
    url = f"sqlite:///{data / 'gaze.db'}"
    open_database(url).dispose()
    assert mode(data / "gaze.db") == 0o600
    assert all(mode(p) == 0o600 for p in data.glob("gaze.db*")), [(p, oct(mode(p))) for p in data.iterdir()]


def test_looser_modes_are_tightened(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir(mode=0o755)
    data.chmod(0o755)
    db = data / "gaze.db"
    url = f"sqlite:///{db}"
    open_database(url).dispose()
    for path in data.glob("gaze.db*"):
        path.chmod(0o644)
    private_dir(data)
    private_sqlite_file(url)
    assert mode(data) == 0o700
    assert {p.name: mode(p) for p in data.glob("gaze.db*")} == {p.name: 0o600 for p in data.glob("gaze.db*")}


@pytest.mark.slow
def test_users_command_makes_the_readme_layout_private(tmp_path: Path) -> None:
    """The README's run keeps everything under ./data: a real `main.py` start-up check."""
    data = tmp_path / "data"
    data.mkdir(mode=0o777)
    data.chmod(0o777)
    result = _run_main(["users", "list"], {"MODULEGAZE_DATA_DIR": str(data)}, tmp_path)
    assert result.returncode == 0, result.stderr
    assert mode(data) == 0o700 and mode(data / "gaze.db") == 0o600


def test_a_shared_folder_is_never_tightened(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o1777)  # like /tmp: a data directory there must not lock everybody else out
    private_dir(shared)
    assert mode(shared) == 0o1777


# ---------------------------------------------------------------- start-up refusal


@pytest.mark.slow
def test_port_in_use_is_one_line_and_creates_nothing(tmp_path: Path) -> None:
    with socket.socket() as holder:
        holder.bind(("0.0.0.0", 0))
        holder.listen()
        port = holder.getsockname()[1]
        assert port_in_use(port) is not None
        result = _run_main([], {"MODULEGAZE_PORT": str(port)}, tmp_path)
    assert result.returncode == 1, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and "MODULEGAZE_PORT" in lines[0] and f"port {port} is already in use" in lines[0]
    assert "Traceback" not in result.stderr and "first user" not in result.stdout + result.stderr
    assert not (tmp_path / "data").exists() and not (tmp_path / "logs").exists()  # no database, no admin
    assert port_in_use(port) is None
