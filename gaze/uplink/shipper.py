"""Uplink: ship closed records to the organisation's S3 bucket (DESIGN §8), offline first.

The settings live in gaze/uplink/config.py, the status and its texts in gaze/uplink/status.py, the
outbox and shipments in gaze/uplink/outbox.py, the wire in gaze/uplink/s3put.py. `Uplink.tick()` is what
the scheduler runs every interval: it ships every waiting batch, or — after a failure — waits a
growing pause (interval, 2×, 4× … at most an hour or the interval) while the outbox keeps filling;
a store that asks to slow down (`503 SlowDown`) gets twice that pause, and it is not an alarm. A
refused key, secret or token is retried no sooner than any failure, and its words name the setting.
What the store told (gaze/uplink/store.py `Told`: its clock's offset, the bucket's real region) is shown.
Secrets never appear in `status`, messages or logs: only the bucket, prefix and endpoint do.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from gaze.db import error_text
from gaze.uplink import outbox
from gaze.uplink.config import UplinkConfig
from gaze.uplink.s3put import put_object
from gaze.uplink.status import ShipReport, UplinkStatus, clock_text, notes
from gaze.uplink.store import S3Error, Store

log = logging.getLogger(__name__)
MAX_PAUSE_S = 3600
FIRST_RUN_DELAY_S = 5


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
