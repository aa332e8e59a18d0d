"""gaze.uplink.config: the uplink settings, the AWS credentials and region, and their mistakes in one line."""

from __future__ import annotations

from pathlib import Path

import pytest

from gaze.config import SettingsError, load_settings
from gaze.uplink import uplink_config


@pytest.mark.usefixtures("clean_env")
@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({"MODULEGAZE_UPLINK_URL": "https://bucket/x"}, "MODULEGAZE_UPLINK_URL"),
        ({"MODULEGAZE_UPLINK_URL": "s3://Bad_Bucket/x"}, "MODULEGAZE_UPLINK_URL"),
        ({"MODULEGAZE_UPLINK_ENDPOINT": "ftp://store"}, "MODULEGAZE_UPLINK_ENDPOINT"),
        ({"MODULEGAZE_UPLINK_ENDPOINT": "http://key:topsecret@store:9000"}, "MODULEGAZE_UPLINK_ENDPOINT"),
        ({"MODULEGAZE_UPLINK_LOCATION": "accra clc/1"}, "MODULEGAZE_UPLINK_LOCATION"),
        ({"MODULEGAZE_UPLINK_INTERVAL_MINUTES": "0"}, "MODULEGAZE_UPLINK_INTERVAL_MINUTES"),
        ({"MODULEGAZE_UPLINK_INTERVAL_MINUTES": "soon"}, "MODULEGAZE_UPLINK_INTERVAL_MINUTES"),
    ],
)
def test_bad_uplink_setting_is_one_line_naming_it(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], variable: str
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as info:
        load_settings()
    message = str(info.value)
    assert message.startswith(f"{variable}: ") and "\n" not in message
    assert "topsecret" not in message


@pytest.mark.usefixtures("clean_env")
def test_uplink_combination_checks(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_REGION", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    assert uplink_config(load_settings()) is None  # unset = off
    monkeypatch.setenv("MODULEGAZE_UPLINK_URL", "s3://org-bucket/centres/")
    with pytest.raises(SettingsError, match=r"^MODULEGAZE_UPLINK_LOCATION: required"):
        uplink_config(load_settings())
    monkeypatch.setenv("MODULEGAZE_UPLINK_LOCATION", "accra")
    no_file = {"AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none")}
    with pytest.raises(SettingsError, match=r"^AWS_SHARED_CREDENTIALS_FILE: cannot read"):
        uplink_config(load_settings(), no_file)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "s3cr3t-value")
    with pytest.raises(SettingsError, match=r"^AWS_ACCESS_KEY_ID: missing") as info:
        uplink_config(load_settings(), {})
    assert "s3cr3t-value" not in str(info.value)
    # the shared credentials file, with a profile and the region from the config file
    creds, conf = tmp_path / "credentials", tmp_path / "config"
    creds.write_text(
        "[default]\naws_access_key_id = AK1\naws_secret_access_key = SK1\n[clc]\naws_access_key_id = AK2\naws_secret_access_key = SK2\n"
    )
    conf.write_text("[profile clc]\nregion = eu-west-1\n")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    environ = {"AWS_SHARED_CREDENTIALS_FILE": str(creds), "AWS_CONFIG_FILE": str(conf), "AWS_PROFILE": "clc"}
    config = uplink_config(load_settings(), environ)
    assert config is not None
    assert (config.store.bucket, config.prefix, config.location, config.interval_s) == (
        "org-bucket",
        "centres",
        "accra",
        900,
    )
    assert (config.store.credentials.access_key, config.store.credentials.secret_key, config.store.region) == (
        "AK2",
        "SK2",
        "eu-west-1",
    )
    assert "SK2" not in repr(config) and "SK2" not in config.describe()
