"""Uplink: ship closed records to the organisation's S3 bucket (DESIGN §8), offline first.

Settings (DESIGN §5 style): `MODULEGAZE_UPLINK_URL` = s3://BUCKET/PREFIX (unset = off),
`MODULEGAZE_UPLINK_ENDPOINT` (S3-compatible store; unset = AWS), `MODULEGAZE_UPLINK_LOCATION` (the
centre's name in object keys), `MODULEGAZE_UPLINK_INTERVAL_MINUTES` (15), and the standard
`AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY` / `AWS_SESSION_TOKEN` / `AWS_REGION` or the shared
credentials file (`AWS_SHARED_CREDENTIALS_FILE`, else ~/.aws/credentials; profile `AWS_PROFILE`).

The outbox and batches live in gaze/outbox.py; the wire in gaze/s3put.py. `Uplink.tick()` is what
the scheduler runs every interval: it ships every waiting batch, or — after a failure — waits a
growing pause (interval, 2×, 4× … at most an hour or the interval) while the outbox keeps filling;
a store that asks to slow down (`503 SlowDown`) gets twice that pause, and it is not an alarm. A
refused key, secret or token is retried no sooner than any failure, and its words name the setting.
What the store told (gaze/s3put.py `Told`: its clock's offset, the bucket's real region) is shown.
Secrets never appear in `status`, messages or logs: only the bucket, prefix and endpoint do.
"""

from __future__ import annotations

import configparser
import logging
import math
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from gaze import outbox
from gaze.config import Settings, SettingsError
from gaze.db import error_text
from gaze.s3put import Credentials, S3Error, Store, put_object

log = logging.getLogger(__name__)
DEFAULT_REGION = "us-east-1"
MAX_PAUSE_S = 3600
FIRST_RUN_DELAY_S = 5
CLOCK_NOTE_S = 60  # a clock off by less is not worth a word (the store allows 15 min)


@dataclass(frozen=True)
class UplinkConfig:
    store: Store
    prefix: str
    location: str
    interval_s: int

    def describe(self) -> str:
        """Where records go, in words (no secrets)."""
        target = f"s3://{self.store.bucket}/{self.prefix}".rstrip("/")
        return target + (f" at {self.store.endpoint}" if self.store.endpoint else f" (AWS {self.store.region})")


def _profile_section(parser: configparser.ConfigParser, profile: str, config_file: bool) -> str | None:
    name = profile if not config_file or profile == "default" else f"profile {profile}"
    return name if parser.has_section(name) else None


def _read_ini(path: Path, variable: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read_string(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise SettingsError(f"{variable}: cannot read {path} ({exc.strerror or exc})") from None
    except configparser.Error:
        raise SettingsError(f"{variable}: {path} is not an INI file like ~/.aws/credentials") from None
    return parser


def resolve_credentials(settings: Settings, environ: os._Environ[str] | dict[str, str] = os.environ) -> Credentials:
    """Credentials from the settings (environment / env file), else the shared credentials file."""
    key, secret, token = settings.aws_access_key_id, settings.aws_secret_access_key, settings.aws_session_token
    if key is not None or secret is not None:
        if key is None:
            raise SettingsError("AWS_ACCESS_KEY_ID: missing (AWS_SECRET_ACCESS_KEY is set)")
        if secret is None:
            raise SettingsError("AWS_SECRET_ACCESS_KEY: missing (AWS_ACCESS_KEY_ID is set)")
        return Credentials(
            key.get_secret_value().strip(),
            secret.get_secret_value().strip(),
            token.get_secret_value().strip() if token else None,
        )
    variable = "AWS_SHARED_CREDENTIALS_FILE"
    path = Path(environ.get(variable) or Path.home() / ".aws" / "credentials")
    if variable not in environ and not path.is_file():
        raise SettingsError(
            "AWS_ACCESS_KEY_ID: the uplink needs credentials (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, "
            "or a credentials file)"
        )
    profile = environ.get("AWS_PROFILE") or "default"
    parser = _read_ini(path, variable)
    section = _profile_section(parser, profile, config_file=False)
    values = dict(parser.items(section)) if section else {}
    if not values.get("aws_access_key_id") or not values.get("aws_secret_access_key"):
        raise SettingsError(f"{variable}: {path} has no aws_access_key_id/aws_secret_access_key in [{profile}]")
    return Credentials(
        values["aws_access_key_id"].strip(),
        values["aws_secret_access_key"].strip(),
        (values.get("aws_session_token") or "").strip() or None,
    )


def resolve_region(settings: Settings, environ: os._Environ[str] | dict[str, str] = os.environ) -> str:
    if settings.aws_region:
        return settings.aws_region.strip()
    if environ.get("AWS_DEFAULT_REGION"):
        return environ["AWS_DEFAULT_REGION"].strip()
    path = Path(environ.get("AWS_CONFIG_FILE") or Path.home() / ".aws" / "config")
    if path.is_file():
        parser = _read_ini(path, "AWS_CONFIG_FILE")
        section = _profile_section(parser, environ.get("AWS_PROFILE") or "default", config_file=True)
        if section and parser.get(section, "region", fallback=""):
            return parser.get(section, "region").strip()
    return DEFAULT_REGION


def uplink_config(settings: Settings, environ: os._Environ[str] | dict[str, str] = os.environ) -> UplinkConfig | None:
    """The uplink's settings checked together, or None when it is off. SettingsError names the variable."""
    if not settings.uplink_on():
        return None
    if settings.uplink_location is None:
        raise SettingsError(
            "MODULEGAZE_UPLINK_LOCATION: required when MODULEGAZE_UPLINK_URL is set (the centre's name)"
        )
    bucket, _, prefix = (settings.uplink_url or "").removeprefix("s3://").partition("/")
    store = Store(
        bucket, resolve_region(settings, environ), resolve_credentials(settings, environ), settings.uplink_endpoint
    )
    return UplinkConfig(store, prefix, settings.uplink_location, round(settings.uplink_interval_minutes * 60))


@dataclass
class UplinkStatus:
    """What the board and /healthz show. Only words and numbers: never a secret."""

    target: str
    last_success_ms: int | None = None
    queued: int = 0  # records not yet acknowledged by the store
    last_error: str | None = None
    failures: int = 0  # consecutive failed attempts
    last_attempt_ms: int | None = None
    next_attempt_at: float = 0.0  # time.time() of the next try after a failure
    objects_sent: int = 0  # by this process
    records_sent: int = 0
    bytes_sent: int = 0
    slow_down: bool = False  # the last attempt was asked to slow down (503 SlowDown)
    clock_offset_s: float = 0.0  # the store's clock minus this machine's (positive: ours is behind)
    bucket_region: str | None = None  # where the store says the bucket is, when not where the settings say

    def as_dict(self, now: float | None = None) -> dict[str, object]:
        now = time.time() if now is None else now
        since = None if self.last_success_ms is None else round(now - self.last_success_ms / 1000, 1)
        return {
            "target": self.target,
            "lastSuccessMs": self.last_success_ms,
            "secondsSinceLastSuccess": since,
            "queued": self.queued,
            "lastError": self.last_error,
            "failures": self.failures,
            "objectsSent": self.objects_sent,
            "recordsSent": self.records_sent,
            "bytesSent": self.bytes_sent,
            "slowDown": self.slow_down,
            "clockOffsetSeconds": round(self.clock_offset_s),
            "bucketRegion": self.bucket_region,
        }


@dataclass
class ShipReport:
    objects: int = 0
    records: int = 0
    bytes: int = 0
    keys: list[str] = field(default_factory=list)
    error: str | None = None
    waiting: int = 0
    slow_down: bool = False
    notes: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        out = [
            f"shipped {self.objects} object{'s' if self.objects != 1 else ''}: {self.records} records, {self.bytes} bytes"
        ]
        out += [f"  {key}" for key in self.keys]
        if self.error:
            out.append(f"stopped: {self.error}")
        out.append(f"{self.waiting} records waiting")
        out += self.notes
        return out


def ago(seconds: float) -> str:
    """How long ago, in words: 'just now', '17 min ago', '5 h ago', '3 days ago' — the status
    strip's one way to say it (the last upload, the last oc4d line: gaze.board.format_age)."""
    if seconds < 90:
        return "just now"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min ago"
    if seconds < 172_800:
        return f"{seconds / 3600:.0f} h ago"
    return f"{seconds / 86_400:.0f} days ago"


def span(seconds: float) -> str:
    """A length of time in whole minutes, in words: '17 min', '2 h 03 min', '3 days 4 h'."""
    minutes = max(1, round(abs(seconds) / 60))
    if minutes < 60:
        return f"{minutes} min"
    if minutes < 2880:
        return f"{minutes // 60} h {minutes % 60:02d} min"
    days, hours = divmod(round(minutes / 60), 24)
    return f"{days} days" + (f" {hours} h" if hours else "")


def clock_text(offset_s: float) -> str | None:
    """What the store's answers say of this machine's clock; None when it is right."""
    if abs(offset_s) < CLOCK_NOTE_S:
        return None
    return f"this Pi's clock is {span(offset_s)} {'behind' if offset_s > 0 else 'ahead of'} the store's"


def notes(status: UplinkStatus) -> list[str]:
    """What the store told that the admin should fix, though records still go out."""
    out = []
    clock = clock_text(status.clock_offset_s)
    if clock:
        out.append(clock)
    if status.bucket_region:
        out.append(f"the bucket is in {status.bucket_region}: set AWS_REGION={status.bucket_region}")
    return out


def status_text(status: UplinkStatus, now: float | None = None) -> tuple[str, bool]:
    """One line for the board's status strip, and whether it is a problem to flag (an error other
    than being asked to slow down, or a wrong clock: the records' times come from it)."""
    now = time.time() if now is None else now
    last = "never" if status.last_success_ms is None else ago(now - status.last_success_ms / 1000)
    text = f"uplink: last upload {last} · {status.queued} queued"
    if status.last_error:
        text += f" · {status.last_error}"
        if status.next_attempt_at > now:
            text += f" · next try in {span(math.ceil(status.next_attempt_at - now))}"
    for note in notes(status):
        text += f" · {note}"
    problem = status.last_error is not None and not status.slow_down
    return text, problem or clock_text(status.clock_offset_s) is not None


class Uplink:
    """Ships the outbox. Blocking methods (call them from a worker thread); one shipment at a time."""

    def __init__(
        self,
        config: UplinkConfig,
        engine: Engine,
        names: Callable[[str], str | None] = lambda _module: None,
        *,
        batch_records: int = outbox.BATCH_RECORDS,
        put: Callable[[Store, str, bytes], str] = put_object,
    ) -> None:
        self.config = config
        self.engine = engine
        self.names = names
        self.batch_records = batch_records
        self.put = put
        self.status = UplinkStatus(target=config.describe())
        self._lock = threading.Lock()

    def refresh(self) -> None:
        """Read the queue length and last upload time from the database."""
        try:
            counts = outbox.counts(self.engine)
        except SQLAlchemyError as exc:
            self.status.last_error = f"database: {error_text(exc)}"
            return
        self.status.queued = counts.waiting
        self.status.last_success_ms = counts.last_sent_ms

    def pause_s(self) -> float:
        """The wait after `failures` failed attempts in a row."""
        if self.status.failures == 0:
            return 0.0
        cap = max(self.config.interval_s, MAX_PAUSE_S)
        steps = self.status.failures - 1 + self.status.slow_down  # asked to slow down: one step longer
        return float(min(self.config.interval_s * 2**steps, cap))

    def tick(self, now: float | None = None) -> ShipReport | None:
        """The scheduled job: ship unless still pausing after a failure."""
        now = time.time() if now is None else now
        if now + 5 < self.status.next_attempt_at:  # the scheduler's ticks jitter by a little
            self.refresh()
            return None
        return self.ship()

    def ship(self, max_objects: int | None = None) -> ShipReport:
        """Send every waiting batch (forming new ones from the queue) until none is left or one fails."""
        report = ShipReport()
        with self._lock:
            self.status.last_attempt_ms = int(time.time() * 1000)
            try:
                while max_objects is None or report.objects < max_objects:
                    batch = outbox.next_batch(
                        self.engine, self.config.prefix, self.config.location, self.names, self.batch_records
                    )
                    if batch is None:
                        break
                    outbox.note_attempt(self.engine, batch.id)
                    self.put(self.config.store, batch.key, batch.body)
                    outbox.mark_sent(self.engine, batch.id)
                    report.objects += 1
                    report.records += batch.records
                    report.bytes += len(batch.body)
                    report.keys.append(batch.key)
            except S3Error as exc:
                report.error, report.slow_down = str(exc), exc.code == "SlowDown"
            except SQLAlchemyError as exc:
                report.error = f"database: {error_text(exc)}"
            self._account(report)
        return report

    def _account(self, report: ShipReport) -> None:
        status = self.status
        status.objects_sent += report.objects
        status.records_sent += report.records
        status.bytes_sent += report.bytes
        told, configured = self.config.store.told, self.config.store.region
        clock = clock_text(told.clock_offset_s)
        if clock != clock_text(status.clock_offset_s):
            log.warning(
                "uplink: %s", f"{clock}: signing with the store's time" if clock else "the clock is right again"
            )
        status.clock_offset_s = told.clock_offset_s
        status.bucket_region = told.region if told.region not in (None, configured) else None
        status.slow_down = report.slow_down
        report.notes = notes(status)
        if report.error is None:
            if status.failures:
                log.info("uplink: %s reachable again", self.config.describe())
            status.failures, status.last_error, status.next_attempt_at = 0, None, 0.0
        else:
            if status.last_error != report.error:
                log.warning("uplink: %s", report.error)
            status.failures += 1
            status.last_error = report.error
            status.next_attempt_at = time.time() + self.pause_s()
        self.refresh()
        report.waiting = status.queued
        if report.objects:
            log.info(
                "uplink: sent %d records in %d objects (%d waiting)", report.records, report.objects, status.queued
            )
