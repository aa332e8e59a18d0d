"""The command line's sub-commands and options (`python main.py --help`): the parser only, loaded
with every command; each command's code is imported where it runs (gaze.cli)."""

from __future__ import annotations

import argparse
from pathlib import Path

from gaze.roles import ROLES, VIEWER


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="main.py", description="Module Gaze: live module sessions from oc4d's journal."
    )
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("serve", help="run the dashboard (the default)")
    follow = sub.add_parser("follow", help="follow the journal and write sessions, without the web UI")
    follow.add_argument("--log-level", default="INFO")
    back = sub.add_parser("backfill", help="rebuild session records from past journal entries")
    src = back.add_mutually_exclusive_group()
    src.add_argument("--input", metavar="FILE|-", help="read journalctl output from a file or stdin")
    back.add_argument(
        "--format", choices=("json", "text"), default="json", help="json = journalctl -o json; text = -o short-iso"
    )
    back.add_argument("--since", help="read the journal from this time (journalctl --since syntax)")
    back.add_argument("--until", help="read the journal up to this time")
    back.add_argument("--directory", type=Path, help="journal directory instead of the system journal")
    src.add_argument("--file", type=Path, help="journal file instead of the system journal")
    back.add_argument("--unit", help="systemd unit (default from MODULEGAZE_JOURNAL_UNIT)")
    back.add_argument(
        "--log-dir", type=Path, help="where to write modulegaze-sessions.log (default MODULEFETCH_LOG_DIR)"
    )
    back.add_argument("--database-url", help="database for the records (default MODULEGAZE_DATABASE_URL / SQLite)")
    back.add_argument("--no-database", action="store_true", help="write the log files only")
    imp = sub.add_parser("import-logs", help="load modulegaze-sessions log files and archives into the database")
    imp.add_argument("directory", type=Path, metavar="DIR", help="folder holding the .log and .log.zip files")
    imp.add_argument("--database-url", help="database for the records (default MODULEGAZE_DATABASE_URL / SQLite)")
    uplink = sub.add_parser(
        "uplink", help="ship queued session records to the organisation's bucket (MODULEGAZE_UPLINK_URL)"
    )
    uplink.add_argument("--once", action="store_true", help="ship everything queued now and print what was sent")
    uplink.add_argument(
        "--queue-since",
        metavar="DATE",
        help="queue the records that ended on or after DATE (YYYY-MM-DD, local time) and were never queued",
    )
    uplink.add_argument("--database-url", help="our database (default MODULEGAZE_DATABASE_URL / SQLite)")
    uplink.add_argument("--batch-records", type=int, help=argparse.SUPPRESS)  # default: gaze.uplink.outbox's
    exp = sub.add_parser("export", help="write the sessions of a period as CSV (the History page's CSV)")
    exp.add_argument("--since", required=True, metavar="DATE", help="first local day, YYYY-MM-DD")
    exp.add_argument("--until", metavar="DATE", help="last local day, YYYY-MM-DD (default: today)")
    exp.add_argument("--output", type=Path, metavar="FILE", help="write here instead of standard output")
    exp.add_argument("--database-url", help="database to read (default MODULEGAZE_DATABASE_URL / SQLite)")
    users = sub.add_parser("users", help="manage who may log in to the dashboard")
    users_sub = users.add_subparsers(dest="users_command", required=True)
    add = users_sub.add_parser("add", help="add a user (asks for the password)")
    add.add_argument("username")
    add.add_argument("--role", choices=ROLES, default=VIEWER)
    add.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    passwd = users_sub.add_parser("passwd", help="set a user's password")
    passwd.add_argument("username")
    passwd.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    remove = users_sub.add_parser("remove", help="remove a user")
    remove.add_argument("username")
    users_sub.add_parser("list", help="list users and roles")
    return parser
