"""Docker cannot run here, so the compose file's wiring is checked by reading it."""

import base64
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from jsonschema import Draft7Validator

from medusa_sync import settings
from tests.stack.airflow_local import MEDUSA_POOL

REPO = Path(__file__).resolve().parents[2]
STORAGE_DEFAULT = "${MEDUSA_SYNC_STORAGE_URL:-s3://aws_runs@medusa-sync-runs/medusa-sync}"
BUNDLED = {"medusa", "medusa-db", "medusa-init", "catalog", "minio", "minio-init"}
REQUIRED_SECRETS = (
    "AIRFLOW_JWT_SECRET",
    "AIRFLOW_FERNET_KEY",
    "S3_SECRET_KEY",
    "MEDUSA_JWT_SECRET",
    "MEDUSA_COOKIE_SECRET",
    "MEDUSA_ADMIN_PASSWORD",
)
AIRFLOW_SERVICES = {
    "airflow-apiserver",
    "airflow-scheduler",
    "airflow-dag-processor",
    "airflow-worker",
    "airflow-triggerer",
    "airflow-init",
}


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((REPO / "docker-compose.yaml").read_text())


def test_the_file_is_valid_under_the_compose_specification(compose):
    schema = json.loads((Path(__file__).parent / "compose-spec.json").read_text())
    errors = [
        f"{'/'.join(map(str, e.path))}: {e.message}" for e in Draft7Validator(schema).iter_errors(compose)
    ]
    assert errors == []


def test_a_plain_up_starts_airflow_only_and_the_bundled_profile_adds_a_store_source_and_s3(compose):
    services = compose["services"]
    assert set(services) == AIRFLOW_SERVICES | {"postgres", "redis"} | BUNDLED
    bundled = {name for name, service in services.items() if service.get("profiles")}
    assert bundled == BUNDLED
    assert all(services[name]["profiles"] == ["bundled"] for name in BUNDLED)
    # Airflow waits for what the bundled profile sets up, but only when it runs.
    for name in AIRFLOW_SERVICES:
        for dependency, how in services[name]["depends_on"].items():
            assert (dependency in BUNDLED) == (how.get("required") is False), (name, dependency)


def test_no_default_secret_is_used_silently(compose):
    text = (REPO / "docker-compose.yaml").read_text()
    assert "change-me" not in text
    example = (REPO / ".env.example").read_text()
    for name in REQUIRED_SECRETS:
        assert re.search(rf"\${{{name}:\?set {name} in \.env", text), name
        assert f"\n{name}=\n" in example, name  # listed, empty, for the user to fill in


@pytest.mark.parametrize("name", sorted(AIRFLOW_SERVICES))
def test_every_airflow_service_shares_the_image_env_and_mounts(compose, name):
    service = compose["services"][name]
    assert service["image"] == "medusa-product-sync-airflow:latest"
    env = service["environment"]
    assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
    assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == "http://airflow-apiserver:8080/execution/"
    assert "AIRFLOW__API_AUTH__JWT_SECRET" in env
    assert env["AIRFLOW__CORE__TEST_CONNECTION"] == "Enabled"  # the connection form's Test button
    # Made by airflow-init in the database: an environment connection would always win over it.
    assert "AIRFLOW_CONN_MEDUSA_DEFAULT" not in env and "AIRFLOW_CONN_DUMMYJSON_DEFAULT" not in env
    assert env["AIRFLOW_VAR_MEDUSA_SYNC_STORAGE_URL"] == STORAGE_DEFAULT
    assert '"conn_type": "aws"' in env["AIRFLOW_CONN_AWS_RUNS"]
    mounts = {v.split(":")[1] for v in service["volumes"]}
    assert "/opt/airflow/dags" in mounts
    assert "./dags" in {v.split(":")[0] for v in service["volumes"]}


@pytest.mark.parametrize("name", sorted(AIRFLOW_SERVICES))
def test_no_service_mounts_a_second_copy_of_the_installed_package(compose, name):
    """The image installs the package; a mounted ./plugins would shadow it and be loaded as plugins."""
    volumes = compose["services"][name]["volumes"]
    assert not any(v.split(":")[0].startswith("./plugins") for v in volumes), volumes
    assert not any(v.split(":")[1].startswith("/opt/airflow/plugins") for v in volumes), volumes


def test_the_bundled_store_s_key_is_made_by_medusa_init_and_becomes_the_connection(compose):
    """No copy-paste: medusa-init creates the admin and a secret key into a volume, airflow-init
    turns it into medusa_default; without the bundled store, MEDUSA_URL and its key from .env."""
    medusa_init = compose["services"]["medusa-init"]
    script = medusa_init["command"][-1]
    assert 'npx medusa user -e "$$MEDUSA_ADMIN_EMAIL" -p "$$MEDUSA_ADMIN_PASSWORD"' in script
    assert "node create-sync-key.mjs /secrets/medusa_api_key" in script
    assert "medusa-sync-secrets:/secrets" in medusa_init["volumes"]
    assert medusa_init["depends_on"]["medusa"]["condition"] == "service_healthy"
    assert "create-sync-key.mjs" in (REPO / "tests/stack/medusa/Dockerfile").read_text()
    key_script = (REPO / "tests/stack/medusa/create-sync-key.mjs").read_text()
    assert '"/admin/api-keys"' in key_script and 'type: "secret"' in key_script

    init = compose["services"]["airflow-init"]
    script = init["command"][-1]
    assert "medusa-sync-secrets:/opt/medusa-sync-secrets:ro" in init["volumes"]
    assert "[ -s /opt/medusa-sync-secrets/medusa_api_key ]; then" in script
    assert "export MEDUSA_URL=http://medusa:9000" in script
    assert 'store("medusa_default", {' in script and 'store("dummyjson_default",' in script
    assert "set MEDUSA_URL and MEDUSA_API_KEY in .env" in script and "exit 1" in script
    for name in ("MEDUSA_URL", "MEDUSA_API_KEY", "MEDUSA_EMAIL", "MEDUSA_PASSWORD", "SOURCE_URL"):
        assert init["environment"][name] == f"${{{name}:-}}", name
    assert init["depends_on"]["medusa-init"] == {
        "condition": "service_completed_successfully",
        "required": False,
    }


def test_init_owns_every_folder_the_airflow_services_mount(compose):
    script = compose["services"]["airflow-init"]["command"][-1]
    mounted = {v.split(":")[1] for name in AIRFLOW_SERVICES for v in compose["services"][name]["volumes"]}
    chown = next(line for line in script.splitlines() if line.strip().startswith("chown"))
    for target in mounted - {"/opt/medusa-sync-secrets"}:
        assert target in chown, target


def test_the_build_contexts_leave_out_local_environments_and_credentials():
    ignored = (REPO / ".dockerignore").read_text().splitlines()
    for entry in (".venv", ".env", "**/node_modules", ".git", "test-artifacts"):
        assert entry in ignored, entry
    # tests/stack/medusa is the Medusa image's own context, with its own ignore file.
    assert "node_modules" in (REPO / "tests/stack/medusa/.dockerignore").read_text().splitlines()


def test_medusa_uses_its_own_database(compose):
    medusa = compose["services"]["medusa"]
    assert "medusa-db:5432" in medusa["environment"]["DATABASE_URL"]
    assert medusa["depends_on"]["medusa-db"]["condition"] == "service_healthy"


def test_built_images_exist_in_the_repository(compose):
    assert (REPO / "Dockerfile").exists()
    assert (REPO / compose["services"]["medusa"]["build"] / "Dockerfile").exists()
    assert (REPO / compose["services"]["catalog"]["build"]["dockerfile"]).exists()


def test_the_airflow_image_installs_the_package_for_its_connection_type():
    dockerfile = (REPO / "Dockerfile").read_text()
    assert "FROM apache/airflow:3.3.2" in dockerfile
    assert "plugins" in dockerfile and "constraints.txt" in dockerfile


def test_init_creates_the_pool_the_medusa_tasks_run_in(compose):
    script = compose["services"]["airflow-init"]["command"][-1]
    assert f"airflow pools set {MEDUSA_POOL} " in script
    defaults = settings.load({})
    assert defaults.pool == MEDUSA_POOL
    # The stock sync's writes take [medusa_sync] pool_slots slots: the whole pool compose creates.
    assert re.search(rf"airflow pools set {MEDUSA_POOL} {defaults.pool_slots} ", script), script


def _with_defaults(value: str) -> str:
    """The value compose gives with an empty .env: ``${NAME:-default}`` becomes ``default``."""
    while (expanded := re.sub(r"\$\{[A-Z0-9_]+:-([^${}]*)\}", r"\1", value)) != value:
        value = expanded
    return value


def test_run_data_goes_to_the_s3_service_and_no_airflow_service_keeps_it_on_a_volume(compose):
    env = compose["services"]["airflow-worker"]["environment"]
    connection = json.loads(_with_defaults(env["AIRFLOW_CONN_AWS_RUNS"]))
    assert connection["conn_type"] == "aws"
    assert connection["extra"]["endpoint_url"] == "http://minio:9000"
    assert (
        _with_defaults(env["AIRFLOW_VAR_MEDUSA_SYNC_STORAGE_URL"])
        == "s3://aws_runs@medusa-sync-runs/medusa-sync"
    )
    # The connection id in the storage URL is the connection defined here.
    assert "AIRFLOW_CONN_" + "aws_runs".upper() in env
    minio = compose["services"]["minio"]
    assert connection["login"] == _with_defaults(minio["environment"]["MINIO_ROOT_USER"])
    assert connection["password"] == _with_defaults(minio["environment"]["MINIO_ROOT_PASSWORD"])
    for name in AIRFLOW_SERVICES:
        targets = {v.split(":")[1] for v in compose["services"][name]["volumes"]} - {
            "/opt/medusa-sync-secrets"
        }
        assert targets == {"/opt/airflow/dags", "/opt/airflow/logs", "/opt/airflow/config"}, name


def test_failure_alerts_are_off_by_default_and_set_from_the_env_file(compose):
    env = compose["services"]["airflow-dag-processor"]["environment"]  # where DAG callbacks run
    assert env["AIRFLOW_VAR_MEDUSA_SYNC_ALERT_EMAIL"] == "${ALERT_EMAIL:-}"
    assert _with_defaults(env["AIRFLOW_VAR_MEDUSA_SYNC_ALERT_EMAIL"]) == ""
    smtp = json.loads(_with_defaults(env["AIRFLOW_CONN_SMTP_DEFAULT"]))
    assert smtp["conn_type"] == "smtp" and smtp["port"] == 587
    assert smtp["extra"]["from_email"] == "airflow@example.com"
    assert "${SMTP_PASSWORD:-}" in env["AIRFLOW_CONN_SMTP_DEFAULT"]


def test_the_bucket_is_created_before_any_airflow_service_starts(compose):
    script = compose["services"]["minio-init"]["command"][-1]
    assert "mc mb --ignore-existing runs/medusa-sync-runs" in script
    assert "mc alias set runs http://minio:9000" in script
    for name in AIRFLOW_SERVICES:
        depends = compose["services"][name]["depends_on"]
        assert depends["minio-init"] == {"condition": "service_completed_successfully", "required": False}


def test_the_s3_images_are_pinned_to_a_release(compose):
    for name in ("minio", "minio-init"):
        image = compose["services"][name]["image"]
        assert re.fullmatch(r"minio/(minio|mc):RELEASE\.\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}Z", image), image


def test_there_are_two_celery_workers_by_default_and_more_with_one_setting(compose):
    worker = compose["services"]["airflow-worker"]
    assert worker["command"] == "celery worker"
    assert worker["deploy"]["replicas"] == "${AIRFLOW_WORKERS:-2}"
    assert "container_name" not in worker and "ports" not in worker  # replicas must not collide


def test_the_image_installs_the_celery_and_s3_packages():
    """The image installs the package with its extras (tests/deploy/test_install.py checks the
    line is the documented one); the extras bring the Celery and S3 packages."""
    dockerfile = (REPO / "Dockerfile").read_text()
    assert re.search(r'pip install [^\n]*"\./plugins\[[^\]]*\bcelery\b[^\]]*\]"', dockerfile), dockerfile
    assert re.search(r'pip install [^\n]*"\./plugins\[[^\]]*\bs3\b[^\]]*\]"', dockerfile), dockerfile
    pyproject = (REPO / "plugins/pyproject.toml").read_text()
    for package in ('"apache-airflow-providers-celery"', '"apache-airflow-providers-amazon"', '"s3fs"'):
        assert package in pyproject, package


# -- A newcomer's first hour: each trap below had a newcomer stuck once ---------------------------


@pytest.mark.parametrize("name", sorted(AIRFLOW_SERVICES))
def test_the_dags_start_unpaused_unless_env_says_otherwise(compose, name):
    """The bundled demo runs on its own: new DAGs are unpaused by default, one .env setting away
    from paused, and .env.example says so."""
    value = compose["services"][name]["environment"]["AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION"]
    assert value == "${AIRFLOW_DAGS_PAUSED_AT_CREATION:-false}"
    assert _with_defaults(value) == "false"
    example = (REPO / ".env.example").read_text()
    assert "\nAIRFLOW_DAGS_PAUSED_AT_CREATION=false\n" in example
    assert "AIRFLOW_DAGS_PAUSED_AT_CREATION" in (REPO / "docs/install.md").read_text()


def _choose_store(compose, tmp_path: Path, env: dict[str, str], bundled_key: str | None):
    """Runs airflow-init's choice of store (the shell lines before the connections are written)
    with the secrets volume in ``tmp_path``; returns the process, whose stdout is
    ``MEDUSA_URL|MEDUSA_API_KEY|SOURCE_URL`` as the connections would be written."""
    script = compose["services"]["airflow-init"]["command"][-1]
    lines = script.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("# The connections:"))
    end = next(i for i, line in enumerate(lines) if line.startswith("python - <<"))
    volume = tmp_path / "secrets"
    volume.mkdir()
    if bundled_key is not None:
        (volume / "medusa_api_key").write_text(bundled_key)
    fragment = "\n".join(lines[start:end]).replace("$$", "$").replace("/opt/medusa-sync-secrets", str(volume))
    shell = (
        "set -euo pipefail\n"
        + fragment
        + '\nprintf "%s|%s|%s" "$MEDUSA_URL" "${MEDUSA_API_KEY:-}" "${SOURCE_URL:-}"\n'
    )
    # What compose gives airflow-init: every one of them, empty unless .env sets it.
    names = ("MEDUSA_URL", "MEDUSA_API_KEY", "MEDUSA_EMAIL", "MEDUSA_PASSWORD", "SOURCE_URL")
    environment = {"PATH": os.environ["PATH"], **dict.fromkeys(names, ""), **env}
    return subprocess.run(["bash", "-c", shell], env=environment, capture_output=True, text=True, timeout=30)


@pytest.mark.parametrize(
    ("env", "bundled_key", "chosen"),
    [
        # A key left in the volume by a bundled run does not override the store in .env.
        (
            {"MEDUSA_URL": "https://shop.example", "MEDUSA_API_KEY": "sk_mine"},
            "sk_bundled",
            "https://shop.example|sk_mine|",
        ),
        (
            {"MEDUSA_URL": "https://shop.example", "MEDUSA_EMAIL": "a@b.c", "MEDUSA_PASSWORD": "pw"},
            "sk_bundled",
            "https://shop.example||",
        ),
        (
            {
                "MEDUSA_URL": "https://shop.example",
                "MEDUSA_API_KEY": "sk_mine",
                "SOURCE_URL": "https://feed.example",
            },
            None,
            "https://shop.example|sk_mine|https://feed.example",
        ),
        # No store in .env: the bundled store, with its key and the bundled catalog.
        ({}, "sk_bundled", "http://medusa:9000|sk_bundled|http://catalog:8001"),
        (
            {"SOURCE_URL": "https://feed.example"},
            "sk_bundled",
            "http://medusa:9000|sk_bundled|https://feed.example",
        ),
    ],
)
def test_a_store_set_in_env_always_wins_over_a_key_a_bundled_run_left(
    compose, tmp_path, env, bundled_key, chosen
):
    done = _choose_store(compose, tmp_path, env, bundled_key)
    assert done.returncode == 0, done.stderr
    assert done.stdout == chosen


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({}, "set MEDUSA_URL and MEDUSA_API_KEY in .env"),
        ({"MEDUSA_URL": "https://shop.example"}, "set MEDUSA_API_KEY (or MEDUSA_EMAIL and MEDUSA_PASSWORD)"),
    ],
)
def test_init_stops_and_says_what_to_set_without_a_store_or_its_credentials(compose, tmp_path, env, message):
    done = _choose_store(compose, tmp_path, env, bundled_key=None)
    assert done.returncode == 1
    assert message in done.stderr


def _recipe() -> str:
    """The shell lines of docs/install.md's first-start recipe that edit .env (not docker compose)."""
    guide = (REPO / "docs/install.md").read_text()
    [block] = [
        b for b in re.findall(r"^```bash\n(.*?)^```", guide, re.S | re.M) if "cp .env.example .env" in b
    ]
    return "".join(line for line in block.splitlines(keepends=True) if not line.startswith("docker "))


def _env_file(path: Path) -> list[tuple[str, str]]:
    pairs = []
    for line in path.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            pairs.append((key, value))
    return pairs


@pytest.mark.skipif(shutil.which("python3") is None, reason="the recipe runs python3")
def test_the_first_start_recipe_is_copy_paste_true_and_safe_to_run_twice(tmp_path):
    """Run twice, the recipe leaves one line per key, AIRFLOW_UID the user's own, every required
    secret set, and the second run changes nothing (an .env already filled in stays as it is)."""
    shutil.copy(REPO / ".env.example", tmp_path / ".env.example")
    recipe = _recipe()
    assert "cp .env.example .env" in recipe and "AIRFLOW_UID" in recipe
    results = []
    for _ in range(2):
        done = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", recipe],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr
        results.append((tmp_path / ".env").read_text())
    assert results[0] == results[1]
    pairs = _env_file(tmp_path / ".env")
    keys = [key for key, _ in pairs]
    assert sorted(set(keys)) == sorted(keys), [key for key in set(keys) if keys.count(key) > 1]
    values = dict(pairs)
    assert values["AIRFLOW_UID"] == str(os.getuid())
    for name in REQUIRED_SECRETS:
        assert len(values[name]) >= 32, name
    # The Fernet key is 32 url-safe base64-encoded bytes, as Airflow's Fernet wants it.
    assert len(base64.urlsafe_b64decode(values["AIRFLOW_FERNET_KEY"])) == 32
    # Compose would start with this .env: every variable it refuses to start without has a value.
    required = set(re.findall(r"\$\{(\w+):\?", (REPO / "docker-compose.yaml").read_text()))
    assert required and sorted(name for name in required if not values.get(name)) == []
    # Every other value is .env.example's.
    example = dict(_env_file(REPO / ".env.example"))
    assert {k: v for k, v in values.items() if k not in REQUIRED_SECRETS and k != "AIRFLOW_UID"} == {
        k: v for k, v in example.items() if k not in REQUIRED_SECRETS
    }


def test_airflow_uid_is_left_to_the_recipe_and_defaults_in_compose(compose):
    """.env.example does not set AIRFLOW_UID, so appending the user's own never makes a second
    line; compose runs as 50000 without it. No guide appends it without checking first."""
    assert not re.search(r"(?m)^AIRFLOW_UID=", (REPO / ".env.example").read_text())
    for name in AIRFLOW_SERVICES - {"airflow-init"}:
        assert compose["services"][name]["user"] == "${AIRFLOW_UID:-50000}:0", name
    for page in [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]:
        for line in page.read_text().splitlines():
            if re.search(r"AIRFLOW_UID=.*>>\s*\.env", line):
                assert "grep -q '^AIRFLOW_UID=' .env ||" in line, f"{page.name}: {line}"


def test_the_bundled_store_s_key_is_found_where_the_guide_says_and_not_in_an_admin_page(compose):
    """The bundled store serves no admin dashboard: the guide says so, and its command to read the
    sync's key reads the file medusa-init writes, in the volume medusa-init mounts."""
    config = (REPO / "tests/stack/medusa/medusa-config.ts").read_text()
    assert re.search(r"admin:\s*\{[^}]*disable:\s*true", config, re.S)
    guide = (REPO / "docs/install.md").read_text()
    compose_part = guide[guide.index("## With docker compose") :]
    assert "has no admin dashboard" in compose_part
    medusa_init = compose["services"]["medusa-init"]
    key_file = re.search(r"node create-sync-key\.mjs (\S+)", medusa_init["command"][-1])[1]
    assert f"docker compose --profile bundled run --rm --no-deps medusa-init cat {key_file}" in compose_part
    assert any(v.split(":")[1] == str(Path(key_file).parent) for v in medusa_init["volumes"])


# Node.js release lines past their end of life (20: April 2026); odd lines are never LTS.
NODE_END_OF_LIFE = {16, 18, 20}


def test_the_medusa_image_runs_a_node_lts_line_medusa_supports():
    dockerfile = (REPO / "tests/stack/medusa/Dockerfile").read_text()
    [image] = re.findall(r"(?m)^FROM (\S+)", dockerfile)
    match = re.fullmatch(r"node:(\d+)-(bookworm|trixie)-slim", image)
    assert match, f"{image}: pin a Node major and a Debian release, like the other images"
    major = int(match[1])
    assert major % 2 == 0 and major not in NODE_END_OF_LIFE, image
    lock = json.loads((REPO / "tests/stack/medusa/package-lock.json").read_text())
    engines = lock["packages"]["node_modules/@medusajs/medusa"]["engines"]["node"]
    # Medusa 2.21 declares "^20.19.0 || >=22.12.0"; a major tag takes that line's latest release.
    floor = re.search(r">=\s*(\d+)\.\d+", engines)
    assert floor and major >= int(floor[1]), (image, engines)
