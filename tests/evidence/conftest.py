"""Real things for the evidence tests: Git repositories behind a loopback `git daemon`, and a
real MLflow tracking server (tests/evidence/mlflow_server.py), one per test session."""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.config import Settings
from bot.db import make_session_factory
from tests.conftest import free_port
from tests.evidence import repos


@dataclass
class GitServer:
    base: Path
    port: int
    marker: Path

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    def url(self, name: str) -> str:
        return f"git://127.0.0.1:{self.port}/{name}.git"


def wait_for_port(port: int, process: subprocess.Popen, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}")
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"nothing listened on port {port} within {seconds} s")


TRAPS = "traps"


def trap_files(marker: Path) -> dict[str, object]:
    """A repository that tries every trick: a setup.py that writes `marker` if anything
    runs it, a 3 MB file, symbolic links pointing outside, a demo drift script."""
    return {
        "setup.py": repos.SETUP_PY.format(marker=str(marker)),
        "train/train.py": repos.TRAIN,
        "train/huge_model.py": "WEIGHTS = [\n" + "    0.123456789,\n" * 200_000 + "]\n",
        "train/secret.py": repos.Symlink("/etc/passwd"),
        "deploy/outside.yaml": repos.Symlink("../../../outside.yaml"),
        "examples/drift_demo.py": repos.DRIFT,
        ".gitattributes": "*.bin filter=lfs diff=lfs merge=lfs -text\n",
    }


@pytest.fixture(scope="session")
def git_server(tmp_path_factory) -> Iterator[GitServer]:
    """Every repository of tests/evidence/repos.py, and the traps, over git:// on loopback."""
    base = tmp_path_factory.mktemp("git-served")
    marker = tmp_path_factory.mktemp("marker") / "SETUP_PY_RAN"
    for name, files in repos.REPOS.items():
        repos.build(base, name, files)
    repos.build(base, TRAPS, trap_files(marker))
    port = free_port()
    process = subprocess.Popen(
        [
            "git", "daemon", "--reuseaddr", "--export-all", "--listen=127.0.0.1",
            f"--port={port}", f"--base-path={base}", str(base),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        wait_for_port(port, process)
        yield GitServer(base, port, marker)
    finally:
        process.terminate()
        process.wait(timeout=10)


def evidence_settings(*hosts: str, **overrides) -> Settings:
    return Settings(
        slack_bot_token="xoxb-unused",
        slack_signing_secret="unused",
        evidence_allowed_hosts=frozenset(hosts),
        **overrides,
    )


@pytest.fixture
def session_factory(engine):
    return make_session_factory(engine)
