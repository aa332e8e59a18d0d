"""Issue 18 items 1 and 7: one writer per data and log directory, and a clean stop.

Real processes on real `.journal` files: a second `main.py follow` or dashboard on the same
directories refuses with one line naming the holder and exit 1 (before, both ran and every record
was written twice); commands that only read, and `users`, still work beside the dashboard; a
SIGKILLed holder leaves no stale lock; SIGTERM stops the dashboard with exit 0 after saving (before,
it died by the signal, exit -15), and a restart then neither loses nor repeats a record.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from gaze.writerlock import UNKNOWN_HOLDER, describe_holder, hold, release_all
from tests import journalkit
from tests.browserkit import ADMIN_USER, App, free_port
from tests.conftest import ROOT, require
from tests.livekit import (
    backfill_cli,
    checkpoint_cursor,
    corpus,
    env_for,
    last_cursor,
    session_log,
    start_follower,
    stop,
    wait_for_cursor,
    write,
)

pytestmark = [pytest.mark.journal, pytest.mark.slow]


@pytest.fixture(autouse=True)
def _journal_tools() -> None:
    require(journalkit.available(), "systemd-journal-remote and journalctl")


def reference(journal: Path, tmp_path: Path) -> str:
    """What `backfill` of the same journal writes (files only, its own folders)."""
    log_dir = tmp_path / "reference" / "logs"
    result = backfill_cli(
        ["--file", str(journal), "--no-database"],
        env_for(journal, log_dir, f"sqlite:///{log_dir.parent / 'unused.db'}"),
    )
    assert result.returncode == 0, result.stderr.decode()
    expected = session_log(log_dir)
    assert expected.count("\n") > 20
    return expected


def refused(args: list[str], env: dict[str, str], stdin: str = "") -> tuple[int | None, list[str]]:
    """Run `main.py ARGS`: its exit code and stderr lines; None when it was still running after
    60 s (a second writer that did not refuse), killed then."""
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "main.py"), *args],
        cwd=ROOT,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _, err = process.communicate(stdin, timeout=60)
        return process.returncode, err.splitlines()
    except subprocess.TimeoutExpired:
        process.kill()
        _, err = process.communicate()
        return None, err.splitlines()


def assert_refused(result: tuple[int | None, list[str]], variable: str, directory: Path, pid: int) -> None:
    code, lines = result
    assert code == 1, f"a second writer ran (exit {code}): {lines[-5:]}"
    assert len(lines) == 1, lines
    assert f"{variable}: {directory} is in use by pid {pid} (" in lines[0] and "main.py" in lines[0], lines


def dashboard_env(app: App, **extra: str) -> dict[str, str]:
    return {**app.env(), **extra}


def test_second_follow_refuses_and_every_record_is_written_once(tmp_path: Path) -> None:
    journal = tmp_path / "oc4d.journal"
    write(journal, corpus(seed=18, entries=2500))
    expected = reference(journal, tmp_path)
    log_dir, db_url = tmp_path / "logs", f"sqlite:///{tmp_path / 'data' / 'gaze.db'}"
    env = env_for(journal, log_dir, db_url)
    first = start_follower(env, tmp_path / "first.out")
    try:
        while checkpoint_cursor(db_url) is None:  # reading: it holds the locks
            assert first.poll() is None, (tmp_path / "first.out").read_text()
            time.sleep(0.1)
        assert_refused(refused(["follow"], env), "MODULEGAZE_DATA_DIR", tmp_path / "data", first.pid)
        wait_for_cursor(db_url, last_cursor(journal), first)
    finally:
        assert stop(first) == 0, (tmp_path / "first.out").read_text()
    lines = session_log(log_dir).splitlines()
    assert len(lines) == len(set(lines)), "a session line was written twice"
    assert session_log(log_dir) == expected


def test_dashboard_holds_both_directories_until_it_dies(tmp_path: Path) -> None:
    lines = corpus(seed=19, entries=1500)
    journal = tmp_path / "oc4d.journal"
    write(journal, lines)
    expected = reference(journal, tmp_path)
    journal.unlink()
    write(journal, lines[:800])
    app = App(journal, tmp_path).start(timeout=90)
    data, logs = tmp_path / "data", tmp_path / "logs"
    db_url = f"sqlite:///{data / 'gaze.db'}"
    try:
        env = app.env()
        assert_refused(refused(["follow"], env), "MODULEGAZE_DATA_DIR", data, app.pid)
        other_port = dashboard_env(app, MODULEGAZE_PORT=str(free_port()))
        assert_refused(refused([], other_port), "MODULEGAZE_DATA_DIR", data, app.pid)
        (tmp_path / "input.json").write_text("")
        backfill = refused(["backfill", "--input", str(tmp_path / "input.json")], env)
        assert_refused(backfill, "MODULEFETCH_LOG_DIR", logs, app.pid)
        assert_refused(refused(["import-logs", str(logs)], env), "MODULEGAZE_DATA_DIR", data, app.pid)
        # beside it: what only reads, the users (re-read by the dashboard), a backfill elsewhere
        assert refused(["export", "--since", "2026-01-01"], env)[0] == 0
        assert refused(["users", "add", "clerk", "--password-stdin"], env, "a long password\n")[0] == 0
        assert refused(["users", "list"], env)[0] == 0
        elsewhere = ["backfill", "--input", str(tmp_path / "input.json"), "--log-dir", str(tmp_path / "x")]
        assert refused([*elsewhere, "--no-database"], env)[0] == 0
        assert app.process is not None and app.process.poll() is None
    finally:
        os.killpg(app.pid, signal.SIGKILL)  # no stop, no save: the kernel drops its locks
        assert app.process is not None
        app.process.wait(timeout=30)
    write(journal, lines[800:])
    follower = start_follower(env, tmp_path / "follow.out")
    try:
        wait_for_cursor(db_url, last_cursor(journal), follower)
    finally:
        assert stop(follower) == 0, (tmp_path / "follow.out").read_text()
    assert session_log(logs) == expected


def test_demo_data_locks_its_own_folder(tmp_path: Path) -> None:
    """Demo data lives under <data dir>/demo: a second demo board refuses; the real reader beside it runs."""
    journal = tmp_path / "oc4d.journal"
    write(journal, corpus(seed=20, entries=300))
    app = App(journal, tmp_path, extra_env={"MODULEGAZE_DEMO": "on"})
    app.passwords[ADMIN_USER] = "unused"  # no user needed: nothing signs in
    app.start(timeout=90)
    try:
        env = app.env()
        demo = tmp_path / "data" / "demo"
        other = dashboard_env(app, MODULEGAZE_PORT=str(free_port()))
        assert_refused(refused([], other), "MODULEGAZE_DATA_DIR", demo, app.pid)
        real = {**env, "MODULEGAZE_DEMO": "off"}
        db_url = env["MODULEGAZE_DATABASE_URL"]
        follower = start_follower(real, tmp_path / "follow.out")
        try:
            wait_for_cursor(db_url, last_cursor(journal), follower)
        finally:
            assert stop(follower) == 0, (tmp_path / "follow.out").read_text()
    finally:
        app.stop()


def test_sigterm_saves_and_exits_0(tmp_path: Path) -> None:
    lines = corpus(seed=21, entries=2000)
    journal = tmp_path / "oc4d.journal"
    write(journal, lines)
    expected = reference(journal, tmp_path)
    journal.unlink()
    write(journal, lines[:1100])  # sessions still open when it stops
    db_url = f"sqlite:///{tmp_path / 'data' / 'gaze.db'}"
    app = App(journal, tmp_path).start(timeout=90)
    assert app.process is not None
    wait_for_cursor(db_url, last_cursor(journal), app.process)
    process = app.process
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=30) == 0, app.output()
    write(journal, lines[1100:])
    app.start(timeout=90)
    wait_for_cursor(db_url, last_cursor(journal), app.process)
    process = app.process
    process.send_signal(signal.SIGINT)  # Ctrl-C in a terminal: the same clean stop
    assert process.wait(timeout=30) == 0, app.output()
    assert "Traceback" not in app.output()
    assert session_log(tmp_path / "logs") == expected


# ---------------------------------------------------------------- the lock itself


def test_the_holder_is_named_from_the_kernel_cleaned(tmp_path: Path) -> None:
    assert describe_holder(None) == UNKNOWN_HOLDER
    assert describe_holder(99_999_999_999) == UNKNOWN_HOLDER
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    assert describe_holder(int(gone.stdout)) == UNKNOWN_HOLDER
    forged = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(60)", "main.py\x1b[2J", "follow", "x" * 5000,
         "--database-url", "postgresql://u:secret@h/db"]
    )  # fmt: skip
    try:
        for _ in range(100):  # until the child's command line is its own
            said = describe_holder(forged.pid)
            if "main.py" in said:
                break
            time.sleep(0.05)
        assert said.startswith(f"pid {forged.pid} (") and "main.py [2J" in said and "follow x" in said
        assert "\x1b" not in said and "\n" not in said and len(said) < 300
        short = describe_holder(os.getpid())
        assert short.startswith(f"pid {os.getpid()} (") and "secret" not in describe_holder(forged.pid)
    finally:
        forged.kill()
        forged.wait()


def test_one_lock_per_directory_in_a_process_and_across_processes(tmp_path: Path) -> None:
    folder = tmp_path / "state"
    folder.mkdir()
    (tmp_path / "alias").symlink_to(folder)
    try:
        hold(folder, "MODULEGAZE_DATA_DIR")
        hold(folder, "MODULEGAZE_DATA_DIR")  # again: already ours
        hold(tmp_path / "alias", "MODULEFETCH_LOG_DIR")  # the same folder by another name
        assert os.listdir(folder) == []  # no file of ours in the folder: the lock is on the folder itself
        code = (
            "import sys; from pathlib import Path; from gaze.writerlock import hold, DirectoryInUse\n"
            "try:\n    hold(Path(sys.argv[1]), 'MODULEFETCH_LOG_DIR')\n"
            "except DirectoryInUse as exc:\n    print(exc)\n"
        )
        other = subprocess.run(
            [sys.executable, "-c", code, str(folder)], cwd=ROOT, capture_output=True, text=True, check=True
        )
        assert f"MODULEFETCH_LOG_DIR: {folder} is in use by pid {os.getpid()} (" in other.stdout
    finally:
        release_all()
    free = subprocess.run(
        [sys.executable, "-c", code, str(folder)], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert free.stdout == ""  # released: the next one takes it
