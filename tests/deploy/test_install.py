"""One install story: the line docs/install.md tells users is the line the image and ./dev setup
run, and constraints.txt pins everything it installs."""

from __future__ import annotations

import importlib.metadata
import re
import shlex
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name

REPO = Path(__file__).resolve().parents[2]
DISTRIBUTION = "medusa-product-sync"
EXTRAS = {
    "s3": {"apache-airflow-providers-amazon", "s3fs"},
    "celery": {"apache-airflow-providers-celery", "celery"},
    "statsd": {"statsd"},
}
# Options that change how pip installs, not what: the image keeps no cache, ./dev setup is quiet
# and installs the package editable so edits to plugins/ take effect at once.
HOW_NOT_WHAT = {"--no-cache-dir", "--quiet", "-q", "-e", "--editable"}


def documented_line() -> str:
    guide = (REPO / "docs/install.md").read_text()
    section = guide.split("### The install line", 1)[1]
    return next(line for line in section.splitlines() if line.startswith("pip install "))


def pip_install(text: str, source: str) -> list[str]:
    """The one ``pip install`` of the package in ``text``, as words, with the pip and options that
    do not change what is installed left out."""
    [line] = [
        line for line in text.splitlines() if "pip" in line and " install " in line and "./plugins" in line
    ]
    words = shlex.split(line.split("#", 1)[0])
    words = words[words.index("install") :]
    assert words[0] == "install", (source, line)
    return ["pip", *(w for w in words if w not in HOW_NOT_WHAT)]


def pins() -> dict[str, str]:
    found = {}
    for line in (REPO / "constraints.txt").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            requirement = Requirement(line)
            [specifier] = requirement.specifier
            assert specifier.operator == "==", line
            found[canonicalize_name(requirement.name)] = specifier.version
    return found


def project() -> dict:
    return tomllib.loads((REPO / "plugins/pyproject.toml").read_text())["project"]


def test_the_documented_install_line():
    assert documented_line() == 'pip install "./plugins[s3,celery,statsd]" --constraint constraints.txt'


def test_the_image_and_dev_setup_run_the_documented_line():
    documented = shlex.split(documented_line())
    dockerfile = (REPO / "Dockerfile").read_text()
    assert pip_install(dockerfile, "Dockerfile") == documented
    # Run where the line's relative paths hold: plugins/ and constraints.txt side by side.
    before = dockerfile[: dockerfile.index('"./plugins[')]
    assert re.findall(r"(?m)^WORKDIR (\S+)", before)[-1] == "/opt/medusa-sync"
    assert "COPY --chown=airflow:root constraints.txt /opt/medusa-sync/" in before
    assert "COPY --chown=airflow:root plugins /opt/medusa-sync/plugins" in before

    dev = (REPO / "dev").read_text()
    setup = dev[dev.index("setup_python() {") :]
    setup = setup[: setup.index("\n}\n")]
    assert pip_install(setup, "dev") == documented
    assert 'cd "$(dirname "$0")"' in dev  # ./dev runs from the repository root


def test_the_extras_are_declared_and_python_3_11_stays_the_floor():
    declared = project()
    assert declared["requires-python"] == ">=3.11"
    extras = declared["optional-dependencies"]
    assert {
        name: {canonicalize_name(Requirement(r).name) for r in reqs} for name, reqs in extras.items()
    } == EXTRAS
    assert "redis" in Requirement(next(r for r in extras["celery"] if r.startswith("celery"))).extras


def test_constraints_pin_every_dependency_and_extra_and_never_the_package():
    pinned = pins()
    declared = project()
    wanted = [
        *declared["dependencies"],
        *(r for reqs in declared["optional-dependencies"].values() for r in reqs),
    ]
    for text in wanted:
        requirement = Requirement(text)
        name = canonicalize_name(requirement.name)
        assert name in pinned, f"{text} is not pinned in constraints.txt"
        assert requirement.specifier.contains(pinned[name], prereleases=True), (text, pinned[name])
    assert DISTRIBUTION not in pinned
    # celery[redis] needs the redis client: pinned too.
    assert "redis" in pinned


def test_every_pin_installs_on_the_oldest_python_the_package_admits():
    """A pin that needs a newer Python than the package's floor is not skipped by pip: it goes back
    through every older release of what depends on it until it gives up. Debian 12's Python 3.11.2
    with soupsieve 4.1.3 (Python 3.11.5 and newer) ended in ``resolution-too-deep`` after 14
    minutes of ``./dev setup``. Read from the installed packages' own metadata: ./dev setup
    installed exactly these pins into the venv this runs in."""
    floor = project()["requires-python"].removeprefix(">=")
    for name, version in pins().items():
        installed = importlib.metadata.distribution(name)
        assert installed.version == version, f"{name} {installed.version} installed, {version} pinned"
        needs = installed.metadata.get("Requires-Python")
        assert not needs or SpecifierSet(needs).contains(floor), f"{name}=={version} needs Python {needs}"


def test_requirements_txt_is_the_same_set_at_the_constrained_versions():
    pinned = pins()
    listed = {}
    for line in (REPO / "requirements.txt").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            requirement = Requirement(line)
            [specifier] = requirement.specifier
            listed[canonicalize_name(requirement.name)] = specifier.version
    declared = project()
    wanted = [
        *declared["dependencies"],
        *(r for reqs in declared["optional-dependencies"].values() for r in reqs),
    ]
    assert set(listed) == {canonicalize_name(Requirement(r).name) for r in wanted}
    assert {name: pinned[name] for name in listed} == listed


def test_nothing_needs_the_common_io_provider_directly():
    """Only apache-airflow-core needs it, so constraints.txt pins it and nothing else names it."""
    assert "apache-airflow-providers-common-io" not in (REPO / "requirements.txt").read_text()
    assert "apache-airflow-providers-common-io" not in (REPO / "plugins/pyproject.toml").read_text()
    for folder in ("plugins", "dags"):
        for path in (REPO / folder).rglob("*.py"):
            assert "providers.common.io" not in path.read_text(), path
