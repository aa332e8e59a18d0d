"""`python main.py uplink [--queue-since DATE] [--once]`: the uplink from the command line."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from datetime import date
from typing import TextIO

from sqlalchemy.exc import SQLAlchemyError

from gaze.config import Settings, SettingsError
from gaze.db import error_text
from gaze.startup import EXIT_BAD_SETTING, command_database
from gaze.uplink.outbox import BATCH_RECORDS

# Its parser is gaze.cli_parser's, loaded with every command's: the uplink itself only when it runs.


def catalog_names(settings: Settings) -> Callable[[str], str]:
    """Module names for the CSV's Module Viewed column, from oc4d's catalog as the app reads it."""
    from gaze.catalog import Catalog

    catalog = Catalog(database_url=settings.oc4d_database_url, uploads_roots=settings.uploads_roots, demo=False)
    catalog.reload()
    return catalog.module_name


def uplink_command(
    args: argparse.Namespace, settings: Settings, out: TextIO = sys.stdout, err: TextIO = sys.stderr
) -> int:
    from gaze.localtime import local_midnight_ms
    from gaze.uplink import Uplink, ago, uplink_config
    from gaze.uplink.outbox import queue_since

    since: date | None = None
    if args.queue_since is not None:
        try:
            since = date.fromisoformat(args.queue_since)
        except ValueError:
            err.write(f"uplink: --queue-since {args.queue_since!r} is not a date like 2026-05-01\n")
            return EXIT_BAD_SETTING
    batch_records = BATCH_RECORDS if args.batch_records is None else args.batch_records
    if batch_records < 1:
        err.write("uplink: --batch-records must be at least 1\n")
        return EXIT_BAD_SETTING
    try:
        config = uplink_config(settings)
        if config is None:
            raise SettingsError("MODULEGAZE_UPLINK_URL: not set, the uplink is off (s3://BUCKET/PREFIX turns it on)")
        engine = command_database(args.database_url, settings)
    except SettingsError as exc:
        err.write(f"uplink: {exc}\n")
        return EXIT_BAD_SETTING
    try:
        if since is not None:
            added = queue_since(engine, local_midnight_ms(since))
            out.write(f"queued {added} records that ended on or after {since.isoformat()} (local time)\n")
        if args.once:
            uplink = Uplink(config, engine, catalog_names(settings), batch_records=batch_records)
            report = uplink.ship()
            out.write(f"uplink to {config.describe()}\n")
            for line in report.lines():
                out.write(line + "\n")
            return 1 if report.error else 0
        uplink = Uplink(config, engine)
        uplink.refresh()
        status = uplink.status
        last = "never" if status.last_success_ms is None else ago(time.time() - status.last_success_ms / 1000)
        out.write(f"uplink to {config.describe()}\nlast upload: {last}\n{status.queued} records waiting\n")
        return 0
    except SQLAlchemyError as exc:
        err.write(f"uplink: database: {error_text(exc)}\n")
        return 1
    finally:
        engine.dispose()
