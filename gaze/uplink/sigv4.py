"""AWS Signature Version 4 for one S3 request: no query string, signed payload.

Specified at https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html;
the tests check it against moto's S3 server with signature checking on.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime

from gaze.uplink.store import Store

SERVICE = "s3"
ALGORITHM = "AWS4-HMAC-SHA256"


def _hmac(key: bytes, message: str) -> bytes:
    return hmac.new(key, message.encode("utf-8"), hashlib.sha256).digest()


def signing_key(secret: str, day: str, region: str) -> bytes:
    key = _hmac(f"AWS4{secret}".encode(), day)
    key = _hmac(key, region)
    key = _hmac(key, SERVICE)
    return _hmac(key, "aws4_request")


def signed_headers(
    method: str, host: str, path: str, body: bytes, store: Store, now: datetime, extra: dict[str, str] | None = None
) -> dict[str, str]:
    """The request headers including `Authorization` (SigV4, no query string, signed payload)."""
    amz_date = now.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    day = amz_date[:8]
    payload_hash = hashlib.sha256(body).hexdigest()
    headers = {"host": host, "x-amz-content-sha256": payload_hash, "x-amz-date": amz_date}
    headers.update({k.lower(): v for k, v in (extra or {}).items()})
    if store.credentials.token:
        headers["x-amz-security-token"] = store.credentials.token
    names = sorted(headers)
    canonical = "\n".join(
        [
            method,
            path,
            "",
            "".join(f"{n}:{' '.join(headers[n].split())}\n" for n in names),
            ";".join(names),
            payload_hash,
        ]
    )
    scope = f"{day}/{store.region}/{SERVICE}/aws4_request"
    to_sign = "\n".join([ALGORITHM, amz_date, scope, hashlib.sha256(canonical.encode("utf-8")).hexdigest()])
    signature = hmac.new(
        signing_key(store.credentials.secret_key, day, store.region), to_sign.encode("utf-8"), hashlib.sha256
    ).hexdigest()
    headers["authorization"] = (
        f"{ALGORITHM} Credential={store.credentials.access_key}/{scope}, "
        f"SignedHeaders={';'.join(names)}, Signature={signature}"
    )
    return headers
