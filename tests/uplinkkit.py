"""Helpers for the uplink tests: session records, the CSV rows they become, an outbox filled with them,
a store config for the S3 test server, the `uplink` command run as a process."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from gaze.csvrow import cdn_row as csv_row
from gaze.db import LIVE, make_engine, migrate
from gaze.records import add_records
from gaze.sessions import SessionRecord
from gaze.uplink import Credentials, Store, UplinkConfig
from tests.conftest import ROOT, foreign_environ
from tests.s3kit import Moto

T0 = 1_777_905_040_000  # 2026-05-04T14:30:40Z
NAMES = {"cdn_math": "Mathematics, Grade 7", "cdn_acid": 'Acids & "Bases"'}


def records(n: int, start: int = T0, ip: str = "192.168.4.10") -> list[SessionRecord]:
    """n records with distinct end times (one second apart), rotating users and modules."""
    out = []
    for i in range(n):
        end = start + i * 1000 + 250
        module = ("cdn_math", "cdn_acid", "unknown_slug")[i % 3]
        user = ("Guest", "teacher@example.com", "a|b user")[i % 3]
        out.append(SessionRecord(ip, user, module, end - (60 + i % 7) * 1000, end, "switch"))
    return out


def expected(recs: list[SessionRecord]) -> list[tuple[str, ...]]:
    return [csv_row(r.end_ms, r.user, r.ip, r.module, r.duration_s, NAMES.get(r.module)) for r in recs]


def store(engine: Engine, recs: list[SessionRecord], source: str = LIVE, outbox: bool = True) -> int:
    with Session(engine) as db, db.begin():
        return add_records(db, recs, source, outbox=outbox)


def config_for(
    moto: Moto, bucket: str, *, secret: str | None = None, endpoint: str | None = None, timeout: float = 10
) -> UplinkConfig:
    credentials = Credentials(moto.access_key, secret or moto.secret_key)
    return UplinkConfig(
        Store(bucket, "us-east-1", credentials, endpoint or moto.endpoint, timeout), "org/centres", "testclc", 60
    )


def queued(tmp_path: Path, n: int) -> tuple[Engine, list[SessionRecord]]:
    engine = make_engine(f"sqlite:///{tmp_path / 'gaze.db'}")
    migrate(engine, in_process=True)
    recs = records(n)
    with Session(engine) as db, db.begin():
        add_records(db, recs, LIVE, outbox=True)
    return engine, recs


def sqlite(tmp_path: Path) -> tuple[str, Engine]:
    url = f"sqlite:///{tmp_path / 'data' / 'gaze.db'}"
    engine = make_engine(url)
    migrate(engine)
    return url, engine


def cli_env(tmp_path: Path, db_url: str, moto: Moto, bucket: str) -> dict[str, str]:
    return {
        **foreign_environ(),
        "MODULEGAZE_DATABASE_URL": db_url,
        "MODULEGAZE_DATA_DIR": str(tmp_path / "data"),
        "MODULEGAZE_UPLOADS_MODULES_ROOT": str(tmp_path / "uploads"),
        **moto.env(bucket),
    }


def run_cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(ROOT / "main.py"), "uplink", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
