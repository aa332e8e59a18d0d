"""The uplink's settings checked together (DESIGN §8): where records go and with which credentials.

Settings (DESIGN §5 style): `MODULEGAZE_UPLINK_URL` = s3://BUCKET/PREFIX (unset = off),
`MODULEGAZE_UPLINK_ENDPOINT` (S3-compatible store; unset = AWS), `MODULEGAZE_UPLINK_LOCATION` (the
centre's name in object keys), `MODULEGAZE_UPLINK_INTERVAL_MINUTES` (15), and the standard
`AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY` / `AWS_SESSION_TOKEN` / `AWS_REGION` or the shared
credentials file (`AWS_SHARED_CREDENTIALS_FILE`, else ~/.aws/credentials; profile `AWS_PROFILE`).
Secrets never appear in `describe()`, messages or logs: only the bucket, prefix and endpoint do.
"""

from __future__ import annotations

import configparser
import os
from dataclasses import dataclass
from pathlib import Path

from gaze.config import Settings, SettingsError
from gaze.uplink.store import Credentials, Store

DEFAULT_REGION = "us-east-1"


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
