"""An S3 front on loopback that answers what AWS answers and moto never does, and passes every
other request to moto (which checks the signature and stores the object).

What it checks, as S3 does (https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html):
- its own clock (ours plus `clock_offset_s`): a request whose `x-amz-date` is more than 15 min from
  it gets `403 RequestTimeTooSkewed`, and every answer's `Date` header is on that clock;
- the credential scope's date must be the day of `x-amz-date` (`400 AuthorizationHeaderMalformed`);
- the bucket's region (`bucket_region`): a request signed for another gets `301 PermanentRedirect`
  with `<Endpoint>` and the `x-amz-bucket-region` header;
- a session token in `expired_tokens` gets `400 ExpiredToken`;
- `slow_down` = how many of the next requests get `503 SlowDown`.
`answers` lists what it answered: (status, code or "", path, sha256 of the body, x-amz-date).
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import re
import threading
import time
from datetime import UTC, datetime
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from tests.s3kit import Moto

MAX_SKEW_S = 900
_SCOPE = re.compile(r"Credential=[^/]+/(\d{8})/([^/]+)/s3/aws4_request")
_CODE = re.compile(rb"<Code>([^<]*)</Code>")
_SKIP = {"date", "server", "connection", "transfer-encoding", "content-length", "keep-alive"}


class S3StandIn:
    def __init__(self, moto: Moto, *, clock_offset_s: float = 0.0, bucket_region: str | None = None) -> None:
        self.moto = moto
        self.clock_offset_s = clock_offset_s
        self.bucket_region = bucket_region
        self.expired_tokens: set[str] = set()
        self.slow_down = 0
        self.answers: list[tuple[int, str, str, str, str]] = []
        self._lock = threading.Lock()
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def do_PUT(self) -> None:
                stand_in._handle(self)

            do_GET = do_HEAD = do_POST = do_DELETE = do_PUT

            def date_time_string(self, timestamp: float | None = None) -> str:
                return formatdate(stand_in.now(), usegmt=True)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def now(self) -> float:
        return time.time() + self.clock_offset_s

    def puts(self) -> list[tuple[int, str, str, str, str]]:
        with self._lock:
            return list(self.answers)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _refusal(self, headers: dict[str, str]) -> tuple[int, str, str, dict[str, str]] | None:
        """(status, code, extra XML, extra headers) when S3 would refuse the request, else None."""
        amz_date = headers.get("x-amz-date", "")
        scope = _SCOPE.search(headers.get("authorization", ""))
        try:
            signed_at = datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC).timestamp()
        except ValueError:
            return 403, "AccessDenied", "", {}
        if abs(signed_at - self.now()) > MAX_SKEW_S:
            server_time = datetime.fromtimestamp(self.now(), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            xml = (
                f"<RequestTime>{amz_date}</RequestTime><ServerTime>{server_time}</ServerTime>"
                f"<MaxAllowedSkewMilliseconds>{MAX_SKEW_S * 1000}</MaxAllowedSkewMilliseconds>"
            )
            return 403, "RequestTimeTooSkewed", xml, {}
        if scope is None or scope[1] != amz_date[:8]:
            return 400, "AuthorizationHeaderMalformed", "", {}
        if self.bucket_region is not None and scope[2] != self.bucket_region:
            bucket = headers["path"].split("/")[1]
            xml = f"<Endpoint>{bucket}.s3.{self.bucket_region}.amazonaws.com</Endpoint><Bucket>{bucket}</Bucket>"
            return 301, "PermanentRedirect", xml, {"x-amz-bucket-region": self.bucket_region}
        if headers.get("x-amz-security-token") in self.expired_tokens:
            return 400, "ExpiredToken", "", {}
        with self._lock:
            if self.slow_down > 0:
                self.slow_down -= 1
                return 503, "SlowDown", "", {}
        return None

    def _handle(self, request: BaseHTTPRequestHandler) -> None:
        body = request.rfile.read(int(request.headers.get("Content-Length") or 0))
        headers = {k.lower(): v for k, v in request.headers.items()}
        refused = self._refusal({**headers, "path": request.path})
        digest = hashlib.sha256(body).hexdigest()
        if refused is not None:
            status, code, extra, extra_headers = refused
            xml = (
                f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code><Message>{code}</Message>'
                f"{extra}<RequestId>STANDIN</RequestId><HostId>standin</HostId></Error>"
            ).encode()
            with self._lock:
                self.answers.append((status, code, request.path, digest, headers.get("x-amz-date", "")))
            request.send_response(status)
            for name, value in {"Content-Type": "application/xml", **extra_headers}.items():
                request.send_header(name, value)
            request.send_header("Content-Length", str(len(xml)))
            request.end_headers()
            if request.command != "HEAD":
                request.wfile.write(xml)
            return
        conn = http.client.HTTPConnection("127.0.0.1", self.moto.port, timeout=30)
        try:
            conn.request(request.command, request.path, body=body, headers=dict(request.headers.items()))
            answer = conn.getresponse()
            data = answer.read()
        finally:
            conn.close()
        named = _CODE.search(data) if answer.status >= 300 else None
        with self._lock:
            self.answers.append(
                (answer.status, named[1].decode() if named else "", request.path, digest, headers.get("x-amz-date", ""))
            )
        request.send_response(answer.status)
        for name, value in answer.getheaders():
            if name.lower() not in _SKIP:
                request.send_header(name, value)
        request.send_header("Content-Length", str(len(data)))
        request.end_headers()
        with contextlib.suppress(OSError):
            request.wfile.write(data)
