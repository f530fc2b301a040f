"""A distributed Airflow for the tests: CeleryExecutor, a Redis broker, two Celery workers, S3 run data.

The same api-server, scheduler and dag-processor as ``AirflowCluster`` (on a clone of the migrated
metadata database), but tasks go through the broker to ``airflow celery worker`` processes, each
as separate from the other as two machines can be on one host:

* its own ``AIRFLOW_HOME`` and working directory, its own worker log server port, its own Celery
  node name, and its own host name on the task instances it runs (``[core] hostname_callable`` is
  ``tests.stack.worker_identity.hostname``, which reads ``MEDUSA_SYNC_WORKER_NAME``), so the REST API
  shows which worker ran what;
* no folder shared with the other for run data: the storage Variable points at an S3 bucket
  (``s3://<conn>@<bucket>/medusa-sync``) through an ``aws`` connection every component has. Task
  logs go to one folder, as the compose file's ``./logs`` volume: the api-server reads a finished
  task's log there.

The broker is the Redis on ``127.0.0.1:6379`` every machine of this kind runs (or the one ``./dev``
brings, at ``DEVSTACK_REDIS_*``), on a database number of its own, flushed at start and stop (only
that database). The Celery result backend is the
cluster's metadata database. The Variable is set through the REST API rather than the environment
(an ``AIRFLOW_VAR_`` would override it), so a test can point a run at another bucket.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from pathlib import Path
from typing import Any

import redis

from tests.stack import medusa_server as ms
from tests.stack.airflow_cluster import (
    PG_HOST,
    PG_PORT,
    PG_USER,
    AirflowCluster,
    AirflowClusterError,
    MetadataTemplate,
    process_tree,
)
from tests.stack.airflow_local import DAG_ID
from tests.stack.s3_server import RUN_PREFIX, S3Server
from tests.stack.worker_identity import WORKER_NAME_VARIABLE

# The broker's address: DEVSTACK_REDIS_* when ./dev found or started one elsewhere
# (tests/stack/toolchain.py), else the machine's Redis.
REDIS_HOST = os.environ.get("DEVSTACK_REDIS_HOST", "127.0.0.1")
REDIS_PORT = int(os.environ.get("DEVSTACK_REDIS_PORT", "6379"))
STORAGE_VARIABLE = "medusa_sync_storage_url"
WORKERS = ("worker-a", "worker-b")


class CeleryCluster(AirflowCluster):
    """api-server + scheduler (CeleryExecutor) + dag-processor + one ``airflow celery worker`` per
    name in ``workers``; run data in ``bucket`` on ``s3``."""

    def __init__(
        self,
        home: Path,
        template: MetadataTemplate,
        *,
        s3: S3Server,
        bucket: str,
        aws_conn_id: str = "aws_runs",
        workers: tuple[str, ...] = WORKERS,
        worker_concurrency: int = 1,
        redis_db: int = 11,
        heartbeat_timeout: int = 15,
        connections: dict[str, dict[str, Any]] | None = None,
        env: dict[str, str] | None = None,
        parallelism: int = 4,
        pool_slots: int = 2,
    ) -> None:
        super().__init__(
            home,
            template,
            connections={**(connections or {}), aws_conn_id: s3.connection()},
            env=env,
            parallelism=parallelism,
            pool_slots=pool_slots,
        )
        self.s3 = s3
        self.bucket = bucket
        self.aws_conn_id = aws_conn_id
        self.workers = workers
        self.worker_concurrency = worker_concurrency
        self.redis_db = redis_db
        self.heartbeat_timeout = heartbeat_timeout
        self._worker_ports: dict[str, int] = {}

    # --- configuration --------------------------------------------------------------------------

    @property
    def storage_url(self) -> str:
        return self.s3.storage_url(self.aws_conn_id, self.bucket)

    @property
    def broker_url(self) -> str:
        return f"redis://{REDIS_HOST}:{REDIS_PORT}/{self.redis_db}"

    def worker_home(self, name: str) -> Path:
        return self.home / "workers" / name

    def environment(self) -> dict[str, str]:
        env = super().environment()
        # Set through the API after start: an AIRFLOW_VAR_ would hide any value set there.
        env.pop("AIRFLOW_VAR_" + STORAGE_VARIABLE.upper(), None)
        env.update(
            {
                "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
                "AIRFLOW__CELERY__BROKER_URL": self.broker_url,
                "AIRFLOW__CELERY__RESULT_BACKEND": (
                    f"db+postgresql+psycopg2://{PG_USER}@{PG_HOST}:{PG_PORT}/{self.database}"
                ),
                "AIRFLOW__CELERY__WORKER_CONCURRENCY": str(self.worker_concurrency),
                "AIRFLOW__CORE__HOSTNAME_CALLABLE": "tests.stack.worker_identity.hostname",
                # One log folder for all, as compose mounts ./logs into every service.
                "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(self.home / "logs"),
                # A worker that dies is noticed in seconds, not the default five minutes.
                "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": str(self.heartbeat_timeout),
                "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT_DETECTION_INTERVAL": "2",
                "AIRFLOW__WORKERS__MIN_HEARTBEAT_INTERVAL": "2",
                **self.extra_env,
            }
        )
        return env

    def worker_component(self, name: str) -> tuple[list[str], dict[str, str], Path]:
        """``airflow celery worker`` as a machine of its own: home, cwd, log server port, names."""
        home = self.worker_home(name)
        port = self._worker_ports.setdefault(name, ms.free_port())
        env = {
            **self.environment(),
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(port),
            WORKER_NAME_VARIABLE: name,
        }
        args = ["celery", "worker", "--celery-hostname", name, "--concurrency", str(self.worker_concurrency)]
        return args, env, home

    def components(self) -> dict[str, tuple[list[str], dict[str, str], Path]]:
        found = super().components()
        found.update({name: self.worker_component(name) for name in self.workers})
        return found

    # --- lifecycle ------------------------------------------------------------------------------

    def start(self, timeout: float = 240) -> CeleryCluster:
        self._flush_broker()
        self._worker_ports.clear()
        super().start(timeout=timeout)
        try:
            self.api.set_variable(STORAGE_VARIABLE, self.storage_url)
            for name in self.workers:
                self.wait_worker_ready(name, timeout=timeout)
        except BaseException:
            self.stop(keep_database=True)
            raise
        return self

    def stop(self, keep_database: bool = False, grace: float = 5) -> None:
        super().stop(keep_database=keep_database, grace=grace)
        with contextlib.suppress(redis.RedisError):
            self._flush_broker()

    def _flush_broker(self) -> None:
        """Empty this cluster's Redis database (and only it): no task message of an earlier run."""
        with redis.Redis(host=REDIS_HOST, port=REDIS_PORT, db=self.redis_db) as client:
            client.flushdb()

    def wait_worker_ready(self, name: str, timeout: float = 120) -> None:
        """Until Celery logs ``<node> ready.``: the worker consumes from the broker."""
        deadline = time.monotonic() + timeout
        log = self.log_path(name)
        while time.monotonic() < deadline:
            self.check_alive()
            if log.exists() and f"@{name} ready." in log.read_text(errors="replace"):
                return
            time.sleep(0.5)
        raise AirflowClusterError(f"celery worker {name} not ready after {timeout} s:\n{self.logs_tail()}")

    def start_worker(self, name: str, timeout: float = 120) -> None:
        """Start (again) the worker ``name``, e.g. a replacement for one that was killed."""
        if name in self.processes and self.processes[name].poll() is None:
            raise AirflowClusterError(f"worker {name} is already running")
        log = self.log_path(name)
        # A fresh log, so "ready." is this start's and the killed worker's lines stay apart.
        if log.exists():
            log.rename(log.with_name(f"{name}.{int(time.time())}.log"))
        self._spawn(name, *self.worker_component(name))
        self.wait_worker_ready(name, timeout=timeout)

    def worker_pids(self, name: str) -> set[int]:
        """The worker's processes: its descendants and anything running in its home (task runners
        leave the worker's process group)."""
        process = self.processes.get(name)
        if process is None or process.poll() is not None:
            return set()
        return process_tree([process.pid], self.worker_home(name))

    def kill_worker(self, name: str) -> set[int]:
        """SIGKILL the worker's whole process group, and the task runners it started in groups of
        their own: the machine is gone, nothing of it says goodbye. Returns the pids killed.

        The worker leaves ``processes`` (so ``check_alive`` does not take it for a crash);
        ``start_worker`` brings a replacement."""
        doomed = self.worker_pids(name)
        process = self.processes.pop(name)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        for pid in doomed:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        process.wait(timeout=10)
        return doomed

    # --- run data -------------------------------------------------------------------------------

    def run_prefix(self, run_id: str, dag_id: str = DAG_ID) -> str:
        """The key prefix of a run's folder in the bucket."""
        return f"{RUN_PREFIX}/{dag_id}/{run_id}/"

    def run_keys(self, run_id: str, dag_id: str = DAG_ID) -> list[str]:
        """Every file of the run folder, relative to it (``pages/page-00001.json`` …)."""
        prefix = self.run_prefix(run_id, dag_id)
        return [key[len(prefix) :] for key in self.s3.keys(self.bucket, prefix)]

    def report(self, run_id: str, dag_id: str = DAG_ID) -> dict[str, Any] | None:
        """The run's ``report.json`` from the bucket, None when the run wrote none."""
        if "report.json" not in self.run_keys(run_id, dag_id):
            return None
        return self.s3.read_json(self.bucket, self.run_prefix(run_id, dag_id) + "report.json")
