"""A real Airflow for the tests: scheduler (LocalExecutor), api-server and dag-processor.

``airflow dags test`` runs a DAG in one process and skips what a deployment enforces (the
execution API between worker and metadata DB, retries on the scheduler's clock, clearing from the
UI). These fixtures run the three components as subprocesses against PostgreSQL and drive them
only through the public REST API, the way a user does from the UI.

Design, chosen by measuring:

* ``airflow db migrate`` on PostgreSQL is the slow part, so it runs once per session into a
  uniquely named template database; every cluster gets its own clone (``createdb -T``, well under
  a second) and drops it when it stops. The template is dropped at the end of the session.
* Connections and the storage Variable are environment variables, fixed when the components
  start. A cluster starts in seconds, so a test that needs other connections either starts its own
  cluster or calls ``restart_with(connections=...)``, which keeps the metadata DB and run history.
* Each component runs in its own process group, logging to ``<home>/components/<name>.log``.
  LocalExecutor runs a task as: scheduler → executor worker (a forked ``multiprocessing``
  process, title ``airflow worker -- LocalExecutor: <idle>``) → the supervisor of one task
  (same process, retitled ``airflow worker -- LocalExecutor: <ti id>``) → the task runner child
  (forked into its own process group, title ``airflow worker -- <ti id>``). Because task runners
  leave the scheduler's group, ``stop()`` also kills every descendant of the components and every
  process whose working directory is the cluster's home. The task instance's ``pid`` field of the
  REST API is the task runner's pid (``task_process`` checks it against the process title).

Its REST client is ``tests.stack.airflow_api``. The pytest fixtures that start clusters for the
tests are in ``tests/fixtures/airflow_cluster.py``;
the benchmark (``tests.stack.bench``) starts one directly.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import subprocess
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import requests

from tests.stack import medusa_server as ms
from tests.stack.airflow_api import ADMIN_PASSWORD, ADMIN_USER, AirflowApi
from tests.stack.airflow_local import (
    DAG_ID,
    MEDUSA_POOL,
    POOL_DESCRIPTION,
    VENV_BIN,
    airflow,
    airflow_environment,
    fernet_key,
)

FINISHED_RUN_STATES = ("success", "failed")
# Two retries one second apart: a scenario that fails a task on purpose ends in seconds, not minutes.
FAST_RETRIES = {"AIRFLOW__MEDUSA_SYNC__RETRIES": "2", "AIRFLOW__MEDUSA_SYNC__RETRY_DELAY_SECONDS": "1"}
# The PostgreSQL of the Medusa side (MEDUSA_PG_*: the machine's, or the one ./dev brings, see
# tests/stack/toolchain.py); 127.0.0.1:5432, user postgres, when unset.
PG_HOST, PG_PORT, PG_USER = ms.PG_HOST, int(ms.PG_PORT), ms.PG_USER
COMPONENTS = {
    "api-server": ["api-server", "--host", "127.0.0.1", "--workers", "1"],
    "scheduler": ["scheduler"],
    "dag-processor": ["dag-processor"],
}


class AirflowClusterError(RuntimeError):
    """A component died or never became ready; the message carries the tail of its log."""


def _timed(what: str, started: float) -> float:
    elapsed = time.monotonic() - started
    print(f"\n[airflow] {what}: {elapsed:.1f} s", flush=True)
    return elapsed


def _tail(path: Path, lines: int = 60) -> str:
    if not path.exists():
        return "(no log)"
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def database_url(name: str) -> str:
    """SQLAlchemy URL of a metadata database on the local PostgreSQL (psycopg2 driver)."""
    return f"postgresql+psycopg2://{PG_USER}@{PG_HOST}:{PG_PORT}/{name}"


def _unique(prefix: str) -> str:
    return f"{prefix}_{os.getpid()}_{secrets.token_hex(4)}"


@dataclass(frozen=True)
class MetadataTemplate:
    """A migrated Airflow metadata database, only ever cloned, plus the session's shared secrets."""

    database: str
    fernet_key: str
    jwt_secret: str
    api_secret_key: str


def migrate_template(home: Path) -> MetadataTemplate:
    """Create and migrate a uniquely named template database (the slow part, done once)."""
    template = MetadataTemplate(
        _unique("airflow_tpl"), fernet_key(), secrets.token_urlsafe(64), secrets.token_urlsafe(32)
    )
    started = time.monotonic()
    ms.create_database(template.database)
    try:
        env = airflow_environment(
            home,
            extra={
                "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": database_url(template.database),
                "AIRFLOW__CORE__FERNET_KEY": template.fernet_key,
            },
        )
        home.mkdir(parents=True, exist_ok=True)
        done = airflow(env, "db", "migrate", check=False)
        if done.returncode != 0:
            raise AirflowClusterError(f"airflow db migrate failed:\n{(done.stdout + done.stderr)[-4000:]}")
    except BaseException:
        ms.drop_database(template.database)
        raise
    _timed("metadata template migrated", started)
    return template


# --- processes ----------------------------------------------------------------------------------


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return ""


def _cwd(pid: int) -> str | None:
    try:
        return os.readlink(f"/proc/{pid}/cwd")
    except OSError:
        return None


def _pids() -> Iterator[int]:
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            yield int(entry.name)


def parent_pid(pid: int) -> int | None:
    """The parent of a process, from ``/proc/<pid>/stat`` (None once it is gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(stat.rsplit(")", 1)[1].split()[1])


def process_tree(roots: Iterable[int], home: Path) -> set[int]:
    """Every live process under ``roots`` or working in ``home`` (the folder every component and
    task inherits as its working directory), with all their descendants; never this process."""
    parents = {pid: parent_pid(pid) for pid in _pids()}
    found = set(roots)
    found |= {pid for pid in parents if (cwd := _cwd(pid)) and (cwd + "/").startswith(f"{home}/")}
    grew = True
    while grew:
        children = {pid for pid, ppid in parents.items() if ppid in found} - found
        grew = bool(children)
        found |= children
    found.discard(os.getpid())
    return found


@dataclass(frozen=True)
class TaskProcess:
    """The OS processes running one task instance attempt under LocalExecutor."""

    ti_id: str
    task_pid: int  # the task runner: kill it to simulate a worker dying mid-task
    supervisor_pid: int | None  # the executor worker that supervises it and reports its exit
    cmdline: str


# --- REST client --------------------------------------------------------------------------------


class AirflowCluster:
    """Scheduler + api-server + dag-processor on a clone of the template metadata database."""

    def __init__(
        self,
        home: Path,
        template: MetadataTemplate,
        *,
        connections: dict[str, dict[str, Any]] | None = None,
        env: dict[str, str] | None = None,
        parallelism: int = 4,
        pool_slots: int | None = 2,
    ) -> None:
        self.home = home
        self.pool_slots = pool_slots
        self.template = template
        self.connections = dict(connections or {})
        self.extra_env = dict(env or {})
        self.parallelism = parallelism
        self.storage_dir = home / "runs"
        self.database = _unique("airflow_t")
        self.port = 0
        self.api = AirflowApi("http://127.0.0.1")
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self.start_seconds: float | None = None
        self._database_created = False
        self._log_server_port = 0

    # lifecycle

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def storage_url(self) -> str:
        return f"file://{self.storage_dir}"

    def log_path(self, component: str) -> Path:
        return self.home / "components" / f"{component}.log"

    def environment(self) -> dict[str, str]:
        """Everything the three components share; connections and Variable as env vars."""
        passwords = self.home / "simple_auth_manager_passwords.json"
        settings = {
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": database_url(self.database),
            "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
            "AIRFLOW__CORE__PARALLELISM": str(self.parallelism),
            "AIRFLOW__CORE__FERNET_KEY": self.template.fernet_key,
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{self.url}/execution/",
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
            "AIRFLOW__CORE__AUTH_MANAGER": (
                "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager"
            ),
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{ADMIN_USER}:admin",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "False",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(passwords),
            "AIRFLOW__API__HOST": "127.0.0.1",
            "AIRFLOW__API__PORT": str(self.port),
            "AIRFLOW__API__BASE_URL": self.url,
            "AIRFLOW__API__SECRET_KEY": self.template.api_secret_key,
            "AIRFLOW__API_AUTH__JWT_SECRET": self.template.jwt_secret,
            # LocalExecutor serves task logs from the scheduler; the default port may be taken.
            "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(self._log_server_port),
            # Fast enough for tests: pick up the DAG in seconds, schedule without idling.
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
            "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": "5",
            "AIRFLOW__DAG_PROCESSOR__BUNDLE_REFRESH_CHECK_INTERVAL": "1",
            "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "1",
            "AIRFLOW__SCHEDULER__JOB_HEARTBEAT_SEC": "1",
            "AIRFLOW__SCHEDULER__SCHEDULER_IDLE_SLEEP_TIME": "0.2",
            "AIRFLOW__SCHEDULER__PARSING_CLEANUP_INTERVAL": "10",
            # Only the runs a test triggers: unpausing a daily DAG would also start today's run.
            "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": "False",
            # A task runner orphaned by a restart is failed after a minute instead of five.
            "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": "60",
            "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT_DETECTION_INTERVAL": "5",
            **self.extra_env,
        }
        return airflow_environment(
            self.home, connections=self.connections, storage_url=self.storage_url, extra=settings
        )

    def start(self, timeout: float = 180) -> AirflowCluster:
        """Clone the metadata DB (first start only), start the components, wait until all are healthy
        and the DAG is registered."""
        started = time.monotonic()
        self.home.mkdir(parents=True, exist_ok=True)
        (self.home / "components").mkdir(exist_ok=True)
        self.storage_dir.mkdir(exist_ok=True)
        (self.home / "simple_auth_manager_passwords.json").write_text(
            json.dumps({ADMIN_USER: ADMIN_PASSWORD}) + "\n"
        )
        if not self._database_created:
            ms.create_database(self.database, template=self.template.database)
            self._database_created = True
        self.port = ms.free_port()
        self._log_server_port = ms.free_port()
        self.api = AirflowApi(self.url)
        try:
            for name, (args, env, cwd) in self.components().items():
                self._spawn(name, args, env, cwd)
            self._wait_ready(started + timeout)
            if self.pool_slots is not None:  # None: as a deployment that never created it
                self.api.set_pool(MEDUSA_POOL, self.pool_slots, POOL_DESCRIPTION)
        except BaseException:
            self.stop(keep_database=True)
            raise
        self.start_seconds = _timed(f"cluster started on :{self.port}", started)
        return self

    def _spawn(self, name: str, args: list[str], env: dict[str, str], cwd: Path) -> None:
        """Start ``airflow <args>`` as component ``name``, in its own session, logging to its file."""
        cwd.mkdir(parents=True, exist_ok=True)
        with self.log_path(name).open("ab") as log:
            self.processes[name] = subprocess.Popen(
                [str(VENV_BIN / "airflow"), *args],
                env=env,
                cwd=cwd,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def components(self) -> dict[str, tuple[list[str], dict[str, str], Path]]:
        """``name -> (airflow arguments, environment, working directory)`` of each process to start."""
        env = self.environment()
        return {
            name: ([*args, *(["--port", str(self.port)] if name == "api-server" else [])], env, self.home)
            for name, args in COMPONENTS.items()
        }

    def _wait_ready(self, deadline: float) -> None:
        state = "api-server not answering"
        while time.monotonic() < deadline:
            self.check_alive()
            with contextlib.suppress(requests.RequestException):
                health = self.api.health()
                unhealthy = [
                    name
                    for name in ("metadatabase", "scheduler", "dag_processor")
                    if (health.get(name) or {}).get("status") != "healthy"
                ]
                state = f"unhealthy: {unhealthy}"
                if not unhealthy:
                    state = "DAG not registered"
                    if self.api.dag(DAG_ID):
                        return
                    if errors := self.api.import_errors():
                        raise AirflowClusterError(f"the DAG folder has import errors: {errors}")
            time.sleep(0.5)
        raise AirflowClusterError(f"cluster not ready ({state})\n{self.logs_tail()}")

    def check_alive(self) -> None:
        """Raise with the log tail of any component that exited."""
        for name, process in self.processes.items():
            if process.poll() is not None:
                raise AirflowClusterError(
                    f"airflow {name} exited with {process.returncode}; last lines of "
                    f"{self.log_path(name).name}:\n{_tail(self.log_path(name))}"
                )

    def logs_tail(self, lines: int = 30) -> str:
        return "\n".join(
            f"--- {name} ---\n{_tail(self.log_path(name), lines)}" for name in self.processes or COMPONENTS
        )

    def stop(self, keep_database: bool = False, grace: float = 5) -> None:
        """Stop the components and every task process they started, then drop the metadata DB.

        SIGTERM to all at once, SIGKILL after ``grace`` seconds: a test cluster needs no graceful
        drain, and the scheduler would otherwise wait for running tasks to finish."""
        doomed = self.cluster_pids()
        for process in self.processes.values():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline and any(p.poll() is None for p in self.processes.values()):
            time.sleep(0.1)
        for process in self.processes.values():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
        # Task runners sit in process groups of their own: kill them one by one.
        for pid in doomed | self.cluster_pids():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        for process in self.processes.values():
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=10)
        self.processes.clear()
        if not keep_database and self._database_created:
            ms.drop_database(self.database)
            self._database_created = False

    def cluster_pids(self) -> set[int]:
        """Every live process of this cluster: the components' descendants, plus anything running in
        its home folder (the working directory every component and task inherits). Process titles
        are rewritten by setproctitle, which also blanks ``/proc/<pid>/environ``, so neither is used."""
        return process_tree((p.pid for p in self.processes.values() if p.poll() is None), self.home)

    def restart_with(
        self, connections: dict[str, dict[str, Any]] | None = None, env: dict[str, str] | None = None
    ) -> AirflowCluster:
        """Restart the components with other connections / settings, keeping DB and run history."""
        self.stop(keep_database=True)
        if connections is not None:
            self.connections = dict(connections)
        if env is not None:
            self.extra_env = dict(env)
        return self.start()

    def __enter__(self) -> AirflowCluster:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # runs

    def wait_for_run(
        self,
        dag_id: str,
        run_id: str,
        timeout: float = 300,
        states: Iterable[str] = FINISHED_RUN_STATES,
        poll: float = 0.5,
    ) -> str:
        """Poll the run every ``poll`` seconds until it reaches one of ``states``; fails early if a
        component dies."""
        wanted = tuple(states)
        deadline = time.monotonic() + timeout
        while True:
            self.check_alive()
            state = self.api.run_state(dag_id, run_id)
            if state in wanted:
                return state
            if time.monotonic() > deadline:
                summary = [
                    (t["task_id"], t["map_index"], t["state"])
                    for t in self.api.task_instances(dag_id, run_id)
                ]
                raise AirflowClusterError(f"run {run_id} still {state} after {timeout} s: {summary}")
            time.sleep(poll)

    def wait_for_task_state(
        self,
        dag_id: str,
        run_id: str,
        task_id: str,
        states: Iterable[str],
        map_index: int = -1,
        timeout: float = 120,
    ) -> dict[str, Any]:
        """Poll one task instance until its state is in ``states``; returns the instance."""
        wanted = tuple(states)
        deadline = time.monotonic() + timeout
        while True:
            self.check_alive()
            ti = self.api.request(
                "GET",
                f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}"
                + (f"/{map_index}" if map_index >= 0 else ""),
                expect=(200, 404),
            )
            if ti and ti.get("state") in wanted:
                return ti
            if time.monotonic() > deadline:
                state = ti.get("state") if ti else "absent"
                raise AirflowClusterError(f"{task_id}[{map_index}] still {state} after {timeout} s")
            time.sleep(0.3)

    def report(self, run_id: str, dag_id: str = DAG_ID) -> dict[str, Any] | None:
        """The run's ``report.json`` from the storage folder, None when the run wrote none."""
        path = self.storage_dir / dag_id / run_id / "report.json"
        return json.loads(path.read_text()) if path.exists() else None

    def task_process(self, dag_id: str, run_id: str, task_id: str, map_index: int = -1) -> TaskProcess | None:
        """The OS process running a task instance now: the instance's ``pid`` from the API, checked
        against the runner's title ``airflow worker -- <ti id>``; None when it is not running."""
        ti = self.api.task_instance(dag_id, run_id, task_id, map_index)
        title = f"airflow worker -- {ti['id']}"
        candidates = [ti["pid"]] if ti.get("pid") else []
        for pid in [*candidates, *_pids()]:
            cmdline = _cmdline(pid)
            if cmdline == title or cmdline.startswith(title + " "):
                return TaskProcess(ti["id"], pid, parent_pid(pid), cmdline)
        return None

    def processes_of_cluster(self) -> list[tuple[int, int | None, str]]:
        """``(pid, ppid, cmdline)`` of every process of this cluster, for diagnostics."""
        return [(pid, parent_pid(pid), _cmdline(pid)) for pid in sorted(self.cluster_pids())]
