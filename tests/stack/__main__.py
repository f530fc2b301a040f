"""The local dev stack: a real Medusa, the catalog server and Airflow, plus a one-command demo.

    python -m tests.stack up [--catalog-file PATH | --products N] [--source dummyjson|shopify]
    python -m tests.stack demo [--source shopify]   # up, then one DAG run, then the report
    python -m tests.stack status | down

State (ports, pids, generated credentials) lives in ``.devstack/`` and never leaves the machine.
Each ``demo`` starts Airflow on a new metadata database (``fresh_airflow_metadata``); ``up`` keeps it.
The ports are 9000 (Medusa), 8001 (catalog) and 8080 (Airflow) unless ``DEV_MEDUSA_PORT``,
``DEV_CATALOG_PORT`` and ``DEV_AIRFLOW_PORT`` say otherwise.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import requests

from tests.stack.airflow_local import (
    DAG_ID,
    REPO,
    airflow,
    airflow_environment,
    fernet_key,
    medusa_connection,
    migrate,
    source_connection,
)
from tests.stack.medusa_server import kill_group, log_tail, process_alive

STATE = REPO / ".devstack"
MEDUSA_STATE = STATE / "medusa.json"
STACK_STATE = STATE / "stack.json"
AIRFLOW_HOME = STATE / "airflow"
# Fixed so bookmarks keep working; DEV_*_PORT moves them, so that a second stack (the fresh-machine
# test's clone) runs beside a developer's without a clash.
MEDUSA_PORT = int(os.environ.get("DEV_MEDUSA_PORT", "9000"))
CATALOG_PORT = int(os.environ.get("DEV_CATALOG_PORT", "8001"))
AIRFLOW_PORT = int(os.environ.get("DEV_AIRFLOW_PORT", "8080"))
# Where the scheduler and the triggerer serve task logs to the api-server (Airflow's defaults).
WORKER_LOG_PORT = int(os.environ.get("DEV_AIRFLOW_WORKER_LOG_PORT", "8793"))
TRIGGER_LOG_PORT = int(os.environ.get("DEV_AIRFLOW_TRIGGER_LOG_PORT", "8794"))
# The metadata database of `airflow standalone` (SQLite, Airflow's default in AIRFLOW_HOME).
AIRFLOW_DB = AIRFLOW_HOME / "airflow.db"


def _log(message: str) -> None:
    print(f"==> {message}", flush=True)


def _spawn(args: list[str], log: Path, env: dict[str, str] | None = None) -> int:
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:
        proc = subprocess.Popen(
            args,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            cwd=REPO,
            start_new_session=True,
        )
    return proc.pid


def _wait_http(url: str, what: str, timeout: float, log: Path) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if requests.get(url, timeout=2).status_code < 500:
                return
        except requests.RequestException:
            pass
        time.sleep(1)
    raise SystemExit(
        f"{what} did not come up at {url} within {timeout:.0f} s; last log lines:\n{log_tail(log, 30)}"
    )


def _load(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text()) if path.exists() else {}


def _save(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2))
    path.chmod(0o600)


def _airflow_env(medusa: dict[str, Any], stack: dict[str, Any]) -> dict[str, str]:
    return airflow_environment(
        AIRFLOW_HOME,
        extra={
            "AIRFLOW__CORE__FERNET_KEY": stack["fernet_key"],
            "AIRFLOW__API__PORT": str(AIRFLOW_PORT),
            # Where task runners reach the api-server: it follows the port (the default says 8080).
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{AIRFLOW_PORT}/execution/",
            "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(WORKER_LOG_PORT),
            "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(TRIGGER_LOG_PORT),
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "10",
            "AIRFLOW__SCHEDULER__MIN_FILE_PROCESS_INTERVAL": "10",
        },
    )


def up(args: argparse.Namespace) -> None:
    STATE.mkdir(exist_ok=True)
    stack = _load(STACK_STATE)
    stack.setdefault("fernet_key", fernet_key())

    _log("starting Medusa (PostgreSQL database medusa_sync_dev, admin user, secret API key)")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "tests.stack.medusa_server",
            "up",
            "--db",
            "medusa_sync_dev",
            "--port",
            str(MEDUSA_PORT),
            "--state",
            str(MEDUSA_STATE),
            *(["--fresh"] if args.fresh or not MEDUSA_STATE.exists() else []),
        ],
        cwd=REPO,
        check=True,
    )
    medusa = _load(MEDUSA_STATE)

    if process_alive(stack.get("catalog_pid")) and stack.get("catalog_source", "dummyjson") != args.source:
        _log(f"restarting the catalog server to serve the {args.source} format")
        os.killpg(stack.pop("catalog_pid"), signal.SIGTERM)
        time.sleep(1)
    if not process_alive(stack.get("catalog_pid")):
        if args.catalog_file:
            source = ["--file", str(Path(args.catalog_file).resolve())]
        else:
            source = ["--shopify" if args.source == "shopify" else "--generate", str(args.products)]
        _log(f"starting the catalog server on port {CATALOG_PORT} ({' '.join(source)})")
        log = STATE / "catalog.log"
        stack["catalog_pid"] = _spawn(
            [sys.executable, "-m", "tests.stack.catalog_server", "--port", str(CATALOG_PORT), *source], log
        )
        _wait_http(f"http://127.0.0.1:{CATALOG_PORT}/health", "catalog server", 30, log)
    stack["catalog_url"] = f"http://127.0.0.1:{CATALOG_PORT}"
    stack["catalog_source"] = args.source

    env = _airflow_env(medusa, stack)
    _log("preparing Airflow (metadata database, connections)")
    migrate(env)
    for conn_id, conn in {
        "medusa_default": medusa_connection(medusa["url"], api_key=medusa["api_key"]),
        # The connection's source_format extra picks the adapter (dummyjson: as before, plain http).
        "dummyjson_default": source_connection(
            stack["catalog_url"], None if args.source == "dummyjson" else args.source
        ),
    }.items():
        airflow(env, "connections", "delete", conn_id, check=False)
        airflow(env, "connections", "add", conn_id, "--conn-json", json.dumps(conn))
    if not process_alive(stack.get("airflow_pid")):
        _log(f"starting Airflow (scheduler, dag-processor, api-server on port {AIRFLOW_PORT})")
        log = STATE / "airflow.log"
        stack["airflow_pid"] = _spawn([str(Path(sys.executable).parent / "airflow"), "standalone"], log, env)
        _wait_http(f"http://127.0.0.1:{AIRFLOW_PORT}/api/v2/monitor/health", "Airflow", 180, log)
    _save(STACK_STATE, stack)
    _log(
        f"stack is up: Medusa {medusa['url']}, catalog {stack['catalog_url']}, "
        f"Airflow http://127.0.0.1:{AIRFLOW_PORT} (user admin, password in "
        f"{(AIRFLOW_HOME / 'simple_auth_manager_passwords.json.generated').relative_to(REPO)})"
    )


def _wait_for_dag(env: dict[str, str], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        listed = airflow(env, "dags", "list", "-o", "json", check=False)
        if DAG_ID in listed.stdout:
            return
        time.sleep(2)
    errors = airflow(env, "dags", "list-import-errors", check=False)
    raise SystemExit(f"DAG {DAG_ID} was not loaded within {timeout:.0f} s:\n{errors.stdout}{errors.stderr}")


def _runs(env: dict[str, str]) -> list[dict[str, Any]]:
    out = airflow(env, "dags", "list-runs", DAG_ID, "-o", "json").stdout
    # The CLI prints warnings on stdout before its JSON; the JSON is the last line.
    return json.loads(next((line for line in reversed(out.splitlines()) if line.startswith("[")), "[]"))


def _report(run_id: str) -> dict[str, Any] | None:
    path = AIRFLOW_HOME / "medusa_sync_runs" / DAG_ID / run_id / "report.json"
    return json.loads(path.read_text()) if path.exists() else None


def run_once(conf: dict[str, Any], timeout: float = 900) -> tuple[str, list[dict[str, Any]]]:
    """Trigger one run through Airflow and wait for it.

    Returns its state and the reports of every run that finished meanwhile, oldest first: unpausing
    the DAG also starts today's scheduled run, which goes first (one active run at a time).
    """
    stack, medusa = _load(STACK_STATE), _load(MEDUSA_STATE)
    env = _airflow_env(medusa, stack)
    _wait_for_dag(env)
    known = {r["run_id"] for r in _runs(env)}
    run_id = f"demo__{time.strftime('%Y%m%dT%H%M%S')}"
    airflow(env, "dags", "trigger", DAG_ID, "--run-id", run_id, "--conf", json.dumps(conf))
    airflow(env, "dags", "unpause", DAG_ID)
    _log(f"triggered run {run_id}; waiting for it to finish (watch it at http://127.0.0.1:{AIRFLOW_PORT})")
    deadline, state, runs = time.monotonic() + timeout, "queued", []
    while time.monotonic() < deadline:
        runs = _runs(env)
        state = next((r["state"] for r in runs if r["run_id"] == run_id), "queued")
        if state in ("success", "failed"):
            break
        time.sleep(3)
    finished = sorted(
        (r for r in runs if r["run_id"] not in known and r["end_date"]), key=lambda r: r["end_date"]
    )
    return state, [report for r in finished if (report := _report(r["run_id"]))]


def fresh_airflow_metadata() -> None:
    """Start the demo's Airflow from an empty metadata database.

    A kept database made every demo after the first one differ from the first: the DAG stayed
    unpaused, with the earlier runs in its history, so the scheduled run that unpausing starts came
    only once. A newcomer's second try should show what the first showed. The store (Medusa's
    database), the run folders and the admin password are kept; only Airflow's metadata is new.
    """
    stack = _load(STACK_STATE)
    pid = stack.pop("airflow_pid", None)
    if process_alive(pid):
        _log(f"stopping the running Airflow (pid {pid}) for a fresh metadata database")
        kill_group(pid)
        _save(STACK_STATE, stack)
    for path in AIRFLOW_HOME.glob(f"{AIRFLOW_DB.name}*"):  # the database and its -wal/-shm/-journal
        path.unlink()


def demo(args: argparse.Namespace) -> None:
    fresh_airflow_metadata()
    up(args)
    state, reports = run_once({})
    from medusa_sync.core.report import summary
    from medusa_sync.ui.report_link import report_path

    for report in reports:
        print(summary(report))
        where = (AIRFLOW_HOME / "medusa_sync_runs" / DAG_ID / report["run_id"] / "report.json").relative_to(
            REPO
        )
        page = f"http://127.0.0.1:{AIRFLOW_PORT}" + report_path(DAG_ID, report["run_id"])
        print(f"full report: {where}\nin the Airflow UI: {page}\n")
    print(f"run state: {state}")
    if state != "success":
        raise SystemExit(1)


def down(_: argparse.Namespace) -> None:
    stack = _load(STACK_STATE)
    for key in ("airflow_pid", "catalog_pid"):
        pid = stack.pop(key, None)
        if process_alive(pid):
            _log(f"stopping {key.removesuffix('_pid')} (pid {pid})")
            os.killpg(pid, signal.SIGTERM)
    if stack:
        _save(STACK_STATE, stack)
    if MEDUSA_STATE.exists():
        subprocess.run(
            [sys.executable, "-m", "tests.stack.medusa_server", "down", "--state", str(MEDUSA_STATE)],
            cwd=REPO,
            check=False,
        )


def status(_: argparse.Namespace) -> None:
    stack = _load(STACK_STATE)
    for key in ("catalog_pid", "airflow_pid"):
        print(f"{key.removesuffix('_pid'):8} {'running' if process_alive(stack.get(key)) else 'stopped'}")
    subprocess.run(
        [sys.executable, "-m", "tests.stack.medusa_server", "status", "--state", str(MEDUSA_STATE)],
        cwd=REPO,
        check=False,
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m tests.stack",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True)
    for name, func in (("up", up), ("demo", demo)):
        p = sub.add_parser(name)
        p.add_argument(
            "--catalog-file", help="serve this DummyJSON products file instead of a generated catalog"
        )
        p.add_argument(
            "--products", type=int, default=1000, help="size of the generated catalog (default 1000)"
        )
        p.add_argument("--fresh", action="store_true", help="recreate Medusa's database first")
        p.add_argument(
            "--source",
            choices=("dummyjson", "shopify"),
            default="dummyjson",
            help="the feed's format: DummyJSON, or Shopify's products.json with variants (default dummyjson)",
        )
        p.set_defaults(func=func)
    sub.add_parser("down").set_defaults(func=down)
    sub.add_parser("status").set_defaults(func=status)
    args = parser.parse_args()
    args.func(args)


if __name__ == "__main__":
    main()
