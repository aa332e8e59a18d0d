"""`python main.py backfill`: argument errors, the summary, --log-dir, and the untouched live checkpoint."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from gaze.db import BACKFILL, Checkpoint, RecordRow, make_engine, migrate
from gaze.logs.format import format_session_line
from tests.conftest import ROOT, foreign_environ

T0 = int(datetime(2026, 5, 4, 14, 30, tzinfo=UTC).timestamp() * 1000)
A = "192.168.1.20"
B = "192.168.1.21"


def iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def access(ip: str, at_ms: int, target: str, status: int = 200, method: str = "GET") -> str:
    return f'info: ::ffff:{ip} - [{iso(at_ms)}] "{method} {target} HTTP/1.1" {status}'


def entry_line(cursor: str, at_ms: int, message: object, *, compact: bool = True) -> str:
    obj = {"__CURSOR": cursor, "__REALTIME_TIMESTAMP": str(at_ms * 1000), "MESSAGE": message}
    return json.dumps(obj, separators=(",", ":")) if compact else json.dumps(obj)


def as_bytes(message: str) -> list[int]:
    """journald's form of a MESSAGE that is not printable UTF-8: an array of byte values."""
    return list(message.encode())


# A small journal: 11 lines, of which 9 entries, 5 module hits and 2 records.
SAMPLE: list[str] = [
    entry_line("c1", T0, access(A, T0, "/modules/cdn_math/index.html")),
    '{"__CURSOR":"c2","MESSAGE":"info: 192.168.1.20 - [2026-05-04T14:30:01.000Z] \\"GET /modules/cdn_math/',
    "this is not json at all",
    "",
    entry_line("c4", T0 + 5_000, access(A, T0 + 5_000, "/portal/index.html")),
    entry_line("c5", T0 + 10_000, as_bytes(access(B, T0 + 10_000, "/modules/cdn_bio/index.html") + "\x1b")),
    entry_line("c6", T0 + 30_000, access(A, T0 + 30_000, "/modules/cdn_math/img/a.png")),
    entry_line("c7", T0 + 40_000, access(A, T0 + 40_000, "/modules/cdn_math/missing.png", status=404)),
    entry_line("c8", T0 + 45_000, access(A, T0 + 45_000, "/modules/cdn_math/index.html", method="POST")),
    entry_line("c9", T0 + 50_000, access(B, T0 + 50_000, "/modules/cdn_bio/app.js")),
    entry_line("c10", T0 + 90_000, access(A, T0 + 90_000, "/modules/cdn_physics/index.html")),
]
EXPECTED_LOG = (
    # A leaves math for physics at +90 s; at end of input B's bio closes at its last request (+50 s);
    # A's physics session is 0 seconds long and not recorded.
    format_session_line(T0 + 90_000, "Guest", A, "cdn_math", 90)
    + format_session_line(T0 + 50_000, "Guest", B, "cdn_bio", 40)
)


def clean_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = foreign_environ()
    env.update(
        MODULEFETCH_LOG_DIR=str(tmp_path / "logs"),
        MODULEGAZE_DATA_DIR=str(tmp_path / "data"),
        MODULEGAZE_DATABASE_URL=f"sqlite:///{tmp_path / 'gaze.db'}",
        TZ="UTC",
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env


def backfill(args: list[str], env: dict[str, str], stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "main.py", "backfill", *args],
        cwd=ROOT,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
    )


def write_input(path: Path, lines: list[str]) -> Path:
    path.write_text("".join(line + "\n" for line in lines))
    return path


def summary(stdout: str) -> dict[str, str]:
    out = {}
    for line in stdout.splitlines():
        key, _, value = line.partition(":")
        out[key.strip()] = value.strip()
    return out


def db_rows(url: str) -> list[tuple[int, int, str, str, str, int, str]]:
    engine = create_engine(url)
    try:
        with Session(engine) as db:
            return [
                (r.start_ms, r.end_ms, r.user_id, r.ip, r.module, r.duration_s, r.source)
                for r in db.scalars(select(RecordRow).order_by(RecordRow.id))
            ]
    finally:
        engine.dispose()


# ---------------------------------------------------------------- argument errors


@pytest.mark.parametrize(
    "args",
    [
        ["--format", "xml", "--input", "-"],
        ["--input", "/nonexistent/journal.json"],
        ["--input", "{input}", "--since", "yesterday"],
        ["--input", "{input}", "--until", "today"],
        ["--input", "{input}", "--directory", "/var/log/journal"],
        ["--input", "{input}", "--file", "/var/log/journal/x.journal"],
        ["--no-such-option"],
    ],
    ids=["unknown-format", "missing-input", "input+since", "input+until", "input+directory", "input+file", "unknown"],
)
def test_bad_arguments_exit_2(tmp_path: Path, args: list[str]) -> None:
    source = write_input(tmp_path / "in.json", SAMPLE)
    result = backfill([a.replace("{input}", str(source)) for a in args], clean_env(tmp_path))
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip()
    assert "Traceback" not in result.stderr
    assert result.stdout == ""
    assert not (tmp_path / "logs" / "modulegaze-sessions.log").exists()


def test_unusable_log_dir_exits_2(tmp_path: Path) -> None:
    source = write_input(tmp_path / "in.json", SAMPLE)
    blocker = tmp_path / "file"
    blocker.write_text("")
    result = backfill(["--input", str(source), "--log-dir", str(blocker / "logs")], clean_env(tmp_path))
    assert result.returncode == 2
    assert len(result.stderr.splitlines()) == 1 and "--log-dir" in result.stderr
    result = backfill(["--input", str(source)], clean_env(tmp_path, MODULEFETCH_LOG_DIR=str(blocker / "logs")))
    assert result.returncode == 2
    assert len(result.stderr.splitlines()) == 1 and "MODULEFETCH_LOG_DIR" in result.stderr


# ---------------------------------------------------------------- a real run


def test_backfill_summary_log_and_database(tmp_path: Path) -> None:
    source = write_input(tmp_path / "in.json", SAMPLE)
    env = clean_env(tmp_path)
    result = backfill(["--input", str(source)], env)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr

    s = summary(result.stdout)
    assert list(s) == [
        "entries read",
        "module hits",
        "ignored lines",
        "records written",
        "already in files",
        "elapsed",
        "entries/s",
    ]
    assert s["module hits"] == "5"
    assert s["records written"] == "2"
    ignored = re.fullmatch(r"(\d+) \((.*)\)", s["ignored lines"])
    assert ignored is not None
    reasons = {k: int(v) for k, v in (part.rsplit(" ", 1) for part in ignored.group(2).split(", "))}
    assert reasons["malformed"] == 1  # the truncated JSON line
    assert reasons["status>=400"] == 1
    assert reasons["not-access"] == 1  # the POST
    assert reasons["no-module"] >= 1  # the portal line (and the non-JSON line, skipped unparsed)
    assert int(ignored.group(1)) == sum(reasons.values())
    non_blank = sum(1 for line in SAMPLE if line.strip())
    assert int(s["module hits"]) + sum(reasons.values()) == non_blank  # every line accounted for once
    assert int(s["entries read"]) >= 9
    assert re.fullmatch(r"\d+\.\d\d s", s["elapsed"])
    assert re.fullmatch(r"[\d,]+", s["entries/s"])

    assert (tmp_path / "logs" / "modulegaze-sessions.log").read_text() == EXPECTED_LOG
    rows = db_rows(env["MODULEGAZE_DATABASE_URL"])
    assert rows == [
        (T0, T0 + 90_000, "Guest", A, "cdn_math", 90, BACKFILL),
        (T0 + 10_000, T0 + 50_000, "Guest", B, "cdn_bio", 40, BACKFILL),
    ]


def test_message_as_byte_array_in_any_json_spacing(tmp_path: Path) -> None:
    """journalctl's JSON spacing differs between systemd versions; a byte-array MESSAGE counts in both."""
    lines = [
        entry_line("c1", T0, as_bytes(access(A, T0, "/modules/cdn_math/index.html")), compact=False),
        entry_line("c2", T0 + 20_000, as_bytes(access(A, T0 + 20_000, "/modules/cdn_bio/index.html")), compact=True),
        entry_line("c3", T0 + 50_000, as_bytes(access(A, T0 + 50_000, "/modules/cdn_art/index.html")), compact=False),
    ]
    source = write_input(tmp_path / "in.json", lines)
    result = backfill(["--input", str(source), "--no-database"], clean_env(tmp_path))
    assert result.returncode == 0, result.stderr
    assert summary(result.stdout)["module hits"] == "3"
    assert (tmp_path / "logs" / "modulegaze-sessions.log").read_text() == (
        format_session_line(T0 + 20_000, "Guest", A, "cdn_math", 20)
        + format_session_line(T0 + 50_000, "Guest", A, "cdn_bio", 30)
    )


def test_log_dir_option_wins(tmp_path: Path) -> None:
    source = write_input(tmp_path / "in.json", SAMPLE)
    other = tmp_path / "elsewhere" / "logs"
    result = backfill(["--input", str(source), "--log-dir", str(other), "--no-database"], clean_env(tmp_path))
    assert result.returncode == 0, result.stderr
    assert (other / "modulegaze-sessions.log").read_text() == EXPECTED_LOG
    assert not (tmp_path / "logs" / "modulegaze-sessions.log").exists()
    assert not (tmp_path / "gaze.db").exists()  # --no-database


def test_stdin_and_database_url_option(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'other.db'}"
    result = backfill(["--input", "-", "--database-url", url], clean_env(tmp_path), stdin="\n".join(SAMPLE))
    assert result.returncode == 0, result.stderr
    assert summary(result.stdout)["records written"] == "2"
    assert [r[4] for r in db_rows(url)] == ["cdn_math", "cdn_bio"]
    assert not (tmp_path / "gaze.db").exists()


def test_text_format(tmp_path: Path) -> None:
    text = [
        f"2026-05-04T14:30:00+0000 pi oc4d[812]: {access(A, T0, '/modules/cdn_math/index.html')}",
        "-- Boot 0123456789abcdef --",
        f"2026-05-04T14:31:30+0000 pi oc4d[812]: {access(A, T0 + 90_000, '/modules/cdn_physics/index.html')}",
    ]
    source = write_input(tmp_path / "in.txt", text)
    result = backfill(["--input", str(source), "--format", "text", "--no-database"], clean_env(tmp_path))
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "logs" / "modulegaze-sessions.log").read_text() == format_session_line(
        T0 + 90_000, "Guest", A, "cdn_math", 90
    )


def test_backfill_never_touches_the_checkpoint(tmp_path: Path) -> None:
    source = write_input(tmp_path / "in.json", SAMPLE)
    env = clean_env(tmp_path)
    url = env["MODULEGAZE_DATABASE_URL"]

    # a fresh database: migrated, records written, no checkpoint row created
    assert backfill(["--input", str(source)], env).returncode == 0
    engine = make_engine(url)
    try:
        with Session(engine) as db:
            assert db.scalars(select(Checkpoint)).all() == []
            assert db.scalar(select(RecordRow.id).where(RecordRow.source != BACKFILL)) is None

        # an existing live checkpoint stays exactly as it was
        with Session(engine) as db, db.begin():
            db.add(Checkpoint(name="live", cursor="s=abc;i=42", state='{"clock":1,"open":[]}', updated_ms=7))
        assert backfill(["--input", str(source)], env).returncode == 0
        with Session(engine) as db:
            rows = [(c.name, c.cursor, c.state, c.updated_ms) for c in db.scalars(select(Checkpoint))]
        assert rows == [("live", "s=abc;i=42", '{"clock":1,"open":[]}', 7)]
    finally:
        engine.dispose()
    # run twice: the records are stored once (gaze.records.add_records skips stored records)
    assert len(db_rows(url)) == 2


def test_migrated_database_is_reused(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'gaze.db'}"
    engine = make_engine(url)
    migrate(engine)
    engine.dispose()
    source = write_input(tmp_path / "in.json", SAMPLE)
    result = backfill(["--input", str(source)], clean_env(tmp_path))
    assert result.returncode == 0, result.stderr
    assert len(db_rows(url)) == 2
