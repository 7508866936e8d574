"""What a platform engineer checks before adopting the bot: the suite, the lock file, the
licence, the container image and the compose file."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from importlib import metadata
from pathlib import Path

import pytest
import yaml
from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from bot.cli import build_parser
from bot.config import load_settings
from tests.conftest import free_port

ROOT = Path(__file__).resolve().parent.parent


def test_unreachable_test_database_fails_the_postgresql_tests_instead_of_skipping():
    """TEST_DATABASE_URL set means "test on PostgreSQL": a dead server must not pass green."""
    env = dict(os.environ, TEST_DATABASE_URL=f"postgresql://postgres@127.0.0.1:{free_port()}/x")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "tests/test_migrations.py::test_upgrade_then_downgrade_then_upgrade",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1, result.stdout
    assert "1 passed, 1 error" in result.stdout  # SQLite passes, PostgreSQL errors
    assert "skipped" not in result.stdout
    assert "PostgreSQL at TEST_DATABASE_URL is not reachable" in result.stdout


def _lock() -> dict[str, dict]:
    """requirements.txt as {name: {"version", "marker", "hashes", "via"}}."""
    entries: dict[str, dict] = {}
    current: dict | None = None
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        if match := re.match(r"^([A-Za-z0-9._-]+)==([^\s;\\]+)\s*(?:;\s*([^\\]+?))?\s*\\?$", line):
            current = {"version": match[2], "marker": match[3], "hashes": [], "via": set()}
            entries[canonicalize_name(match[1])] = current
        elif current is not None and (found := re.match(r"^\s+--hash=(sha256:[0-9a-f]{64})", line)):
            current["hashes"].append(found[1])
        elif current is not None and (via := re.match(r"^\s+#\s+(?:via\s+)?([^\s].*)$", line)):
            current["via"].add(via[1].removeprefix("via ").strip())
    return entries


def _pyproject_dependencies() -> list[Requirement]:
    with open(ROOT / "pyproject.toml", "rb") as handle:
        return [Requirement(text) for text in tomllib.load(handle)["project"]["dependencies"]]


def test_the_lock_file_pins_exactly_pyprojects_runtime_dependencies_with_hashes():
    """requirements.txt must follow pyproject.toml; `make lock` renews it."""
    lock = _lock()
    wanted = _pyproject_dependencies()
    direct = {
        name for name, entry in lock.items() if any("pyproject.toml" in v for v in entry["via"])
    }
    assert direct == {canonicalize_name(r.name) for r in wanted}, "run `make lock`"
    for requirement in wanted:
        pinned = lock[canonicalize_name(requirement.name)]["version"]
        assert requirement.specifier.contains(pinned, prereleases=True), (
            f"requirements.txt pins {requirement.name}=={pinned}, outside {requirement}: "
            "run `make lock`"
        )
        for extra in requirement.extras:  # psycopg[binary] brings psycopg-binary
            assert canonicalize_name(f"{requirement.name}-{extra}") in lock, "run `make lock`"
    for name, entry in lock.items():
        assert entry["hashes"], f"{name} has no hash in requirements.txt"
        assert entry["via"], f"{name} says nothing about why it is there"


def test_the_tests_run_the_locked_versions():
    """`make install` installs the lock first: what passes here is what the image runs."""
    mismatched = {}
    for name, entry in _lock().items():
        if entry["marker"] and not Marker(entry["marker"]).evaluate():
            continue  # e.g. tzdata, for Windows only
        installed = metadata.version(name)
        if installed != entry["version"]:
            mismatched[name] = (installed, entry["version"])
    assert not mismatched, f"installed vs locked {mismatched}: run `make install`"


def test_license_is_the_apache_2_text_pyproject_names():
    with open(ROOT / "pyproject.toml", "rb") as handle:
        assert tomllib.load(handle)["project"]["license"] == "Apache-2.0"
    text = (ROOT / "LICENSE").read_text()
    assert "Apache License\n                           Version 2.0, January 2004" in text
    for section in (
        "1. Definitions.",
        "2. Grant of Copyright License.",
        "3. Grant of Patent License.",
        "4. Redistribution.",
        "7. Disclaimer of Warranty.",
        "9. Accepting Warranty or Additional Liability.",
        "END OF TERMS AND CONDITIONS",
    ):
        assert section in text
    reference = Path("/usr/share/common-licenses/Apache-2.0")
    if reference.is_file():  # Debian ships the canonical text: ours must be exactly it
        assert text == reference.read_text()


def test_changelog_has_upgrade_notes_for_the_current_work():
    text = (ROOT / "CHANGELOG.md").read_text()
    assert text.startswith("# Changelog")
    assert "## Unreleased" in text and "### Upgrade notes" in text
    assert "mlops-bot migrate" in text  # the release step that every upgrade runs
    with open(ROOT / "pyproject.toml", "rb") as handle:
        version = tomllib.load(handle)["project"]["version"]
    assert f"## {version}" in text


# The image and the process files: checked without a container engine, by parsing them and
# handing every command they run to the real argument parser.

SUBCOMMANDS = set(build_parser()._subparsers._group_actions[0].choices)  # noqa: SLF001


def _dockerfile() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n", " ", (ROOT / "Dockerfile").read_text())
    pairs = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            instruction, _, arguments = line.partition(" ")
            pairs.append((instruction.upper(), arguments.strip()))
    return pairs


def test_dockerfile_is_one_small_non_root_image_whose_command_exists():
    steps = _dockerfile()
    stages = [i for i, (instruction, _) in enumerate(steps) if instruction == "FROM"]
    assert len(stages) == 2, "a build stage and a runtime stage without pip caches or sources"
    final = steps[stages[-1] :]
    assert all("slim" in args for instruction, args in steps if instruction == "FROM")
    (user,) = [args for instruction, args in final if instruction == "USER"]
    assert user.split(":")[0] not in ("root", "0")
    entrypoint = json.loads(next(args for i, args in final if i == "ENTRYPOINT"))
    command = json.loads(next(args for i, args in final if i == "CMD"))
    assert entrypoint == ["mlops-bot"]
    build_parser().parse_args(command)  # exits (SystemExit) if the CLI has no such command
    runs = " ".join(args for instruction, args in steps if instruction == "RUN")
    assert "--require-hashes" in runs and "-r requirements.txt" in runs
    for instruction, args in steps:
        if instruction == "COPY" and not args.startswith("--from"):
            *sources, _target = args.split()
            for source in sources:
                assert (ROOT / source).exists(), f"COPY {source}: no such file"
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert ".env" in ignored and ".venv" in ignored, "secrets and the venv stay out of the image"


def _compose() -> dict:
    return yaml.safe_load((ROOT / "compose.yaml").read_text())


def test_compose_runs_postgresql_migrate_two_web_workers_and_a_worker():
    services = _compose()["services"]
    assert set(services) == {"db", "migrate", "web", "worker"}
    assert services["db"]["image"].startswith("postgres:")
    for name in ("migrate", "web", "worker"):
        service = services[name]
        assert service["build"] == "."
        assert service["environment"]["DATABASE_URL"].startswith("postgresql://")
        args = build_parser().parse_args(service["command"])
        assert args.command == name
    web = build_parser().parse_args(services["web"]["command"])
    assert web.workers == 2
    assert services["migrate"]["depends_on"]["db"]["condition"] == "service_healthy"
    for name in ("web", "worker"):
        condition = services[name]["depends_on"]["migrate"]["condition"]
        assert condition == "service_completed_successfully"
    for name in ("migrate", "web", "worker"):  # Slack's secrets come from .env, never here
        assert not [key for key in services[name]["environment"] if key.startswith("SLACK_")]
        assert services[name]["env_file"] == [{"path": ".env", "required": False}]


def test_compose_serves_metrics_from_web_on_the_private_network_only():
    """Prometheus in the compose network scrapes web:METRICS_PORT; nothing publishes it, and
    the worker (which serves no port: web reports its last tick) gets none."""
    services = _compose()["services"]
    web = services["web"]
    env = {**web["environment"], "SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s"}
    settings = load_settings(env)
    assert settings.metrics_port == 9464 and settings.metrics_host == "0.0.0.0"
    assert str(settings.metrics_port) in web["expose"]
    published = [port.rsplit(":", 1)[-1] for port in web["ports"]]
    assert published == ["3000"], "the metrics port must never be published"
    assert web["environment"].items() >= services["worker"]["environment"].items()
    assert "METRICS_PORT" not in services["worker"]["environment"]


def test_procfile_commands_exist():
    kinds = {}
    for line in (ROOT / "Procfile").read_text().splitlines():
        kind, _, command = line.partition(":")
        words = command.replace("$PORT", "3000").split()
        assert words[:3] == ["python", "-m", "bot.cli"], "runs from the repository, no install"
        kinds[kind] = build_parser().parse_args(words[3:]).command
    assert kinds == {"release": "migrate", "web": "web", "worker": "worker"}


def _container_runtime() -> str | None:
    for runtime in ("docker", "podman"):
        if shutil.which(runtime) is None:
            continue
        answer = subprocess.run([runtime, "info"], capture_output=True, text=True, timeout=60)
        if answer.returncode == 0:
            return runtime
    return None


@pytest.mark.slow
def test_the_image_builds_and_runs_help_as_a_non_root_user():
    runtime = _container_runtime()
    if runtime is None:
        pytest.skip("no container engine answers here (`docker info` fails); see README Deploy")
    tag = "mlops-maturity-bot:test"
    built = subprocess.run(
        [runtime, "build", "-t", tag, "."], cwd=ROOT, capture_output=True, text=True, timeout=1800
    )
    assert built.returncode == 0, built.stderr[-4000:]
    shown = subprocess.run(
        [runtime, "run", "--rm", tag, "--help"], capture_output=True, text=True, timeout=120
    )
    assert shown.returncode == 0 and "usage: mlops-bot" in shown.stdout
    for name in SUBCOMMANDS:
        assert name in shown.stdout
    uid = subprocess.run(
        [runtime, "run", "--rm", "--entrypoint", "id", tag, "-u"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert uid.stdout.strip() not in ("", "0")
