"""Settings — DESIGN §5. Environment variables (and an optional env file) via pydantic-settings.

A bad value raises `SettingsError` whose message is one line naming the variable; `main.py` prints it
and exits with code 2.
"""

from __future__ import annotations

import ipaddress
import os
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from gaze.hardening import private_dir, redact, sqlite_path

DEFAULT_UPLOADS_ROOTS = (
    Path("/oc4d-server/workspaces/website/uploads/modules"),
    Path("/var/www/oc4d.cdn/uploads/modules"),
)
ENV_FILE_VARIABLE = "MODULEGAZE_ENV_FILE"
MIN_TOKEN_LENGTH = 16
# MODULEGAZE_JOURNAL_SINCE: our words, journalctl's words, and the --since forms journalctl accepts.
SINCE_WORDS = frozenset({"today", "yesterday", "now", "all", "none", "disable"})
_UNIT = r"(?:usec|us|msec|ms|seconds?|sec|s|minutes?|min|m|hours?|hr|h|days?|d|weeks?|w|months?|M|years?|y)"
_SPAN = rf"\d+ ?{_UNIT}(?: \d+ ?{_UNIT})*"
_SINCE_RE = re.compile(
    r"\d{4}-\d{2}-\d{2}(?: \d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?)?(?: [A-Za-z][A-Za-z0-9_/+-]*)?"
    r"|\d{2}:\d{2}(?::\d{2})?"
    rf"|[-+] ?{_SPAN}|{_SPAN} ago"
    r"|@\d+(?:\.\d+)?"
)
SUPPORTED_DATABASES = ("sqlite", "sqlite+pysqlite", "postgresql", "postgresql+psycopg")


class SettingsError(Exception):
    """A setting is unusable; str(error) is one line naming the variable."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore", env_file_encoding="utf-8", populate_by_name=False)

    port: int = Field(3002, ge=1, le=65535, validation_alias="MODULEGAZE_PORT")
    background_monitor: bool = Field(False, validation_alias="MODULEGAZE_BACKGROUND_MONITOR")
    tee_access_log: bool = Field(False, validation_alias="MODULEGAZE_TEE_ACCESS_LOG")
    journal_since: str = Field("today", validation_alias="MODULEGAZE_JOURNAL_SINCE")
    journal_unit: str = Field("oc4d.service", min_length=1, validation_alias="MODULEGAZE_JOURNAL_UNIT")
    journal_directory: Path | None = Field(None, validation_alias="MODULEGAZE_JOURNAL_DIRECTORY")
    journal_file: Path | None = Field(None, validation_alias="MODULEGAZE_JOURNAL_FILE")
    include_loopback: bool = Field(False, validation_alias="MODULEGAZE_INCLUDE_LOOPBACK")
    idle_timeout_seconds: int = Field(300, ge=1, le=86_400, validation_alias="MODULEGAZE_IDLE_TIMEOUT_SECONDS")
    max_open_sessions: int = Field(20_000, ge=10, validation_alias="MODULEGAZE_MAX_OPEN_SESSIONS")
    retention_days: int = Field(365, ge=1, validation_alias="MODULEGAZE_RETENTION_DAYS")
    log_dir: Path = Field(Path("/var/log/modulegaze"), validation_alias="MODULEFETCH_LOG_DIR")
    uploads_modules_root: Path | None = Field(None, validation_alias="MODULEGAZE_UPLOADS_MODULES_ROOT")
    data_dir: Path = Field(Path("data"), validation_alias="MODULEGAZE_DATA_DIR")
    database_url: str | None = Field(None, validation_alias="MODULEGAZE_DATABASE_URL")
    oc4d_database_url: str | None = Field(None, validation_alias="DATABASE_URL")
    demo: str = Field("auto", validation_alias="MODULEGAZE_DEMO")
    trusted_proxies: str = Field("", validation_alias="MODULEGAZE_TRUSTED_PROXIES")
    oc4d_origin: str = Field("http://oc4d.cdn", validation_alias="MODULEGAZE_OC4D_ORIGIN")
    # Uplink to the organisation's bucket (DESIGN §8; gaze/uplink/config.py checks the combination).
    uplink_url: str | None = Field(None, validation_alias="MODULEGAZE_UPLINK_URL")
    uplink_endpoint: str | None = Field(None, validation_alias="MODULEGAZE_UPLINK_ENDPOINT")
    uplink_location: str | None = Field(None, validation_alias="MODULEGAZE_UPLINK_LOCATION")
    # decimals allowed (0.1 = every 6 s) for trials; a centre keeps whole minutes
    uplink_interval_minutes: float = Field(15, ge=0.05, le=1440, validation_alias="MODULEGAZE_UPLINK_INTERVAL_MINUTES")
    aws_access_key_id: SecretStr | None = Field(None, validation_alias="AWS_ACCESS_KEY_ID")
    aws_secret_access_key: SecretStr | None = Field(None, validation_alias="AWS_SECRET_ACCESS_KEY")
    aws_session_token: SecretStr | None = Field(None, validation_alias="AWS_SESSION_TOKEN")
    aws_region: str | None = Field(None, validation_alias="AWS_REGION")
    read_token: str | None = Field(None, validation_alias="MODULEGAZE_READ_TOKEN")

    @field_validator("journal_since")
    @classmethod
    def _since(cls, value: str) -> str:
        value = " ".join(value.split())
        if value.lower() in SINCE_WORDS:
            return value.lower()
        if not _SINCE_RE.fullmatch(value):
            raise ValueError(
                "use today, yesterday, all, none, disable (from now on), a date 'YYYY-MM-DD [HH:MM[:SS]]',"
                " '-2h' / '3 days ago' or '@<epoch seconds>'"
            )
        return value

    @field_validator("read_token")
    @classmethod
    def _token(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        value = value.strip()
        if len(value) < MIN_TOKEN_LENGTH or not value.isprintable() or " " in value:
            raise ValueError(f"must be at least {MIN_TOKEN_LENGTH} characters without spaces (unset = no token)")
        return value

    @field_validator("demo")
    @classmethod
    def _demo(cls, value: str) -> str:
        value = value.strip().lower()
        aliases = {"1": "on", "true": "on", "yes": "on", "0": "off", "false": "off", "no": "off"}
        value = aliases.get(value, value)
        if value not in ("auto", "on", "off"):
            raise ValueError("must be auto, on or off")
        return value

    @field_validator(
        "database_url",
        "oc4d_database_url",
        "journal_directory",
        "journal_file",
        "uploads_modules_root",
        "uplink_url",
        "uplink_endpoint",
        "uplink_location",
        "aws_access_key_id",
        "aws_secret_access_key",
        "aws_session_token",
        "aws_region",
        mode="before",
    )
    @classmethod
    def _blank_is_unset(cls, value: Any) -> Any:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.strip()
        scheme = value.split("://", 1)[0].lower() if "://" in value else ""
        if scheme == "postgres":  # the short form many tools print
            value, scheme = "postgresql" + value[len(scheme) :], "postgresql"
        if scheme not in SUPPORTED_DATABASES:
            raise ValueError("unsupported database URL: use sqlite:///<file> or postgresql://user@host/db")
        if scheme.startswith("sqlite") and sqlite_path(value) is None:
            raise ValueError("a SQLite URL needs a file: sqlite:///<file>")
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _proxies(cls, value: str) -> str:
        for item in _split(value):
            try:
                ipaddress.ip_network(item, strict=False)
            except ValueError:
                raise ValueError(f"{item!r} is not an IP address or network") from None
        return value

    @field_validator("oc4d_origin")
    @classmethod
    def _origin(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.path:
            raise ValueError("must be an origin like http://oc4d.cdn")
        return value

    @field_validator("uplink_url")
    @classmethod
    def _uplink_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.strip()
        parts = urlsplit(value)
        bucket = parts.netloc
        if parts.scheme != "s3" or not _BUCKET.fullmatch(bucket) or parts.query or parts.fragment:
            raise ValueError("must be s3://BUCKET or s3://BUCKET/PREFIX (a valid bucket name)")
        return f"s3://{bucket}/{parts.path.strip('/')}".rstrip("/")

    @field_validator("uplink_endpoint")
    @classmethod
    def _uplink_endpoint(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.strip().rstrip("/")
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname or parts.path or parts.query:
            raise ValueError("must be an origin like https://s3.example.org or http://127.0.0.1:9000")
        if "@" in parts.netloc:
            raise ValueError("must not hold credentials (use AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY)")
        try:
            parts.port  # noqa: B018 - raises on a bad port
        except ValueError:
            raise ValueError("has a bad port") from None
        return value

    @field_validator("uplink_location")
    @classmethod
    def _uplink_location(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.strip()
        if not _LOCATION.fullmatch(value):
            raise ValueError("must be 1-64 letters, digits, '-', '.' or '_' (the centre's name in object keys)")
        return value

    @property
    def trusted_proxy_networks(self) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
        return tuple(ipaddress.ip_network(item, strict=False) for item in _split(self.trusted_proxies))

    def uplink_on(self, *, demo: bool = False) -> bool:
        """Whether closed records are queued and shipped to the organisation (DESIGN §8):
        MODULEGAZE_UPLINK_URL is set (gaze.uplink.uplink_config checks the rest), and the records
        are not the demo's — demo data is never sent."""
        return self.uplink_url is not None and not demo

    @property
    def own_database_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.data_dir / 'gaze.db').absolute()}"

    @property
    def journal_since_all(self) -> bool:
        return self.journal_since in ("all", "none")

    @property
    def journal_since_arg(self) -> str | None:
        """journalctl's --since on the first start: None = the whole journal; `disable` (upstream's
        word) = only what comes from now on."""
        if self.journal_since_all:
            return None
        return "now" if self.journal_since == "disable" else self.journal_since

    @property
    def uploads_roots(self) -> tuple[Path, ...]:
        return (self.uploads_modules_root,) if self.uploads_modules_root else DEFAULT_UPLOADS_ROOTS


_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_LOCATION = re.compile(r"[A-Za-z0-9._-]{1,64}")
# Never echoed in an error message: the value may be (or hold) a secret.
_QUIET = frozenset({"aws_access_key_id", "aws_secret_access_key", "aws_session_token", "uplink_endpoint"})


def _split(value: str) -> list[str]:
    return [item.strip() for item in value.replace(";", ",").split(",") if item.strip()]


# Field name -> environment variable (DESIGN §5 names; they do not share one prefix).
VARIABLES: dict[str, str] = {name: str(f.validation_alias) for name, f in Settings.model_fields.items()}


def load_settings(env_file: str | os.PathLike[str] | None = None, **overrides: Any) -> Settings:
    """Read the environment (and `env_file`, default `$MODULEGAZE_ENV_FILE` or ./.env)."""
    if env_file is None:
        env_file = os.environ.get(ENV_FILE_VARIABLE) or ".env"
        if not Path(env_file).is_file() and ENV_FILE_VARIABLE not in os.environ:
            env_file = None
    if env_file is not None and not Path(env_file).is_file():
        raise SettingsError(f"{ENV_FILE_VARIABLE}: env file {env_file} does not exist")
    try:
        return Settings(
            _env_file=None if env_file is None else Path(env_file),
            **{VARIABLES.get(k, k): v for k, v in overrides.items()},
        )
    except ValidationError as exc:
        raise SettingsError(describe(exc)) from None


def describe(exc: ValidationError) -> str:
    """One line: `VARIABLE: problem (got 'value')` for each bad variable."""
    parts = []
    for error in exc.errors():
        field = str(error["loc"][0]) if error["loc"] else "?"
        variable = VARIABLES.get(field, field)
        got = None if variable in {VARIABLES[f] for f in _QUIET} else error.get("input")
        got = redact(got) if isinstance(got, str) else got
        message = error["msg"].replace("\n", " ")
        parts.append(f"{variable}: {message} (got {got!r})" if isinstance(got, str | int) else f"{variable}: {message}")
    return "; ".join(parts)


def ensure_writable_dir(path: Path, variable: str, *, private: bool = False) -> Path:
    """Create `path` if needed and prove we can write a file there, else SettingsError naming `variable`.
    `private`: the directory is the owner's only (0700; tightened when looser)."""
    try:
        if private:
            private_dir(path)
        else:
            path.mkdir(parents=True, exist_ok=True)
        probe = path / f".modulegaze-write-test-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise SettingsError(f"{variable}: directory {path} is not writable ({exc.strerror or exc})") from None
    return path
