"""A small S3 client: one AWS Signature Version 4 signed PUT over http.client, nothing else.

Why not a library: the uplink only ever writes whole objects, and on a Raspberry Pi every MB of
resident memory counts. boto3 adds ~23 MB RSS to a running app, minio's SDK ~6 MB and five
dependencies, obstore ~7 MB of native code; this file adds nothing that the app has not already
imported (figures in README "Uplink"). SigV4 is specified at
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html; the
tests check it against moto's S3 server with signature checking on.

Addressing and the store's data: gaze/uplink/store.py; the signature: gaze/uplink/sigv4.py.

What the store tells us (`Store.told`, kept for the process's later PUTs): a Pi has no real-time
clock, and where NTP is blocked its clock can be hours off; S3 refuses a request more than 15 min
from its own time (`RequestTimeTooSkewed`), so we sign again with the store's clock (its `Date`
header) and keep the offset. A bucket in another region than the settings say answers
`PermanentRedirect` naming its region: we sign again for that region and keep it. Each of the two
is tried at most once per PUT: no answer makes a PUT go round in circles.

Time: `Store.timeout_s` bounds each wait on the socket, and a whole PUT may take that plus the body
at `SLOWEST_BYTES_PER_S`: a store that trickles its answer (or reads the body) a byte at a time
would otherwise hold the shipment for ever, since every byte restarts http.client's timeout.
"""

from __future__ import annotations

import contextlib
import dataclasses
import http.client
import re
import socket
import ssl
import threading
import time
from datetime import datetime
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

from gaze.uplink.sigv4 import signed_headers
from gaze.uplink.store import S3Error, Store

# a GPRS-class upload (8 kbit/s): a batch of 5,000 records (~0.3 MB) may take timeout_s + 300 s in all
SLOWEST_BYTES_PER_S = 1_000
_ERROR_FIELD = re.compile(rb"<(Code|Message|Region|Endpoint)>([^<]{0,300})</\1>")
_ENDPOINT_REGION = re.compile(r"\bs3[.-]([a-z]{2}(?:-[a-z]+)+-\d+)\.amazonaws\.com")


def put_object(store: Store, key: str, body: bytes, content_type: str = "text/csv; charset=utf-8") -> str:
    """PUT `body` as `key`; returns the ETag. Raises S3Error (in words) on any failure. A PUT of the
    same key replaces the object whole, so repeating a PUT is harmless. What the store tells about
    its clock or the bucket's region is kept in `store.told` and used from then on."""
    told = store.told
    resigned = moved = False
    while True:
        target = store if told.region is None else dataclasses.replace(store, region=told.region)
        try:
            return _put(target, key, body, content_type, told.now())
        except S3Error as exc:
            if exc.code == "RequestTimeTooSkewed" and exc.clock_offset_s is not None and not resigned:
                told.clock_offset_s, resigned = exc.clock_offset_s, True  # sign again on the store's clock
            elif exc.region and exc.region != target.region and not moved:
                told.region, moved = exc.region, True  # once more where the bucket lives
            else:
                raise


class _Overdue(TimeoutError):
    def __init__(self, seconds: float) -> None:
        super().__init__(f"no full answer within {seconds:.0f} s")
        self.seconds = seconds


class _Deadline:
    """`with _Deadline(conn, seconds):` shuts the connection's socket when the time is up (a blocked
    read or write then returns at once; again every 0.5 s, should the socket have been replaced,
    as TLS does after connecting) and raises _Overdue at the end of the block."""

    def __init__(self, conn: http.client.HTTPConnection, seconds: float) -> None:
        self.conn, self.seconds = conn, seconds
        self.done, self.expired = threading.Event(), threading.Event()

    def _watch(self) -> None:
        if self.done.wait(self.seconds):
            return
        self.expired.set()
        while True:
            sock = self.conn.sock
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
            if self.done.wait(0.5):
                return

    def __enter__(self) -> None:
        threading.Thread(target=self._watch, name="s3put-deadline", daemon=True).start()

    def __exit__(self, *exc: object) -> None:
        self.done.set()
        if self.expired.is_set():
            raise _Overdue(self.seconds)


def _put(store: Store, key: str, body: bytes, content_type: str, now: datetime) -> str:
    scheme, host, port, path = store.address(key)
    headers = signed_headers(
        "PUT",
        host,
        path,
        body,
        store,
        now,
        {"content-type": content_type, "content-length": str(len(body))},
    )
    hostname = urlsplit(f"//{host}").hostname or host
    conn: http.client.HTTPConnection
    if scheme == "https":
        conn = http.client.HTTPSConnection(
            hostname, port, timeout=store.timeout_s, context=ssl.create_default_context()
        )
    else:
        conn = http.client.HTTPConnection(hostname, port, timeout=store.timeout_s)
    try:
        with _Deadline(conn, store.timeout_s + len(body) / SLOWEST_BYTES_PER_S):
            conn.request("PUT", path, body=body, headers=headers)
            response = conn.getresponse()
            data = response.read(65_536)
            answered = time.time()
    except _Overdue as exc:
        raise S3Error(f"no full answer from {store.where()} within {exc.seconds:.0f} s (far too slow)") from None
    except TimeoutError:
        raise S3Error(f"no answer from {store.where()} within {store.timeout_s:.0f} s") from None
    except socket.gaierror:
        raise S3Error(f"cannot find the host of {store.where()} (no network or DNS?)") from None
    except ConnectionRefusedError:
        raise S3Error(f"{store.where()} refused the connection (store down or wrong endpoint)") from None
    except ssl.SSLError as exc:
        raise S3Error(f"TLS with {store.where()} failed ({exc.reason or exc})") from None
    except (OSError, http.client.HTTPException) as exc:
        raise S3Error(f"cannot reach {store.where()} ({exc.__class__.__name__}: {exc})") from None
    finally:
        conn.close()
    if 200 <= response.status < 300:
        etag = (response.getheader("ETag") or "").strip('"')
        if not etag:  # S3 always names the object it stored: this answer came from something else
            raise S3Error(
                f"{store.where()}: HTTP {response.status} without an ETag, not an S3 store's answer "
                "(a proxy or captive portal on the way?)",
                status=response.status,
            )
        return etag
    fields = {m.group(1).decode(): m.group(2).decode("utf-8", "replace") for m in _ERROR_FIELD.finditer(data)}
    code = fields.get("Code")
    named = _ENDPOINT_REGION.search(fields.get("Endpoint", ""))
    raise S3Error(
        _explain(store, response.status, code, fields.get("Message")),
        status=response.status,
        code=code,
        region=response.getheader("x-amz-bucket-region") or fields.get("Region") or (named[1] if named else None),
        clock_offset_s=_store_clock_offset(response.getheader("Date"), answered)
        if code == "RequestTimeTooSkewed"
        else None,
    )


def _store_clock_offset(date: str | None, answered: float) -> float | None:
    """The store's clock minus ours, from its answer's `Date` (whole seconds: the middle of that second)."""
    try:
        return parsedate_to_datetime(date or "").timestamp() + 0.5 - answered
    except (TypeError, ValueError):
        return None


_WORDS = {
    "InvalidAccessKeyId": "the store does not know this access key (AWS_ACCESS_KEY_ID)",
    "SignatureDoesNotMatch": "the secret key does not match the access key (AWS_SECRET_ACCESS_KEY)",
    "AccessDenied": "the access key may not write to this bucket (AccessDenied)",
    "NoSuchBucket": "the bucket does not exist",
    "RequestTimeTooSkewed": "this machine's clock is too far off for the store (set the date)",
    "ExpiredToken": "the session token has expired (AWS_SESSION_TOKEN)",
    "InvalidToken": "the session token is not valid (AWS_SESSION_TOKEN)",
    "PermanentRedirect": "the bucket is in another region (set AWS_REGION)",
    "SlowDown": "the store asked to slow down",
    "AuthorizationHeaderMalformed": "the bucket is in another region (set AWS_REGION)",
}


def _explain(store: Store, status: int, code: str | None, message: str | None) -> str:
    words = _WORDS.get(code or "")
    if code == "InvalidAccessKeyId" and store.endpoint is not None:  # the key may be right, the store wrong
        words = (
            "the store does not know this access key (AWS_ACCESS_KEY_ID; "
            "or MODULEGAZE_UPLINK_ENDPOINT is not the right store)"
        )
    if words is None:
        words = f"HTTP {status}" + (f" {code}" if code else "") + (f": {message}" if message else "")
    return f"{store.where()}: {words}"
