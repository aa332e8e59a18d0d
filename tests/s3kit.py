"""A real S3-protocol server for the uplink tests: moto's standalone server on loopback.

Signature checking is on (moto's IAM authentication after the first three unauthenticated calls,
which create the user, its key and its policy), so a wrongly signed PUT fails as it would on AWS.
boto3 (moto's own dependency) reads the objects back: an independent client checks ours.
"""

from __future__ import annotations

import contextlib
import csv
import importlib.util
import io
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.browserkit import free_port
from tests.conftest import foreign_environ, require

POLICY = '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}'
REGION = "us-east-1"


def require_moto() -> None:
    found = importlib.util.find_spec("moto") is not None and importlib.util.find_spec("boto3") is not None
    require(found, "moto[server] (pip install -r requirements-dev.txt) for an S3 server")


@dataclass
class Moto:
    workdir: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    access_key: str = ""
    secret_key: str = ""

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30.0) -> Moto:
        env = {**foreign_environ(), "INITIAL_NO_AUTH_ACTION_COUNT": "3", "MOTO_ALLOW_NONEXISTENT_REGION": "1"}
        for name in [k for k in env if k.startswith("AWS_")]:
            del env[name]
        self.workdir.mkdir(parents=True, exist_ok=True)
        with (self.workdir / "moto.out").open("ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"moto exited: {(self.workdir / 'moto.out').read_text()[-2000:]}")
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), timeout=1):
                break
            if time.monotonic() > deadline:
                raise RuntimeError("moto did not start")
            time.sleep(0.1)
        iam = self._client("iam", "bootstrap", "bootstrap")
        iam.create_user(UserName="centre")
        key = iam.create_access_key(UserName="centre")["AccessKey"]
        iam.put_user_policy(UserName="centre", PolicyName="all", PolicyDocument=POLICY)
        self.access_key, self.secret_key = key["AccessKeyId"], key["SecretAccessKey"]
        return self

    def _client(self, service: str, key: str, secret: str) -> Any:
        import boto3

        return boto3.client(
            service, endpoint_url=self.endpoint, region_name=REGION, aws_access_key_id=key, aws_secret_access_key=secret
        )

    def s3(self) -> Any:
        return self._client("s3", self.access_key, self.secret_key)

    def new_bucket(self) -> str:
        name = f"org-{uuid.uuid4().hex[:12]}"
        self.s3().create_bucket(Bucket=name)
        return name

    def objects(self, bucket: str) -> dict[str, bytes]:
        client = self.s3()
        out: dict[str, bytes] = {}
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
            for item in page.get("Contents", []):
                out[item["Key"]] = client.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()
        return out

    def rows(self, bucket: str) -> list[tuple[str, ...]]:
        """Every data row of every object (each object's header checked and dropped)."""
        rows: list[tuple[str, ...]] = []
        for body in self.objects(bucket).values():
            table = list(csv.reader(io.StringIO(body.decode("utf-8"), newline="")))
            assert tuple(table[0]) == (
                "User",
                "Access Time",
                "IP Address",
                "Access Date",
                "Module Viewed",
                "Duration Seconds",
            )
            rows.extend(tuple(r) for r in table[1:])
        return rows

    def env(self, bucket: str, prefix: str = "centres/test", **extra: str) -> dict[str, str]:
        """Our settings for an uplink to this server."""
        return {
            "MODULEGAZE_UPLINK_URL": f"s3://{bucket}/{prefix}",
            "MODULEGAZE_UPLINK_ENDPOINT": self.endpoint,
            "MODULEGAZE_UPLINK_LOCATION": "testclc",
            "AWS_ACCESS_KEY_ID": self.access_key,
            "AWS_SECRET_ACCESS_KEY": self.secret_key,
            **extra,
        }

    def pause(self) -> None:
        """The store stops answering (connections are still accepted by the kernel, then time out)."""
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGSTOP)

    def resume(self) -> None:
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGCONT)

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGCONT)
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=5)
