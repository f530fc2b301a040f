"""Start a real Medusa v2 server from Python, for the dev stack and the integration tests.

    python -m tests.stack.medusa_server up --db NAME --port 9000 --state FILE [--fresh]
    python -m tests.stack.medusa_server status --state FILE
    python -m tests.stack.medusa_server down --state FILE

The Medusa project lives in ``tests/stack/medusa``. Each store is one PostgreSQL database; the
server process is started in its own process group so that stopping it stops every child.
Only the stdlib, ``requests`` and the PostgreSQL client programs are used.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path
from types import TracebackType
from typing import Any

import requests

MEDUSA_DIR = Path(__file__).resolve().parent / "medusa"
BUILD_OUTPUT = MEDUSA_DIR / ".medusa" / "server"
CLI_JS = MEDUSA_DIR / "node_modules" / "@medusajs" / "cli" / "cli.js"
BUILD_INPUTS = ("medusa-config.ts", "tsconfig.json", "package.json", "package-lock.json")

PG_HOST = os.environ.get("MEDUSA_PG_HOST", "127.0.0.1")
PG_PORT = os.environ.get("MEDUSA_PG_PORT", "5432")
PG_USER = os.environ.get("MEDUSA_PG_USER", "postgres")
PG_ARGS = ["-h", PG_HOST, "-p", PG_PORT, "-U", PG_USER]

ADMIN_EMAIL = "admin@medusa-sync.local"
HTTP_TIMEOUT = 30
_DB_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


class MedusaError(RuntimeError):
    """A step of preparing or running the Medusa server failed."""


def _log(message: str) -> None:
    print(f"==> {message}", flush=True)


def _node_env(database_url: str | None = None) -> dict[str, str]:
    """Environment for Medusa commands: no telemetry, and the database to use when given."""
    env = dict(os.environ)
    env["MEDUSA_DISABLE_TELEMETRY"] = "true"
    if database_url:
        env["DATABASE_URL"] = database_url
    return env


def _medusa_cmd(*args: str) -> list[str]:
    """The Medusa CLI run by node directly: same as ``npx medusa`` without npm's start-up cost."""
    node = shutil.which("node")
    if not node:
        raise MedusaError("node is not on PATH; Medusa needs Node 20 or newer")
    return [node, str(CLI_JS), *args]


def _run(args: list[str], what: str, env: dict[str, str] | None = None, cwd: Path = MEDUSA_DIR) -> str:
    """Run a command to completion; on failure raise with the end of its output."""
    proc = subprocess.run(
        args, cwd=cwd, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, check=False
    )
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).splitlines()[-40:])
        raise MedusaError(f"{what} failed (exit {proc.returncode}):\n{tail}")
    return proc.stdout


def _mtime(path: Path) -> float:
    return path.stat().st_mtime if path.exists() else 0.0


# --- install and build -------------------------------------------------------------------------


def ensure_installed() -> None:
    """Install node_modules from the lock file when they are missing or older than the lock."""
    lock = MEDUSA_DIR / "package-lock.json"
    stamp = MEDUSA_DIR / "node_modules" / ".package-lock.json"  # written by npm after each install
    if stamp.exists() and _mtime(stamp) >= _mtime(lock):
        return
    npm = shutil.which("npm")
    if not npm:
        raise MedusaError("npm is not on PATH; Medusa needs Node 20 or newer")
    _log("installing Medusa's node modules (npm ci, about a minute and a half)")
    _run([npm, "ci", "--no-audit", "--no-fund"], "npm ci")
    stamp.touch()


def ensure_built() -> None:
    """Build the project when the build output is missing or older than its inputs.

    ``medusa start`` from the project folder loads ``medusa-config.ts`` itself, so the server
    does not need the build; building still checks the config compiles, as the Docker image does.
    """
    output = BUILD_OUTPUT / "medusa-config.js"
    inputs = [MEDUSA_DIR / name for name in BUILD_INPUTS]
    src = MEDUSA_DIR / "src"
    if src.is_dir():
        inputs.extend(p for p in src.rglob("*") if p.is_file())
    if output.exists() and _mtime(output) >= max(_mtime(p) for p in inputs):
        return
    _log("building the Medusa project (medusa build, about 20 s)")
    _run(_medusa_cmd("build"), "medusa build", env=_node_env())


# --- databases ---------------------------------------------------------------------------------


def _check_name(name: str) -> str:
    if not _DB_NAME.match(name):
        raise ValueError(f"not a safe database name: {name!r}")
    return name


def _psql(sql: str, database: str = "postgres") -> str:
    return _run(
        ["psql", *PG_ARGS, "-d", database, "-v", "ON_ERROR_STOP=1", "-Atc", sql], "psql", cwd=Path.cwd()
    )


def database_url(name: str) -> str:
    """Connection URL Medusa uses for a database on the local PostgreSQL."""
    return f"postgres://{PG_USER}@{PG_HOST}:{PG_PORT}/{_check_name(name)}"


def database_exists(name: str) -> bool:
    """Whether the database is there, so that ``up`` can keep an existing store."""
    return _psql(f"SELECT 1 FROM pg_database WHERE datname = '{_check_name(name)}'").strip() == "1"


def create_database(name: str, template: str | None = None) -> None:
    """Create an empty database, or a copy of ``template`` (much faster than migrating)."""
    args = ["createdb", *PG_ARGS]
    if template:
        args += ["-T", _check_name(template)]
    _run([*args, _check_name(name)], f"createdb {name}", cwd=Path.cwd())


def _terminate_connections(name: str) -> None:
    _psql(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
        f"WHERE datname = '{_check_name(name)}' AND pid <> pg_backend_pid()"
    )


def drop_database(name: str) -> None:
    """Drop a database, ending connections a stopped server may have left behind."""
    _terminate_connections(name)
    _run(["dropdb", *PG_ARGS, "--if-exists", "--force", _check_name(name)], f"dropdb {name}", cwd=Path.cwd())


def migrate(database_url: str) -> None:
    """Create Medusa's schema (no store yet: the store and its sales channel appear at first start)."""
    _run(_medusa_cmd("db:migrate"), "medusa db:migrate", env=_node_env(database_url))


def admin_password() -> str:
    """A random admin password that never starts with ``-``: the medusa CLI would read it as a flag
    (``token_urlsafe`` alone does that one time in 64, and the login then fails with 401)."""
    return "pw" + secrets.token_urlsafe(18)


def create_admin_user(database_url: str, email: str, password: str) -> None:
    """Create an admin user who can log in with email and password."""
    if password.startswith("-"):
        raise ValueError("an admin password must not start with '-' (the medusa CLI reads it as a flag)")
    _run(_medusa_cmd("user", "-e", email, "-p", password), "medusa user", env=_node_env(database_url))


# --- the server --------------------------------------------------------------------------------


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def log_tail(path: Path | None, lines: int = 40) -> str:
    if path is None or not path.exists():
        return ""
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def process_alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    return True


def kill_group(pid: int, timeout: float = 15) -> None:
    """Stop a process group politely, then by force; the server forks workers of its own."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.killpg(pid, 0)
        except ProcessLookupError:
            return
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)
        time.sleep(0.2)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)


class MedusaServer:
    """One ``medusa start`` process serving one database.

    The log goes outside the Medusa project folder by default: a file written inside it could
    make a watching server restart.
    """

    def __init__(self, database_url: str, port: int = 0, log_path: Path | str | None = None) -> None:
        self.database_url = database_url
        self.port = port or free_port()
        if log_path is None:
            fd, name = tempfile.mkstemp(prefix=f"medusa-{self.port}-", suffix=".log")
            os.close(fd)
            log_path = name
        self.log_path = Path(log_path)
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    def start(self) -> MedusaServer:
        """Spawn the server in its own process group (it keeps running if Python exits)."""
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as out:
            self.process = subprocess.Popen(
                _medusa_cmd("start", "--port", str(self.port), "--host", "127.0.0.1"),
                cwd=MEDUSA_DIR,
                env=_node_env(self.database_url),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        return self

    def wait_healthy(self, timeout: float = 120) -> MedusaServer:
        """Wait for ``GET /health``; raise with the last log lines if it never comes."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise MedusaError(
                    f"Medusa exited with code {self.process.returncode} before it was healthy; "
                    f"last log lines ({self.log_path}):\n{log_tail(self.log_path)}"
                )
            try:
                if requests.get(f"{self.url}/health", timeout=2).status_code == 200:
                    return self
            except requests.RequestException:
                pass
            time.sleep(0.25)
        raise MedusaError(
            f"Medusa was not healthy at {self.url} within {timeout:.0f} s; "
            f"last log lines ({self.log_path}):\n{log_tail(self.log_path)}"
        )

    def stop(self) -> None:
        """Stop the server and every process it started."""
        if self.process is None:
            return
        kill_group(self.process.pid)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=5)
        self.process = None

    def __enter__(self) -> MedusaServer:
        try:
            return self.start().wait_healthy()
        except BaseException:
            self.stop()
            raise

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


# --- admin API helpers -------------------------------------------------------------------------


def auth_headers(token: str) -> dict[str, str]:
    """Secret API keys go as HTTP Basic (``Bearer sk_…`` is rejected); user JWTs as Bearer."""
    if token.startswith("sk_"):
        return {"Authorization": "Basic " + base64.b64encode(f"{token}:".encode()).decode()}
    return {"Authorization": f"Bearer {token}"}


def _check(response: requests.Response, what: str) -> dict[str, Any]:
    if not response.ok:
        raise MedusaError(f"{what}: HTTP {response.status_code} {response.text[:500]}")
    return response.json()


def admin_token(url: str, email: str, password: str) -> str:
    """Log an admin user in; the JWT lasts a day by default."""
    response = requests.post(
        f"{url}/auth/user/emailpass", json={"email": email, "password": password}, timeout=HTTP_TIMEOUT
    )
    return str(_check(response, "admin login")["token"])


def create_secret_api_key(url: str, token: str, title: str) -> str:
    """Create a secret API key; its raw ``sk_…`` value is only ever in this response."""
    response = requests.post(
        f"{url}/admin/api-keys",
        json={"title": title, "type": "secret"},
        headers=auth_headers(token),
        timeout=HTTP_TIMEOUT,
    )
    return str(_check(response, "create secret API key")["api_key"]["token"])


def key_works(url: str, api_key: str) -> bool:
    """Whether a stored key still authenticates (the database may have been recreated)."""
    try:
        response = requests.get(f"{url}/admin/stores", headers=auth_headers(api_key), timeout=HTTP_TIMEOUT)
    except requests.RequestException:
        return False
    return response.status_code == 200


def add_store_currency(url: str, token: str, currency_code: str) -> None:
    """Make a currency supported by the default store (a fresh store only has ``eur``).

    ``supported_currencies`` replaces the whole list, so the current ones are sent back too.
    """
    headers = auth_headers(token)
    stores = _check(requests.get(f"{url}/admin/stores", headers=headers, timeout=HTTP_TIMEOUT), "list stores")
    store = stores["stores"][0]
    current = store.get("supported_currencies") or []
    code = currency_code.lower()
    if any(c["currency_code"] == code for c in current):
        return
    wanted = [
        {
            "currency_code": c["currency_code"],
            "is_default": bool(c.get("is_default")),
            "is_tax_inclusive": bool(c.get("is_tax_inclusive")),
        }
        for c in current
    ]
    wanted.append({"currency_code": code, "is_default": not wanted})
    response = requests.post(
        f"{url}/admin/stores/{store['id']}",
        json={"supported_currencies": wanted},
        headers=headers,
        timeout=HTTP_TIMEOUT,
    )
    _check(response, f"add {code} to the store")


# --- command line ------------------------------------------------------------------------------


def _load_state(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text()) if path.exists() else {}


def _save_state(path: Path, state: dict[str, Any]) -> None:
    """Write the state readable by its owner only: it holds a password and an API key."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        json.dump(state, out, indent=2)
        out.write("\n")
    path.chmod(0o600)


def _healthy(url: str | None) -> bool:
    if not url:
        return False
    try:
        return requests.get(f"{url}/health", timeout=2).status_code == 200
    except requests.RequestException:
        return False


def _port_in_use(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def cmd_up(args: argparse.Namespace) -> None:
    """Prepare and start a detached server, keeping the database and credentials between runs."""
    state_path = Path(args.state)
    state = _load_state(state_path)
    if (
        process_alive(state.get("pid"))
        and _healthy(state.get("url"))
        and state.get("database") == args.db
        and not args.fresh
    ):
        _log(f"Medusa already running at {state['url']} (pid {state['pid']}, database {args.db})")
        return
    if process_alive(state.get("pid")):
        _log(f"stopping the previous Medusa (pid {state['pid']})")
        kill_group(state["pid"])
    if _port_in_use(args.port):
        raise SystemExit(f"port {args.port} is already in use by another program")

    ensure_installed()
    ensure_built()
    url_db = database_url(args.db)
    keep = not args.fresh and database_exists(args.db) and state.get("database") == args.db
    if keep and not state.get("password"):
        raise SystemExit(f"database {args.db} exists but its admin password is unknown: use --fresh")
    if not keep:
        _log(f"creating database {args.db} and migrating it (about 30 s)")
        drop_database(args.db)
        create_database(args.db)
        migrate(url_db)
        state = {"database": args.db, "email": ADMIN_EMAIL, "password": admin_password()}
        _log(f"creating admin user {ADMIN_EMAIL}")
        create_admin_user(url_db, ADMIN_EMAIL, state["password"])
    else:
        _log(f"keeping database {args.db}")

    log = state_path.with_suffix(".log")
    server = MedusaServer(url_db, port=args.port, log_path=log)
    _log(f"starting Medusa on {server.url} (log: {log})")
    server.start()
    state.update(url=server.url, pid=server.pid, log=str(log))
    try:
        server.wait_healthy(timeout=args.timeout)
        token = admin_token(server.url, state["email"], state["password"])
        if not (keep and state.get("api_key") and key_works(server.url, state["api_key"])):
            _log("creating a secret API key")
            state["api_key"] = create_secret_api_key(server.url, token, "medusa-sync devstack")
        add_store_currency(server.url, token, "usd")
    except BaseException:
        server.stop()
        state.pop("pid", None)
        _save_state(state_path, state)
        raise
    _save_state(state_path, state)
    _log(f"Medusa is up at {server.url} (pid {server.pid}); credentials in {state_path}")


def cmd_down(args: argparse.Namespace) -> None:
    """Stop the server; the database and credentials stay for the next ``up``."""
    state_path = Path(args.state)
    state = _load_state(state_path)
    pid = state.pop("pid", None)
    if process_alive(pid):
        _log(f"stopping Medusa (pid {pid})")
        kill_group(pid)
    else:
        _log("Medusa is not running")
    if state:
        _save_state(state_path, state)


def cmd_status(args: argparse.Namespace) -> None:
    """Say whether the server in the state file runs and answers."""
    state = _load_state(Path(args.state))
    running = process_alive(state.get("pid")) and _healthy(state.get("url"))
    where = f" at {state['url']} (pid {state['pid']}, database {state.get('database')})" if running else ""
    print(f"medusa   {'running' + where if running else 'stopped'}")


def main(argv: Iterable[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m tests.stack.medusa_server",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True)
    up = sub.add_parser("up", help="install, build, migrate and start a detached server")
    up.add_argument("--db", required=True, help="PostgreSQL database name")
    up.add_argument("--port", type=int, default=9000)
    up.add_argument("--state", required=True, help="JSON file for url, pid and credentials")
    up.add_argument("--fresh", action="store_true", help="recreate the database")
    up.add_argument("--timeout", type=float, default=180, help="seconds to wait for /health")
    up.set_defaults(func=cmd_up)
    for name, func in (("down", cmd_down), ("status", cmd_status)):
        cmd = sub.add_parser(name)
        cmd.add_argument("--state", required=True)
        cmd.set_defaults(func=func)
    args = parser.parse_args(list(argv) if argv is not None else None)
    try:
        args.func(args)
    except MedusaError as error:
        raise SystemExit(str(error)) from None


if __name__ == "__main__":
    main(sys.argv[1:])
