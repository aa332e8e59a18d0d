"""Where the uplink's objects go: the store, its credentials, what it told us, and its errors.

Addressing: AWS (no endpoint) uses virtual-hosted style `https://BUCKET.s3.REGION.amazonaws.com/KEY`
(path style for bucket names with dots, whose names break the TLS certificate match); an
S3-compatible endpoint (MinIO, moto, Ceph, …) uses path style `ENDPOINT/BUCKET/KEY`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from urllib.parse import quote, urlsplit


@dataclass(frozen=True)
class Credentials:
    access_key: str
    secret_key: str = field(repr=False)
    token: str | None = field(default=None, repr=False)


@dataclass
class Told:
    """What the store told us that the settings did not say, for this process's later PUTs."""

    clock_offset_s: float = 0.0  # the store's clock minus ours (positive: ours is behind)
    region: str | None = None  # where the bucket really is, when a PermanentRedirect said so

    def now(self) -> datetime:
        """The time as the store sees it: what we sign with."""
        return datetime.now(UTC) + timedelta(seconds=self.clock_offset_s)


@dataclass(frozen=True)
class Store:
    """Where objects go. `endpoint` None = AWS itself. `told` is shared by copies (dataclasses.replace)."""

    bucket: str
    region: str
    credentials: Credentials
    endpoint: str | None = None
    timeout_s: float = 30.0
    told: Told = field(default_factory=Told, compare=False, repr=False)

    def address(self, key: str) -> tuple[str, str, int | None, str]:
        """(scheme, host header, port, canonical path) of an object."""
        if self.endpoint is None:
            if "." in self.bucket:
                return "https", f"s3.{self.region}.amazonaws.com", None, _path(f"/{self.bucket}/{key}")
            return "https", f"{self.bucket}.s3.{self.region}.amazonaws.com", None, _path(f"/{key}")
        parts = urlsplit(self.endpoint)
        return parts.scheme, parts.netloc, parts.port, _path(f"/{self.bucket}/{key}")

    def where(self) -> str:
        """The store in words, without secrets: for messages."""
        if self.endpoint is None:
            return f"s3://{self.bucket} (AWS {self.region})"
        return f"s3://{self.bucket} at {self.endpoint}"


class S3Error(Exception):
    """A PUT failed; str() says why in words (never a secret). `status` None = no HTTP answer."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        region: str | None = None,
        clock_offset_s: float | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.region = region  # AWS's x-amz-bucket-region (or the error's Region/Endpoint): where the bucket is
        self.clock_offset_s = clock_offset_s  # a RequestTimeTooSkewed answer's Date minus our clock


def _path(raw: str) -> str:
    # S3 signs the URI-encoded path with '/' kept, each other byte outside A-Z a-z 0-9 - _ . ~ escaped.
    return quote(raw, safe="/-_.~")
