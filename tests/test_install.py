"""install.sh and systemd/cdnmodulegaze.service: a staging install (`--prefix`), its re-run, its uninstall.

The install runs once per module (`--prefix <tmp> --no-systemd --no-apt`: files only, no root needed);
its virtualenv is a real one (pip install -r requirements.txt, fast from pip's cache on repeats).
"""

from __future__ import annotations

import contextlib
import grp
import json
import os
import pwd
import re
import shutil
import signal
import stat
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from tests import journalkit
from tests.browserkit import free_port
from tests.conftest import ROOT, is_our_setting, require

pytestmark = pytest.mark.slow

INSTALL = ROOT / "install.sh"
UNIT = ROOT / "systemd" / "cdnmodulegaze.service"
UNIT_NAME = "cdnmodulegaze.service"
INSTALL_TIMEOUT_S = 300
RECOMMENDED = {
    "MODULEGAZE_BACKGROUND_MONITOR": "1",
    "MODULEGAZE_TEE_ACCESS_LOG": "1",
    "MODULEGAZE_JOURNAL_SINCE": "today",
    "MODULEGAZE_UPLOADS_MODULES_ROOT": "/oc4d-server/workspaces/website/uploads/modules",
    "MODULEGAZE_PORT": "3002",
    "MODULEGAZE_DEMO": "off",
}


def run_install(*args: str | Path) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        ["bash", str(INSTALL), *map(str, args)],
        capture_output=True,
        text=True,
        timeout=INSTALL_TIMEOUT_S,
        check=False,
    )
    assert result.returncode == 0, f"install.sh {args} failed:\n{result.stdout}\n{result.stderr}"
    return result


def env_values(path: Path) -> dict[str, str]:
    values = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            values[key.strip()] = value.strip()
    return values


def unit_settings(text: str) -> dict[str, list[str]]:
    settings: dict[str, list[str]] = {}
    for line in text.splitlines():
        if line and not line.startswith(("#", ";", "[")):
            key, _, value = line.partition("=")
            settings.setdefault(key, []).append(value)
    return settings


@pytest.fixture(scope="module")
def prefix(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("stage")
    run_install("--prefix", root, "--no-systemd", "--no-apt")
    return root


def test_help_and_bad_option() -> None:
    result = run_install("--help")
    assert "--prefix" in result.stdout and "--uninstall" in result.stdout
    bad = subprocess.run(["bash", str(INSTALL), "--bogus"], capture_output=True, text=True, timeout=30, check=False)
    assert bad.returncode != 0 and "unknown option: --bogus" in bad.stderr


def test_prefix_with_unsafe_characters_is_refused(tmp_path: Path) -> None:
    odd = tmp_path / "with space"
    result = subprocess.run(
        ["bash", str(INSTALL), "--prefix", str(odd), "--no-apt"], capture_output=True, text=True, timeout=30
    )
    assert result.returncode != 0 and "--prefix" in result.stderr
    assert not (odd / "opt").exists()


def test_unit_points_into_the_prefix(prefix: Path) -> None:
    text = (prefix / "etc/systemd/system" / UNIT_NAME).read_text()
    s = unit_settings(text)
    p = str(prefix)
    assert s["ExecStart"] == [f"{p}/opt/modulegaze/venv/bin/python {p}/opt/modulegaze/app/main.py"]
    assert s["WorkingDirectory"] == [f"{p}/opt/modulegaze/app"]
    assert s["EnvironmentFile"] == [f"{p}/etc/modulegaze/env"]
    assert f"MODULEGAZE_DATA_DIR={p}/var/lib/modulegaze" in s["Environment"]
    assert f"NICEGUI_STORAGE_PATH={p}/var/lib/modulegaze/nicegui" in s["Environment"]
    assert s["ReadWritePaths"] == [f"{p}/var/lib/modulegaze {p}/var/log/modulegaze"]
    # Nothing of ours is left pointing outside the prefix; the rest of the unit is the repository's.
    assert not re.search(r"(^|[=\" ])/(opt|etc|var/lib|var/log)/modulegaze", text, re.MULTILINE)
    assert text.replace(p, "") == UNIT.read_text()
    mode = stat.S_IMODE((prefix / "etc/systemd/system" / UNIT_NAME).stat().st_mode)
    assert mode == 0o644


def test_repository_unit_has_the_agreed_settings() -> None:
    s = unit_settings(UNIT.read_text())
    assert s["User"] == ["modulegaze"] and s["Group"] == ["modulegaze"]
    assert s["SupplementaryGroups"] == ["systemd-journal"]
    assert s["EnvironmentFile"] == ["/etc/modulegaze/env"]
    assert s["ExecStart"] == ["/opt/modulegaze/venv/bin/python /opt/modulegaze/app/main.py"]
    assert s["StateDirectory"] == ["modulegaze"] and s["LogsDirectory"] == ["modulegaze"]
    assert s["Restart"] == ["on-failure"] and s["RestartPreventExitStatus"] == ["2"]
    assert "oc4d.service" in s["After"][0] and s["Wants"] == ["oc4d.service"] and "Requires" not in s
    for key in ("NoNewPrivileges", "PrivateTmp"):
        assert s[key] == ["yes"], key
    assert s["ProtectHome"] == ["read-only"]  # oc4d may live in /home/pi/oc4d-server (upstream's unit)
    assert s["ProtectSystem"] == ["strict"]
    assert "MemoryDenyWriteExecute" not in s
    families = s["RestrictAddressFamilies"][0].split()
    assert {"AF_UNIX", "AF_INET", "AF_INET6"} <= set(families)
    assert s["WantedBy"] == ["multi-user.target"]


def test_env_file_has_the_recommended_values(prefix: Path) -> None:
    env = prefix / "etc/modulegaze/env"
    assert stat.S_IMODE(env.stat().st_mode) == 0o640
    values = env_values(env)
    for key, value in RECOMMENDED.items():
        assert values[key] == value, key
    assert values["MODULEFETCH_LOG_DIR"] == f"{prefix}/var/log/modulegaze"
    assert "DATABASE_URL" not in values
    assert re.search(r"^# DATABASE_URL=postgresql://", env.read_text(), re.MULTILINE)
    # the uplink: off, with commented lines to fill in (README "Uplink")
    assert not [key for key in values if key.startswith(("MODULEGAZE_UPLINK_", "AWS_"))]
    for line in ("MODULEGAZE_UPLINK_URL=s3://", "MODULEGAZE_UPLINK_LOCATION=", "AWS_SECRET_ACCESS_KEY="):
        assert re.search(rf"^# {line}", env.read_text(), re.MULTILINE), line


def test_directories(prefix: Path) -> None:
    modes = {"var/lib/modulegaze": 0o700, "var/log/modulegaze": 0o755, "opt/modulegaze": 0o755}
    for rel, mode in modes.items():
        assert stat.S_IMODE((prefix / rel).stat().st_mode) == mode, rel
    assert (prefix / "etc/modulegaze").is_dir()


def test_app_is_copied_without_tests_or_caches(prefix: Path) -> None:
    app = prefix / "opt/modulegaze/app"
    for rel in ("main.py", "requirements.txt", "gaze/sessions.py", "gaze/config.py", "pages", "components"):
        assert (app / rel).exists(), rel
    assert list((app / "gaze/migrations/versions").glob("0001_*.py"))
    names = {p.name for p in app.rglob("*")}
    assert not names & {"tests", "__pycache__", ".venv", "data", "bench", "scripts", ".git"}
    assert not list(app.rglob("*.pyc"))
    assert (app / "gaze/sessions.py").read_bytes() == (ROOT / "gaze/sessions.py").read_bytes()


def test_venv_runs_the_app(prefix: Path, tmp_path: Path) -> None:
    python = prefix / "opt/modulegaze/venv/bin/python"
    assert python.exists()
    app = prefix / "opt/modulegaze/app"
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1", "MODULEGAZE_DATA_DIR": str(tmp_path)}
    env.pop("PYTHONPATH", None)
    probe = subprocess.run(
        [str(python), "-c", "import nicegui, gaze.config; print(gaze.config.__file__)"],
        cwd=app,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert probe.returncode == 0, probe.stderr
    assert Path(probe.stdout.strip()) == app / "gaze/config.py"
    # The whole app imports from the copy (pages, components, migrations) and its CLI answers.
    helped = subprocess.run(
        [str(python), "main.py", "--help"], cwd=app, env=env, capture_output=True, text=True, timeout=120
    )
    assert helped.returncode == 0, helped.stderr
    assert "backfill" in helped.stdout


def _start_staged(prefix: Path, work: Path, changes: dict[str, str | None], path: str) -> subprocess.Popen[bytes]:
    """The staged app with the settings install.sh wrote (and the unit's Environment=), own folders."""
    env = {k: v for k, v in os.environ.items() if not is_our_setting(k) and not k.startswith(("PYTEST_", "NICEGUI_"))}
    env.update(env_values(prefix / "etc/modulegaze/env"))
    env.update(MODULEGAZE_DATA_DIR=str(work / "state"), NICEGUI_STORAGE_PATH=str(work / "state/nicegui"))
    env.update(MODULEFETCH_LOG_DIR=str(work / "logs"), MODULEGAZE_UPLOADS_MODULES_ROOT=str(work / "uploads"), PATH=path)
    for key, value in changes.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    work.mkdir(parents=True)
    app = prefix / "opt/modulegaze/app"
    out = (work / "out.txt").open("wb")
    return subprocess.Popen(
        [str(prefix / "opt/modulegaze/venv/bin/python"), str(app / "main.py")],
        cwd=app, env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip


def _get(url: str, token: str | None = None) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"} if token else {})
    try:
        with urllib.request.urlopen(request, timeout=3) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


def _lines_in(folder: Path) -> int:
    return sum(len(p.read_bytes().splitlines()) for p in folder.rglob("*") if p.is_file()) if folder.exists() else 0


def test_production_env_never_writes_demo_data(prefix: Path, tmp_path: Path) -> None:
    """Issue 8: install.sh's settings, a journal without oc4d lines or no journalctl at all (also with
    the older env files that have no MODULEGAZE_DEMO line): after 15 s the log folder has no line.
    Demo data, when asked for, stays under the data directory."""
    require(journalkit.available(), "systemd-journal-remote and journalctl")
    journal = tmp_path / "other" / "system.journal"
    stamp = int(time.time() * 1_000_000)
    journalkit.write_journal(
        journal, [journalkit.export_entry(f"sshd line {n}", stamp + n, unit="ssh.service") for n in range(3)]
    )
    venv_bin = str(prefix / "opt/modulegaze/venv/bin")  # a PATH without journalctl
    token = "staged-read-token-0123456789"
    runs = {
        "no-oc4d-lines": ({"MODULEGAZE_JOURNAL_FILE": str(journal), "DATABASE_URL": "postgresql://u:pw@127.0.0.1:1/x",
                           "MODULEGAZE_READ_TOKEN": token}, os.environ["PATH"]),
        "no-journalctl": ({}, venv_bin),
        "no-journalctl-auto": ({"MODULEGAZE_DEMO": None}, venv_bin),
        "demo-on": ({"MODULEGAZE_DEMO": "on"}, venv_bin),
    }  # fmt: skip
    ports = {name: str(free_port()) for name in runs}
    processes = {
        name: _start_staged(prefix, tmp_path / name, {**changes, "MODULEGAZE_PORT": ports[name]}, path)
        for name, (changes, path) in runs.items()
    }
    try:
        deadline = time.monotonic() + 90
        health: dict[str, dict[str, Any]] = {}
        while len(health) < len(runs) and time.monotonic() < deadline:
            for name in runs:
                if name not in health:
                    with contextlib.suppress(OSError, ValueError):
                        health[name] = _get(f"http://127.0.0.1:{ports[name]}/healthz")[1]
            time.sleep(0.5)
        assert len(health) == len(runs), {n: (tmp_path / n / "out.txt").read_text() for n in runs}
        time.sleep(15)
        for name in ("no-oc4d-lines", "no-journalctl", "no-journalctl-auto"):
            assert _lines_in(tmp_path / name / "logs") == 0, name
            status, body = _get(f"http://127.0.0.1:{ports[name]}/healthz")
            assert body["demo"] is False, name
            assert not (tmp_path / name / "state" / "demo").exists(), name
        assert _get(f"http://127.0.0.1:{ports['no-journalctl']}/healthz")[1]["reader"]["status"] == "missing"
        demo = tmp_path / "demo-on"
        assert _get(f"http://127.0.0.1:{ports['demo-on']}/healthz")[1]["demo"] is True
        assert _lines_in(demo / "logs") == 0 and _lines_in(demo / "state" / "demo" / "logs") > 0
        assert not (demo / "state" / "gaze.db").exists()  # the demo has its own database file

        # From a plain HTTP client, no cookie: the catalog, without the database's error details.
        base = f"http://127.0.0.1:{ports['no-oc4d-lines']}"
        status, catalog = _get(f"{base}/api/modules")
        assert status == 200 and {"modules", "sources", "warnings"} <= set(catalog)
        assert catalog["sources"]["database"]["ok"] is False and "127.0.0.1" not in json.dumps(catalog)
        assert _get(f"{base}/api/live-sessions")[0] == 401
        assert _get(f"{base}/api/live-sessions", "not-" + token)[0] == 401
        status, live = _get(f"{base}/api/live-sessions", token)
        assert status == 200 and live["sessions"] == [] and live["enabled"] is True
    finally:
        for process in processes.values():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
        for process in processes.values():
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)


def test_oc4d_database_url_is_offered(tmp_path: Path) -> None:
    oc4d_env = tmp_path / "oc4d" / ".env"
    oc4d_env.parent.mkdir()
    oc4d_env.write_text('PORT=3000\nexport DATABASE_URL="postgresql://oc4d:s3cret@127.0.0.1:5432/oc4d?schema=public"\n')
    stage = tmp_path / "stage"
    run_install("--prefix", stage, "--no-systemd", "--no-apt", "--oc4d-env", oc4d_env)
    values = env_values(stage / "etc/modulegaze/env")
    assert values["DATABASE_URL"] == "postgresql://oc4d:s3cret@127.0.0.1:5432/oc4d?schema=public"
    assert values["MODULEGAZE_DEMO"] == "off"
    assert re.search(r"^# MODULEGAZE_READ_TOKEN=", (stage / "etc/modulegaze/env").read_text(), re.MULTILINE)

    odd = tmp_path / "odd.env"
    odd.write_text("DATABASE_URL='postgresql://oc4d:with space@h/db'\n")
    other = tmp_path / "stage2"
    result = run_install("--prefix", other, "--no-systemd", "--no-apt", "--oc4d-env", odd)
    assert "not copied" in result.stderr and "DATABASE_URL" not in env_values(other / "etc/modulegaze/env")


def test_systemd_analyze_verify(prefix: Path, tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    require(analyze is not None, "systemd-analyze (Debian package systemd)")
    assert analyze is not None
    python = prefix / "opt/modulegaze/venv/bin/python"
    text = UNIT.read_text()
    # verify insists that ExecStart's program exists: point it at the staged venv's python.
    text = text.replace("ExecStart=/opt/modulegaze/venv/bin/python", f"ExecStart={python}")
    # Only the account is swapped when this machine has no modulegaze user (it is install.sh's job).
    if not _account_exists():
        text = re.sub(r"^(User|Group)=modulegaze$", r"\1=root", text, flags=re.MULTILINE)
    checked = tmp_path / UNIT_NAME
    checked.write_text(text)
    result = subprocess.run([analyze, "verify", str(checked)], capture_output=True, text=True, timeout=60)
    output = (result.stdout + result.stderr).strip()
    assert result.returncode == 0, output
    # Unknown keys and bad values are only warnings (exit code 0): there must be none for our unit.
    ours = [line for line in output.splitlines() if UNIT_NAME in line or str(checked) in line]
    assert not ours, output

    # The check is live: the same unit with a missing program fails.
    broken = tmp_path / "broken" / UNIT_NAME
    broken.parent.mkdir()
    broken.write_text(text.replace(f"ExecStart={python}", f"ExecStart={tmp_path}/missing/python"))
    failed = subprocess.run([analyze, "verify", str(broken)], capture_output=True, text=True, timeout=60)
    assert failed.returncode != 0


def _account_exists() -> bool:
    try:
        pwd.getpwnam("modulegaze")
        grp.getgrnam("modulegaze")
    except KeyError:
        return False
    return True


def test_second_run_is_idempotent_and_keeps_the_admins_env(prefix: Path) -> None:
    env = prefix / "etc/modulegaze/env"
    edited = env.read_text().replace("MODULEGAZE_PORT=3002", "MODULEGAZE_PORT=3010") + "DATABASE_URL=postgresql://x\n"
    env.write_text(edited)
    unit = prefix / "etc/systemd/system" / UNIT_NAME
    unit_before = unit.read_text()
    venv_cfg = prefix / "opt/modulegaze/venv/pyvenv.cfg"
    venv_stamp = venv_cfg.stat().st_mtime_ns
    stale = prefix / "opt/modulegaze/app/gaze/removed_module.py"
    stale.write_text("# from an older version\n")
    (prefix / "var/lib/modulegaze/gaze.db").write_bytes(b"state")
    (prefix / "var/log/modulegaze/modulegaze-sessions.log").write_text("line\n")

    result = run_install("--prefix", prefix, "--no-systemd", "--no-apt")

    assert "keeping" in result.stdout
    assert env.read_text() == edited
    assert stat.S_IMODE(env.stat().st_mode) == 0o640
    assert unit.read_text() == unit_before
    assert venv_cfg.stat().st_mtime_ns == venv_stamp  # the virtualenv was reused, not rebuilt
    assert not stale.exists()  # the app is a fresh copy
    assert (prefix / "opt/modulegaze/app/main.py").exists()
    assert (prefix / "var/lib/modulegaze/gaze.db").read_bytes() == b"state"
    assert (prefix / "var/log/modulegaze/modulegaze-sessions.log").read_text() == "line\n"
    assert not list((prefix / "opt/modulegaze").glob(".app.*"))


def test_uninstall_keeps_state_logs_and_settings(prefix: Path) -> None:
    env_text = (prefix / "etc/modulegaze/env").read_text()
    (prefix / "var/log/modulegaze/kept.log").write_text("kept\n")

    run_install("--uninstall", "--prefix", prefix)

    assert not (prefix / "opt/modulegaze").exists()
    assert not (prefix / "etc/systemd/system" / UNIT_NAME).exists()
    assert (prefix / "var/lib/modulegaze").is_dir()
    assert (prefix / "var/log/modulegaze/kept.log").read_text() == "kept\n"
    assert (prefix / "etc/modulegaze/env").read_text() == env_text
    # Uninstalling twice is harmless.
    run_install("--uninstall", "--prefix", prefix)


# ---------------------------------------------------------------- over upstream's cdn-module-gaze

UPSTREAM_UNIT = """[Unit]
Description=CDN Module Gaze
After=network.target

[Service]
Type=simple
User=root
WorkingDirectory=/home/pi/cdn-module-gaze
ExecStart=/home/pi/.bun/bin/bun run start
Restart=always
RestartSec=10
Environment=NODE_ENV=production
Environment=MODULEGAZE_JOURNAL_SINCE=today
Environment=MODULEFETCH_LOG_DIR=/var/log/modulegaze

[Install]
WantedBy=multi-user.target
"""


def _session_lines(end_ms: int, n: int, ip: str) -> str:
    from gaze.logs.format import format_session_line

    return "".join(format_session_line(end_ms - i * 60_000, "Guest", ip, f"m{i}", 30 + i) for i in range(n))


def _upstream_logs(logs: Path) -> None:
    """Today's plain files, an archive of ours and upstream's second one of a day, an old mf- zip."""
    import zipfile

    now = int(time.time() * 1000)
    logs.mkdir(parents=True)
    (logs / "modulegaze-sessions.log").write_text(_session_lines(now - 60_000, 4, "10.0.0.4"))
    (logs / "modulegaze-access.log").write_text("2026-05-04T10:00:00.000Z\tinfo: 10.0.0.4 GET /modules/x/\n")
    with zipfile.ZipFile(logs / "modulegaze-sessions-2026-05-03.log.zip", "w") as zf:
        zf.writestr("modulegaze-sessions-2026-05-03.log", _session_lines(1_777_800_000_000, 3, "10.0.0.3"))
    with zipfile.ZipFile(logs / "modulegaze-sessions-2026-05-03-1777852800000.log.zip", "w") as zf:
        zf.writestr("modulegaze-sessions-2026-05-03.log", _session_lines(1_777_810_000_000, 2, "10.0.0.2"))
    with zipfile.ZipFile(logs / "mf-2026-05-02-ab12.zip", "w") as zf:
        zf.writestr(
            "modulefetch.json",
            '{"recordedAt":"2026-05-02T10:00:00.000Z","userId":"Guest|10.0.0.1","moduleId":"old","durationSeconds":40}',
        )


def test_install_over_upstream(tmp_path: Path) -> None:
    """Found, stopped (port waited for), logs untouched and in the history, folder left with how to
    remove it; uninstalling does not bring upstream back and says so."""
    import socket
    import sqlite3

    root = tmp_path / "stage"
    unit = root / "etc/systemd/system" / UNIT_NAME
    unit.parent.mkdir(parents=True)
    unit.write_text(UPSTREAM_UNIT)
    logs = root / "var/log/modulegaze"
    _upstream_logs(logs)
    before = {p.name: p.read_bytes() for p in logs.iterdir()}
    port = free_port()
    env = root / "etc/modulegaze/env"
    env.parent.mkdir(parents=True)
    env.write_text(f"MODULEGAZE_PORT={port}\nMODULEGAZE_DEMO=off\n")
    upstream = socket.create_server(("127.0.0.1", port))  # upstream's server, still stopping

    with subprocess.Popen(
        ["bash", str(INSTALL), "--prefix", str(root), "--no-systemd", "--no-apt"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as install:
        assert install.stdout is not None
        seen = []
        for line in install.stdout:  # upstream's server stops once install.sh waits for it
            seen.append(line)
            if f"waiting for port {port} to be free" in line:
                upstream.close()
        assert install.stderr is not None
        problems = install.stderr.read()
        assert install.wait(timeout=INSTALL_TIMEOUT_S) == 0, "".join(seen) + problems
    assert "upstream wrote its session logs" not in problems  # its unit names the same log folder
    upstream.close()
    out = "".join(seen)

    assert "found upstream's cdn-module-gaze" in out and "/home/pi/cdn-module-gaze" in out
    assert f"waiting for port {port} to be free" in out
    assert out.index("waiting for port") < out.index(f"installing {unit}")  # stopped before it is replaced
    assert "10 records taken into the history" in out
    assert "/home/pi/cdn-module-gaze is left in place" in out and "sudo rm -rf /home/pi/cdn-module-gaze" in out
    assert {p.name: p.read_bytes() for p in logs.iterdir()} == before  # kept as they were
    assert "/opt/modulegaze/venv/bin/python" in unit.read_text()  # ours replaced upstream's
    with contextlib.closing(sqlite3.connect(root / "var/lib/modulegaze/gaze.db")) as db:
        assert db.execute("SELECT count(*) FROM session_record WHERE source = 'import'").fetchone() == (10,)

    again = run_install("--prefix", root, "--no-systemd", "--no-apt").stdout  # ours now: nothing found
    assert "found upstream" not in again and "records taken" not in again

    gone = run_install("--uninstall", "--prefix", root).stdout
    assert not unit.exists()
    assert "NOT brought back" in gone and "cd /home/pi/cdn-module-gaze && sudo bash install.sh" in gone
    assert {p.name: p.read_bytes() for p in logs.iterdir()} == before
