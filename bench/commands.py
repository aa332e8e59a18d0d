"""The commands bench/ingest.py times: each a new process, its wall time returned and its CPU time
(user + system, its children included) kept in `CPU[0]`."""

from __future__ import annotations

import os
import resource
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from bench.corpora import UNIT
from gaze.logs import SESSIONS_STEM

CPU = [0.0]  # CPU seconds (user + system) of the last `timed` command and its children


def timed(argv: Sequence[str], *, cwd: Path | None = None, env: dict[str, str] | None = None) -> float:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    proc = subprocess.run(
        argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    elapsed = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    CPU[0] = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} exited {proc.returncode}: {proc.stderr.decode(errors='replace')}")
    return elapsed


def main_py(repo: Path, work: Path, *args: str, template_db: Path | None = None) -> float:
    """`python main.py ARGS` of checkout `repo` as a user runs it: a new process, its own data and log
    folders (the default SQLite database a copy of `template_db`, already migrated, or none yet)."""
    data = work / "data"
    data.mkdir(parents=True)
    if template_db is not None:
        shutil.copy(template_db, data / "gaze.db")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MODULEGAZE_", "MODULEFETCH_"))}
    env.update(MODULEGAZE_DATA_DIR=str(data), MODULEFETCH_LOG_DIR=str(work / "logs"), MODULEGAZE_JOURNAL_UNIT=UNIT)
    return timed([sys.executable, str(repo / "main.py"), *args], cwd=work, env=env)


def session_lines(log_dir: Path) -> int:
    return sum(p.read_bytes().count(b"\n") for p in log_dir.glob(f"{SESSIONS_STEM}*.log"))
