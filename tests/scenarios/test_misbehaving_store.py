"""Uplink against a misbehaving store (what moto never does):
- one that trickles its answer a byte at a time. http.client's timeout is per socket operation, so
  before the total deadline (gaze/uplink/s3put.py) such a store held the shipment for ever (measured: a 3 s
  timeout, moto's answer dripped one byte a second, still hanging after minutes) and the app shipped
  nothing more until restarted;
- something on the way that answers `200 OK` to anything without storing it (a proxy, a captive
  portal): before, its records were marked sent and never reached the bucket."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import Engine

from gaze.uplink import Credentials, ShipReport, Store, Uplink, UplinkConfig
from tests.s3kit import Moto
from tests.uplinkkit import NAMES, expected, queued

pytestmark = pytest.mark.slow


class FakeStore:
    """Takes a PUT whole, then sends `answer`; without one, `200 OK` and an endless header, one byte
    every 0.2 s. Stores nothing."""

    def __init__(self, answer: bytes | None = None) -> None:
        self.answer = answer
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.stop = threading.Event()
        self.requests = 0
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        with contextlib.suppress(OSError):
            while True:
                client, _ = self.listener.accept()
                threading.Thread(target=self._answer, args=(client,), daemon=True).start()

    def _answer(self, client: socket.socket) -> None:
        with client, contextlib.suppress(OSError):
            data = b""
            while b"\r\n\r\n" not in data:
                data += client.recv(65536)
            head, _, body = data.partition(b"\r\n\r\n")
            length = int(next(ln for ln in head.lower().split(b"\r\n") if ln.startswith(b"content-length:"))[15:])
            while len(body) < length:
                body += client.recv(65536)
            self.requests += 1
            if self.answer is not None:
                client.sendall(self.answer)
                return
            client.sendall(b"HTTP/1.1 200 OK\r\nX-Pad: ")
            while not self.stop.wait(0.2):
                client.sendall(b"a")

    def close(self) -> None:
        self.stop.set()
        self.listener.close()


def ship_to_moto(engine: Engine, moto: Moto, bucket: str) -> ShipReport:
    store = Store(bucket, "us-east-1", Credentials(moto.access_key, moto.secret_key), moto.endpoint)
    return Uplink(UplinkConfig(store, "org/centres", "testclc", 60), engine, NAMES.get, batch_records=25).ship()


def test_a_trickling_store_gives_up_within_the_deadline(tmp_path: Path, moto: Moto) -> None:
    bucket = moto.new_bucket()
    engine, recs = queued(tmp_path, 40)
    credentials = Credentials(moto.access_key, moto.secret_key)
    trickle = FakeStore()
    slow = Store(bucket, "us-east-1", credentials, f"http://127.0.0.1:{trickle.port}", timeout_s=1.0)
    uplink = Uplink(UplinkConfig(slow, "org/centres", "testclc", 60), engine, NAMES.get, batch_records=25)
    done: list[ShipReport] = []
    started = time.monotonic()
    shipping = threading.Thread(target=lambda: done.append(uplink.ship()), daemon=True)
    shipping.start()
    shipping.join(timeout=15)
    took = time.monotonic() - started
    trickle.close()  # lets a shipment that did not give up end, so the test fails rather than hangs
    shipping.join(timeout=5)
    assert took < 8, f"the shipment held on for {took:.0f} s to a store answering one byte every 0.2 s"
    (report,) = done
    assert trickle.requests == 1 and report.objects == 0
    assert report.error is not None and "no full answer from" in report.error and "too slow" in report.error
    assert uplink.status.failures == 1 and uplink.status.queued == 40  # nothing marked sent
    # the store behaves again: every record once (the unsent batch goes again under its key)
    done_now = ship_to_moto(engine, moto, bucket)
    assert (done_now.records, done_now.waiting) == (40, 0)
    assert sorted(moto.rows(bucket)) == sorted(expected(recs))
    engine.dispose()


@pytest.mark.parametrize(
    "answer",
    [
        b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 21\r\n\r\n<html>Log in!</html>\n",
    ],
    ids=["empty", "html"],
)
def test_a_200_that_is_not_from_s3_marks_nothing_sent(tmp_path: Path, moto: Moto, answer: bytes) -> None:
    bucket = moto.new_bucket()
    engine, recs = queued(tmp_path, 40)
    fake = FakeStore(answer)
    store = Store(bucket, "us-east-1", Credentials(moto.access_key, moto.secret_key), f"http://127.0.0.1:{fake.port}")
    uplink = Uplink(UplinkConfig(store, "org/centres", "testclc", 60), engine, NAMES.get, batch_records=25)
    report = uplink.ship()
    fake.close()
    assert fake.requests == 1 and report.objects == 0
    assert report.error is not None and "HTTP 200 without an ETag" in report.error
    assert uplink.status.queued == 40 and uplink.status.last_error == report.error
    done_now = ship_to_moto(engine, moto, bucket)
    assert (done_now.records, done_now.waiting) == (40, 0)
    assert sorted(moto.rows(bucket)) == sorted(expected(recs))  # none lost, none twice
    engine.dispose()
