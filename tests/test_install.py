"""install.sh and systemd/cdnmodulegaze.service: a staging install (`--prefix`), its re-run, its uninstall.

The install runs once per module (`--prefix <tmp> --no-systemd --no-apt`: files only, no root needed);
its virtualenv is a real one (pip install -r requirements.txt, fast from pip's cache on repeats).
"""

from __future__ import annotations

import grp
import os
import pwd
import re
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from tests.conftest import ROOT, require

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
    for key in ("NoNewPrivileges", "ProtectHome", "PrivateTmp"):
        assert s[key] == ["yes"], key
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
