"""A real S3-compatible server for the tests: moto's standalone server on a free local port.

Run data of a scaled-out cluster must live where every worker can read it; the tests prove that
against a real S3 API (signed requests, buckets, listings, missing buckets) rather than a mock in
the test process, because the tasks run in other processes, started by Celery workers.
"""

from __future__ import annotations

import contextlib
import json
import secrets
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType
from typing import Any

import boto3
import requests

from tests.stack import medusa_server as ms

REGION = "us-east-1"
RUN_PREFIX = "medusa-sync"


class S3ServerError(RuntimeError):
    """The server did not start; the message carries the tail of its log."""


class S3Server:
    """``python -m moto.server`` in its own process group, with the helpers a test needs.

    The credentials are dummies (moto accepts any), but the secret is random per server so a test
    can prove it never reaches a log line or an error message.
    """

    def __init__(self, log_path: Path, port: int = 0) -> None:
        self.log_path = log_path
        self.port = port
        self.access_key = "medusa-sync-test"
        self.secret_key = secrets.token_urlsafe(24)
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60) -> S3Server:
        self.port = self.port or ms.free_port()
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            self._process = subprocess.Popen(
                [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise S3ServerError(f"moto server exited with {self._process.returncode}:\n{self._tail()}")
            with contextlib.suppress(requests.RequestException):
                if requests.get(f"{self.url}/moto-api/", timeout=2).ok:
                    return self
            time.sleep(0.2)
        self.stop()
        raise S3ServerError(f"moto server not answering on {self.url} after {timeout} s:\n{self._tail()}")

    def stop(self) -> None:
        if self._process is not None:
            ms.kill_group(self._process.pid)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._process.wait(timeout=10)
            self._process = None

    def __enter__(self) -> S3Server:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def _tail(self) -> str:
        return ms.log_tail(self.log_path)

    # --- what Airflow and the tests use -------------------------------------------------------

    def connection(self) -> dict[str, Any]:
        """An Airflow ``aws`` connection to this server (``AIRFLOW_CONN_<ID>`` JSON form)."""
        return {
            "conn_type": "aws",
            "login": self.access_key,
            "password": self.secret_key,
            "extra": {"endpoint_url": self.url, "region_name": REGION},
        }

    @staticmethod
    def storage_url(conn_id: str, bucket: str) -> str:
        """The value of the storage Variable for ``bucket`` through connection ``conn_id``."""
        return f"s3://{conn_id}@{bucket}/{RUN_PREFIX}"

    def client(self) -> Any:
        return boto3.client(
            "s3",
            endpoint_url=self.url,
            region_name=REGION,
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key,
        )

    def create_bucket(self, bucket: str) -> None:
        self.client().create_bucket(Bucket=bucket)

    def buckets(self) -> list[str]:
        return sorted(b["Name"] for b in self.client().list_buckets().get("Buckets", []))

    def keys(self, bucket: str, prefix: str = "") -> list[str]:
        """Every object key under ``prefix``, sorted."""
        found: list[str] = []
        for page in self.client().get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            found += [item["Key"] for item in page.get("Contents", [])]
        return sorted(found)

    def read_json(self, bucket: str, key: str) -> Any:
        return json.loads(self.client().get_object(Bucket=bucket, Key=key)["Body"].read())
