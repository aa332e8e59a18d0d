"""Issue 8, what the centre uploads: backfill and import never write a record line twice; the export
means what cdn-auto makes of our lines (DESIGN §4); one normalisation of CR/LF/TAB; upstream's files.

Everything runs through `python main.py …` as a script or an admin would run it.
"""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
import tarfile
import zipfile
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from urllib.parse import quote

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gaze.db import RecordRow, make_engine
from gaze.logs.files import DailyLog
from gaze.logs.format import ACCESS_STEM, SESSIONS_STEM
from gaze.logs.importer import log_files, logged_keys, record_key
from tests.conftest import ROOT, foreign_environ

DAY = datetime(2026, 5, 4, tzinfo=UTC)
BUILD = "1763389063089_v6sji3qt1"
KNOWN = {"cdn_math": "Mathematics, core"}  # in the catalog (uploads folder); cdn_bio is not
ZONE = "America/New_York"  # local time differs from UTC: the export's date/time must be the UTC end


def ms(dt: datetime) -> int:
    return int(dt.timestamp() * 1000)


def iso(t: int) -> str:
    return datetime.fromtimestamp(t / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{t % 1000:03d}Z"


def hit(t: int, ip: str, path: str, user: str | None = None) -> str:
    who = f" user={quote(user, safe='@')}" if user else ""
    message = f'info: {ip}{who} - [{iso(t)}] "GET {path} HTTP/1.1" 200'
    return json.dumps({"__CURSOR": f"c{t}-{ip}", "__REALTIME_TIMESTAMP": str(t * 1000), "MESSAGE": message})


def corpus() -> list[str]:
    """Sessions on three days, one across midnight UTC, users with `|`, a TAB and a CR/LF."""
    lines = []
    for day in range(3):
        base = ms(DAY + timedelta(days=day, hours=9))
        for n in range(6):
            t = base + n * 700_000
            ip = f"10.0.{day}.{n + 1}"
            user = ("ana|teacher", "Kofi\tMensah", "x\r\ny", "Guest", "ama@example.com", None)[n]
            module = "cdn_math" if n % 2 else "cdn_bio"
            lines.append(hit(t, ip, f"/modules/{module}/index.html", user))
            lines.append(hit(t + 65_000 + n * 1000, ip, f"/modules/{module}/img/a.png", user))
    # 23:58:30 UTC → 00:04:10 UTC the next day (still 19:58 → 20:04 in New York)
    late = ms(DAY + timedelta(days=1, hours=23, minutes=58, seconds=30))
    lines.append(hit(late, "10.9.9.9", "/modules/cdn_math/index.html", "night|owl|2"))
    lines.append(hit(late + 200_000, "10.9.9.9", "/modules/cdn_math/app.js", "night|owl|2"))
    lines.append(hit(late + 340_000, "10.9.9.9", "/modules/cdn_math/app.js", "night|owl|2"))
    return sorted(lines, key=lambda line: int(json.loads(line)["__REALTIME_TIMESTAMP"]))


def run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [sys.executable, "main.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=180
    )
    assert done.returncode == 0, f"{args}: {done.stdout}\n{done.stderr}"
    return done


def field(stdout: str, name: str) -> int:
    line = next(line for line in stdout.splitlines() if line.startswith(name))
    return int(line.split(":", 1)[1].split()[0].replace(",", ""))


def environment(tmp_path: Path) -> dict[str, str]:
    uploads = tmp_path / "uploads"
    for slug, title in KNOWN.items():
        folder = uploads / BUILD / slug
        folder.mkdir(parents=True)
        (folder / "index.html").write_text(f"<html><head><title>{title}</title></head></html>")
    env = foreign_environ()
    env.update(
        MODULEFETCH_LOG_DIR=str(tmp_path / "logs"),
        MODULEGAZE_DATA_DIR=str(tmp_path / "data"),
        MODULEGAZE_DATABASE_URL=f"sqlite:///{tmp_path / 'gaze.db'}",
        MODULEGAZE_UPLOADS_MODULES_ROOT=str(uploads),
        TZ=ZONE,
    )
    return env


def session_lines(log_dir: Path) -> list[str]:
    """Every session line of the folder, plain file and archives, as cdn-auto collects them."""
    out: list[str] = []
    for path in log_files(log_dir):
        if path.name.endswith(".zip"):
            with zipfile.ZipFile(path) as archive:
                out += [ln for n in archive.namelist() for ln in archive.read(n).decode().splitlines()]
        else:
            out += path.read_text().splitlines()
    return out


def design_rule(line: str, names: dict[str, str]) -> list[str]:
    """DESIGN §4, written from its words: the row cdn-auto's processor makes of one line."""
    stamp, *parts = line.split("\t")
    values = dict(part.split("=", 1) for part in parts)
    end = datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S.%fZ")
    user, _, ip = values["userId"].rpartition("|")
    module = values["moduleId"]
    return [
        user,
        end.strftime("%H:%M:%S"),
        ip,
        end.strftime("%Y-%m-%d"),
        names.get(module, module),
        values["durationSeconds"],
    ]


@pytest.mark.slow
def test_backfill_thrice_and_import_write_each_record_once(tmp_path: Path) -> None:
    env = environment(tmp_path)
    source = tmp_path / "journal.json"
    source.write_text("\n".join(corpus()) + "\n")
    log_dir = tmp_path / "logs"

    first = run(["backfill", "--input", str(source)], env)
    lines = session_lines(log_dir)
    records = field(first.stdout, "records written")
    assert records == len(lines) == 19 and len(set(lines)) == records
    assert any("userId=Kofi Mensah|10.0.0.2\t" in line for line in lines)  # TAB → one space
    assert any("userId=x  y|10.0.0.3\t" in line for line in lines)  # CR and LF → one space each

    again = run(["backfill", "--input", str(source)], env)  # same database
    assert field(again.stdout, "records written") == 0 and field(again.stdout, "already in files") == records
    third = run(["backfill", "--input", str(source), "--no-database"], env)
    assert field(third.stdout, "records written") == 0
    assert Counter(session_lines(log_dir)) == Counter(lines)  # each record once, nothing else

    engine = make_engine(env["MODULEGAZE_DATABASE_URL"])
    try:
        with Session(engine) as db:
            stored = db.scalars(select(RecordRow.user_id)).all()
        assert len(stored) == records and "Kofi Mensah" in stored and "x  y" in stored  # as in the files
        imported = run(["import-logs", str(log_dir)], env)
        assert field(imported.stdout, "records added") == 0
        assert field(imported.stdout, "duplicates skipped") == records
        with Session(engine) as db:
            assert db.scalar(select(func.count()).select_from(RecordRow)) == records
    finally:
        engine.dispose()
    assert Counter(session_lines(log_dir)) == Counter(lines)  # import writes no line

    # A fresh database from the files (--no-database left none): all of them, once.
    fresh = f"sqlite:///{tmp_path / 'fresh.db'}"
    assert field(run(["import-logs", str(log_dir), "--database-url", fresh], env).stdout, "records added") == records
    assert field(run(["import-logs", str(log_dir), "--database-url", fresh], env).stdout, "records added") == 0


@pytest.mark.slow
def test_export_is_the_design_rule_row_for_row(tmp_path: Path) -> None:
    env = environment(tmp_path)
    source = tmp_path / "journal.json"
    source.write_text("\n".join(corpus()) + "\n")
    run(["backfill", "--input", str(source)], env)
    out = tmp_path / "export.csv"
    run(["export", "--since", "2026-05-03", "--until", "2026-05-07", "--output", str(out)], env)
    body = out.read_bytes().decode("utf-8")
    assert not body.startswith("\ufeff") and body.startswith("User,Access Time,IP Address,Access Date,")
    header, *rows = list(csv.reader(io.StringIO(body, newline="")))
    assert header[:6] == ["User", "Access Time", "IP Address", "Access Date", "Module Viewed", "Duration Seconds"]
    assert header[6:8] == ["Module ID", "Device"]

    expected = sorted(design_rule(line, KNOWN) for line in session_lines(tmp_path / "logs"))
    assert sorted(row[:6] for row in rows) == expected and len(rows) == 19
    night = next(row for row in rows if row[0] == "night|owl|2")
    assert night[1:6] == ["00:04:10", "10.9.9.9", "2026-05-06", "Mathematics, core", "340"]  # the UTC end
    assert night[6] == "cdn_math" and night[8] == "2026-05-05 19:58:30" and night[9] == "2026-05-05 20:04:10"
    assert {row[4] for row in rows} == {"Mathematics, core", "cdn_bio"}  # unknown module: the raw id
    to_stdout = run(["export", "--since", "2026-05-03", "--until", "2026-05-07"], env)
    assert to_stdout.stdout.replace("\r\n", "\n") == body.replace("\r\n", "\n")

    bad = subprocess.run(
        [sys.executable, "main.py", "export", "--since", "2026-05-09", "--until", "2026-05-01"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert bad.returncode == 2 and "--until" in bad.stderr and not (tmp_path / "other.csv").exists()


def _mf(path: Path, payload: dict[str, object]) -> None:
    data = json.dumps(payload).encode()
    if path.name.endswith(".zip"):
        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr("modulefetch.json", data)
        return
    with tarfile.open(path, "w:gz") as archive:
        info = tarfile.TarInfo("modulefetch.json")
        info.size = len(data)
        archive.addfile(info, io.BytesIO(data))


@pytest.mark.slow
def test_upstream_files_are_read_and_count_as_written(tmp_path: Path) -> None:
    """Upstream's second archive of a day and its mf-* files: import-logs reads them, and backfill
    does not write their records again."""
    log_dir = tmp_path / "logs"
    log_dir.mkdir()
    end = ms(DAY + timedelta(hours=9, seconds=65))  # the first session of corpus()
    line = f"{iso(end)}\tuserId=ana|teacher|10.0.0.1\tmoduleId=cdn_bio\tdurationSeconds=65\tschemaVersion=1\n"
    with zipfile.ZipFile(log_dir / f"modulegaze-sessions-2026-05-04-{end}.log.zip", "w") as archive:
        archive.writestr("modulegaze-sessions-2026-05-04.log", line)
    _mf(log_dir / "mf-2026-05-04T10-00-00-000Z-abcd1234.zip",
        {"schemaVersion": 1, "recordedAt": "2026-05-04T10:00:00.000Z", "userId": "ama|10.0.0.7",
         "moduleId": "cdn_art", "durationSeconds": 30})  # fmt: skip
    _mf(log_dir / "mf-2026-05-04T11-00-00-000Z-efgh5678.tar.gz",
        {"schemaVersion": 1, "recordedAt": "2026-05-04T11:00:00.000Z", "userId": "kojo|10.0.0.8",
         "moduleId": "cdn_geo", "durationSeconds": 12})  # fmt: skip
    keys = logged_keys(log_dir)
    assert record_key(end, "ana|teacher", "10.0.0.1", "cdn_bio", 65) in keys
    assert record_key(ms(datetime(2026, 5, 4, 10, tzinfo=UTC)), "ama", "10.0.0.7", "cdn_art", 30) in keys
    assert len(keys) == 3

    env = environment(tmp_path)
    imported = run(["import-logs", str(log_dir)], env)
    assert field(imported.stdout, "files read") == 3 and field(imported.stdout, "records added") == 3
    source = tmp_path / "journal.json"
    source.write_text("\n".join(corpus()[:2]) + "\n")  # exactly the archived session of 10.0.0.1
    done = run(["backfill", "--input", str(source), "--no-database"], env)
    assert field(done.stdout, "records written") == 0 and field(done.stdout, "already in files") == 1
    assert not (log_dir / "modulegaze-sessions.log").exists()


def test_retention_prunes_upstream_archives_by_the_date_in_their_name(tmp_path: Path) -> None:
    names = [
        "modulegaze-sessions-2025-01-01.log.zip",
        "modulegaze-sessions-2025-01-02-1735776000000.log.zip",  # upstream's second archive of a day
        "mf-2025-01-03T10-00-00-000Z-abcd1234.zip",  # upstream's oldest per-session files
        "mf-2025-01-03T11-00-00-000Z-efgh5678.tar.gz",
        "modulegaze-access-2025-01-01-1735689600000.log.zip",
        "modulegaze-sessions-2026-05-01-1777593600000.log.zip",  # recent: kept
        "mf-2026-05-01T10-00-00-000Z-ijkl9012.zip",
        "mf-no-date.zip",  # no date to judge by: kept
        "modulegaze-sessions.log",
    ]
    for name in names:
        (tmp_path / name).write_bytes(b"x")

    def today() -> date:
        return date(2026, 5, 4)

    removed = DailyLog(tmp_path, SESSIONS_STEM, retention_days=365, today=today).prune()
    assert sorted(p.name for p in removed) == sorted(names[:4])
    assert [p.name for p in DailyLog(tmp_path, ACCESS_STEM, retention_days=365, today=today).prune()] == [names[4]]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(names[5:])
