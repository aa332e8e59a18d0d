"""The command line's parser (`python main.py --help`): sub-commands, their options and defaults, and
the one-line refusals argparse gives for what it cannot take."""

from __future__ import annotations

from pathlib import Path

import pytest

from gaze.auth import ADMIN, VIEWER
from gaze.cli_parser import build_parser


def test_no_command_is_the_dashboard() -> None:
    assert build_parser().parse_args([]).command is None


def test_backfill_options_and_defaults() -> None:
    args = build_parser().parse_args(["backfill", "--file", "/var/log/journal/x.journal", "--since", "yesterday"])
    assert args.command == "backfill" and args.file == Path("/var/log/journal/x.journal")
    assert args.since == "yesterday" and args.format == "json" and args.no_database is False
    assert args.input is None and args.log_dir is None


def test_backfill_reads_one_source_only(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stop:
        build_parser().parse_args(["backfill", "--input", "-", "--file", "x.journal"])
    assert stop.value.code == 2
    assert "not allowed with argument" in capsys.readouterr().err


def test_export_needs_since_and_takes_an_output_path(capsys: pytest.CaptureFixture[str]) -> None:
    args = build_parser().parse_args(["export", "--since", "2026-05-01", "--output", "out.csv"])
    assert (args.since, args.until, args.output) == ("2026-05-01", None, Path("out.csv"))
    with pytest.raises(SystemExit):
        build_parser().parse_args(["export"])
    assert "--since" in capsys.readouterr().err


def test_users_sub_commands_and_roles(capsys: pytest.CaptureFixture[str]) -> None:
    parser = build_parser()
    added = parser.parse_args(["users", "add", "anna"])
    assert (added.users_command, added.username, added.role, added.password_stdin) == ("add", "anna", VIEWER, False)
    admin = parser.parse_args(["users", "add", "kofi", "--role", ADMIN, "--password-stdin"])
    assert (admin.role, admin.password_stdin) == (ADMIN, True)
    assert parser.parse_args(["users", "list"]).users_command == "list"
    with pytest.raises(SystemExit):
        parser.parse_args(["users", "add", "x", "--role", "owner"])
    assert "invalid choice: 'owner'" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        parser.parse_args(["users"])  # a users command is required


def test_import_logs_takes_a_folder() -> None:
    args = build_parser().parse_args(["import-logs", "/srv/logs", "--database-url", "sqlite:////tmp/x.db"])
    assert (args.command, args.directory, args.database_url) == (
        "import-logs",
        Path("/srv/logs"),
        "sqlite:////tmp/x.db",
    )


def test_every_command_is_listed_and_the_uplink_one_parses() -> None:
    parser = build_parser()
    help_text = parser.format_help()
    for command in ("serve", "follow", "backfill", "import-logs", "export", "users", "uplink"):
        assert command in help_text
    args = parser.parse_args(["uplink", "--once"])
    assert (args.command, args.once) == ("uplink", True)
