"""Settings — DESIGN §5: names, env file, defaults, booleans, one-line errors, start-up exit code 2."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from gaze.config import ENV_FILE_VARIABLE, Settings, SettingsError, load_settings
from tests.conftest import ROOT, foreign_environ

# Every DESIGN §5 variable (plus the retention/demo/capacity knobs), a non-default raw value, and
# how the parsed Settings must look for it.
VALUES: list[tuple[str, str, str, object]] = [
    ("MODULEGAZE_PORT", "8080", "port", 8080),
    ("MODULEGAZE_BACKGROUND_MONITOR", "1", "background_monitor", True),
    ("MODULEGAZE_TEE_ACCESS_LOG", "yes", "tee_access_log", True),
    ("MODULEGAZE_JOURNAL_SINCE", "2026-05-01 00:00:00", "journal_since", "2026-05-01 00:00:00"),
    ("MODULEGAZE_JOURNAL_UNIT", "other.service", "journal_unit", "other.service"),
    ("MODULEGAZE_JOURNAL_DIRECTORY", "/srv/journal", "journal_directory", Path("/srv/journal")),
    ("MODULEGAZE_JOURNAL_FILE", "/srv/journal/system.journal", "journal_file", Path("/srv/journal/system.journal")),
    ("MODULEGAZE_INCLUDE_LOOPBACK", "TRUE", "include_loopback", True),
    ("MODULEGAZE_IDLE_TIMEOUT_SECONDS", "120", "idle_timeout_seconds", 120),
    ("MODULEFETCH_LOG_DIR", "/srv/logs", "log_dir", Path("/srv/logs")),
    ("MODULEGAZE_UPLOADS_MODULES_ROOT", "/srv/uploads/modules", "uploads_modules_root", Path("/srv/uploads/modules")),
    ("MODULEGAZE_DATA_DIR", "/var/lib/modulegaze", "data_dir", Path("/var/lib/modulegaze")),
    ("MODULEGAZE_DATABASE_URL", "postgresql://gaze@db/gaze", "database_url", "postgresql://gaze@db/gaze"),
    ("DATABASE_URL", "postgresql://oc4d@db/oc4d", "oc4d_database_url", "postgresql://oc4d@db/oc4d"),
    ("MODULEGAZE_RETENTION_DAYS", "30", "retention_days", 30),
    ("MODULEGAZE_DEMO", "off", "demo", "off"),
    ("MODULEGAZE_MAX_OPEN_SESSIONS", "500", "max_open_sessions", 500),
    ("MODULEGAZE_READ_TOKEN", "0123456789abcdef0123", "read_token", "0123456789abcdef0123"),
]
ALL_VARIABLES = [v[0] for v in VALUES]


pytestmark = pytest.mark.usefixtures("clean_env")


def test_defaults() -> None:
    s = load_settings()
    assert s.port == 3002
    assert s.background_monitor is False
    assert s.tee_access_log is False
    assert s.journal_since == "today"
    assert not s.journal_since_all
    assert s.journal_unit == "oc4d.service"
    assert s.journal_directory is None
    assert s.journal_file is None
    assert s.include_loopback is False
    assert s.idle_timeout_seconds == 300
    assert s.log_dir == Path("/var/log/modulegaze")
    assert s.uploads_modules_root is None
    assert s.uploads_roots == (
        Path("/oc4d-server/workspaces/website/uploads/modules"),
        Path("/var/www/oc4d.cdn/uploads/modules"),
    )
    assert s.data_dir == Path("data")
    assert s.database_url is None
    assert s.own_database_url == f"sqlite:///{(Path('data') / 'gaze.db').absolute()}"
    assert s.oc4d_database_url is None
    assert s.retention_days == 365
    assert s.demo == "auto"


@pytest.mark.parametrize(("variable", "raw", "field", "expected"), VALUES, ids=ALL_VARIABLES)
def test_each_variable_from_environment(
    monkeypatch: pytest.MonkeyPatch, variable: str, raw: str, field: str, expected: object
) -> None:
    monkeypatch.setenv(variable, raw)
    assert getattr(load_settings(), field) == expected


@pytest.mark.parametrize(("variable", "raw", "field", "expected"), VALUES, ids=ALL_VARIABLES)
def test_each_variable_from_env_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, variable: str, raw: str, field: str, expected: object
) -> None:
    env_file = tmp_path / "gaze.env"
    env_file.write_text(f"# Module Gaze\n{variable}={raw}\n")
    monkeypatch.setenv(ENV_FILE_VARIABLE, str(env_file))
    assert getattr(load_settings(), field) == expected
    # also when handed over explicitly
    monkeypatch.delenv(ENV_FILE_VARIABLE)
    assert getattr(load_settings(env_file), field) == expected


def test_all_variables_from_one_env_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    env_file = tmp_path / "gaze.env"
    env_file.write_text("".join(f'{variable}="{raw}"\n' for variable, raw, _, _ in VALUES))
    monkeypatch.setenv(ENV_FILE_VARIABLE, str(env_file))
    s = load_settings()
    for _, _, field, expected in VALUES:
        assert getattr(s, field) == expected, field
    assert s.own_database_url == "postgresql://gaze@db/gaze"
    assert s.uploads_roots == (Path("/srv/uploads/modules"),)


def test_dot_env_in_working_directory_is_read() -> None:
    Path(".env").write_text("MODULEGAZE_PORT=4000\n")
    assert load_settings().port == 4000


def test_environment_wins_over_env_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    env_file = tmp_path / "gaze.env"
    env_file.write_text("MODULEGAZE_PORT=4000\nMODULEGAZE_IDLE_TIMEOUT_SECONDS=60\n")
    monkeypatch.setenv(ENV_FILE_VARIABLE, str(env_file))
    monkeypatch.setenv("MODULEGAZE_PORT", "5000")
    s = load_settings()
    assert (s.port, s.idle_timeout_seconds) == (5000, 60)


def test_missing_env_file_names_the_variable(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(ENV_FILE_VARIABLE, str(tmp_path / "nope.env"))
    with pytest.raises(SettingsError) as info:
        load_settings()
    assert str(info.value).startswith(ENV_FILE_VARIABLE)
    assert "\n" not in str(info.value)


def test_overrides_use_field_names(tmp_path: Path) -> None:
    s = load_settings(log_dir=tmp_path, idle_timeout_seconds=42, database_url="sqlite:///x.db")
    assert (s.log_dir, s.idle_timeout_seconds, s.own_database_url) == (tmp_path, 42, "sqlite:///x.db")


@pytest.mark.parametrize("raw", ["1", "true", "TRUE", "True", "yes", "YES", "Yes", "tRuE", "yEs"])
@pytest.mark.parametrize(
    ("variable", "field"),
    [
        ("MODULEGAZE_BACKGROUND_MONITOR", "background_monitor"),
        ("MODULEGAZE_TEE_ACCESS_LOG", "tee_access_log"),
        ("MODULEGAZE_INCLUDE_LOOPBACK", "include_loopback"),
    ],
)
def test_booleans_true(monkeypatch: pytest.MonkeyPatch, variable: str, field: str, raw: str) -> None:
    monkeypatch.setenv(variable, raw)
    assert getattr(load_settings(), field) is True


@pytest.mark.parametrize("raw", ["0", "false", "FALSE", "no", "No"])
def test_booleans_false(monkeypatch: pytest.MonkeyPatch, raw: str) -> None:
    monkeypatch.setenv("MODULEGAZE_TEE_ACCESS_LOG", raw)
    assert load_settings().tee_access_log is False


@pytest.mark.parametrize("raw", ["1", "TRUE", "Yes", "on"])
def test_demo_accepts_boolean_words(monkeypatch: pytest.MonkeyPatch, raw: str) -> None:
    monkeypatch.setenv("MODULEGAZE_DEMO", raw)
    assert load_settings().demo == "on"


@pytest.mark.parametrize("value", ["all", "ALL", "none", "None"])
def test_journal_since_all(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("MODULEGAZE_JOURNAL_SINCE", value)
    assert load_settings().journal_since_all


def test_blank_optional_paths_are_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("MODULEGAZE_JOURNAL_FILE", "MODULEGAZE_DATABASE_URL", "DATABASE_URL"):
        monkeypatch.setenv(name, "  ")
    s = load_settings()
    assert (s.journal_file, s.database_url, s.oc4d_database_url) == (None, None, None)


BAD = [
    ("MODULEGAZE_IDLE_TIMEOUT_SECONDS", "abc"),
    ("MODULEGAZE_IDLE_TIMEOUT_SECONDS", "0"),
    ("MODULEGAZE_PORT", "70000"),
    ("MODULEGAZE_PORT", "http"),
    ("MODULEGAZE_DEMO", "maybe"),
    ("MODULEGAZE_TEE_ACCESS_LOG", "perhaps"),
    ("MODULEGAZE_BACKGROUND_MONITOR", "2"),
    ("MODULEGAZE_RETENTION_DAYS", "-1"),
    ("MODULEGAZE_JOURNAL_SINCE", "   "),
    ("MODULEGAZE_JOURNAL_UNIT", ""),
]


@pytest.mark.parametrize(("variable", "raw"), BAD, ids=[f"{v}={r}" for v, r in BAD])
def test_bad_value_is_one_line_naming_the_variable(monkeypatch: pytest.MonkeyPatch, variable: str, raw: str) -> None:
    monkeypatch.setenv(variable, raw)
    with pytest.raises(SettingsError) as info:
        load_settings()
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(f"{variable}: ")
    # the other variables are not blamed
    assert [v for v in ALL_VARIABLES if v != variable and f"{v}:" in message] == []


@pytest.mark.parametrize(("variable", "raw"), BAD[:5], ids=[f"{v}={r}" for v, r in BAD[:5]])
def test_bad_value_in_env_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, variable: str, raw: str) -> None:
    env_file = tmp_path / "gaze.env"
    env_file.write_text(f"{variable}={raw}\n")
    monkeypatch.setenv(ENV_FILE_VARIABLE, str(env_file))
    with pytest.raises(SettingsError) as info:
        load_settings()
    assert "\n" not in str(info.value)
    assert str(info.value).startswith(f"{variable}: ")


def test_two_bad_values_still_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MODULEGAZE_PORT", "70000")
    monkeypatch.setenv("MODULEGAZE_DEMO", "maybe")
    with pytest.raises(SettingsError) as info:
        load_settings()
    message = str(info.value)
    assert "\n" not in message
    assert "MODULEGAZE_PORT" in message and "MODULEGAZE_DEMO" in message


def test_settings_class_is_not_populated_by_field_name(monkeypatch: pytest.MonkeyPatch) -> None:
    """Only the documented names count: a PORT variable or a `port` key is ignored."""
    monkeypatch.setenv("PORT", "9999")
    monkeypatch.setenv("port", "9999")
    assert Settings().port == 3002


# ---------------------------------------------------------------- start-up (a real subprocess)


def _run_main(args: list[str], extra: dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = foreign_environ()
    (tmp_path / "empty.journal").write_bytes(b"")
    env.update(
        MODULEGAZE_DATA_DIR=str(tmp_path / "data"),
        MODULEFETCH_LOG_DIR=str(tmp_path / "logs"),
        MODULEGAZE_JOURNAL_FILE=str(tmp_path / "empty.journal"),
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return subprocess.run(
        [sys.executable, "main.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )


def _assert_one_line_naming(result: subprocess.CompletedProcess[str], variable: str) -> None:
    assert result.returncode == 2, (result.returncode, result.stderr)
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert variable in lines[0]
    assert "Traceback" not in result.stderr
    assert result.stdout == ""


@pytest.mark.slow
@pytest.mark.parametrize(
    ("variable", "raw"),
    [
        ("MODULEGAZE_IDLE_TIMEOUT_SECONDS", "abc"),
        ("MODULEGAZE_PORT", "70000"),
        ("MODULEGAZE_DEMO", "maybe"),
        ("MODULEGAZE_INCLUDE_LOOPBACK", "sometimes"),
    ],
)
def test_follow_with_bad_value_exits_2(tmp_path: Path, variable: str, raw: str) -> None:
    _assert_one_line_naming(_run_main(["follow"], {variable: raw}, tmp_path), variable)


@pytest.mark.slow
def test_follow_with_bad_value_in_env_file_exits_2(tmp_path: Path) -> None:
    env_file = tmp_path / "gaze.env"
    env_file.write_text("MODULEGAZE_PORT=70000\n")
    result = _run_main(["follow"], {ENV_FILE_VARIABLE: str(env_file)}, tmp_path)
    _assert_one_line_naming(result, "MODULEGAZE_PORT")


@pytest.mark.slow
def test_follow_with_unwritable_log_dir_exits_2(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a regular file\n")
    result = _run_main(["follow"], {"MODULEFETCH_LOG_DIR": str(blocker / "logs")}, tmp_path)
    _assert_one_line_naming(result, "MODULEFETCH_LOG_DIR")
    assert blocker.read_text() == "a regular file\n"


@pytest.mark.slow
def test_follow_with_unwritable_data_dir_exits_2(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    result = _run_main(["follow"], {"MODULEGAZE_DATA_DIR": str(blocker / "data")}, tmp_path)
    _assert_one_line_naming(result, "MODULEGAZE_DATA_DIR")


@pytest.mark.slow
def test_follow_with_unusable_database_exits_2(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    result = _run_main(["follow"], {"MODULEGAZE_DATABASE_URL": f"sqlite:///{blocker}/sub/gaze.db"}, tmp_path)
    _assert_one_line_naming(result, "MODULEGAZE_DATABASE_URL")


@pytest.mark.slow
def test_backfill_with_bad_value_exits_2(tmp_path: Path) -> None:
    _assert_one_line_naming(
        _run_main(["backfill", "--input", "-"], {"MODULEGAZE_IDLE_TIMEOUT_SECONDS": "abc"}, tmp_path),
        "MODULEGAZE_IDLE_TIMEOUT_SECONDS",
    )


@pytest.mark.slow
@pytest.mark.parametrize(
    ("variable", "kind"), [("MODULEGAZE_JOURNAL_FILE", "file"), ("MODULEGAZE_JOURNAL_DIRECTORY", "directory")]
)
def test_a_missing_journal_file_or_directory_stops_start_up_in_one_line(
    variable: str, kind: str, tmp_path: Path
) -> None:
    extra = {variable: str(tmp_path / "nowhere" / "oc4d.journal")}
    if variable == "MODULEGAZE_JOURNAL_DIRECTORY":
        extra["MODULEGAZE_JOURNAL_FILE"] = ""
    result = _run_main(["follow"], extra, tmp_path)
    _assert_one_line_naming(result, variable)
    assert f"is not a {kind}" in result.stderr


# ---------------------------------------------------------------- database URLs (issue 12 §8)


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
