"""What a platform engineer checks before adopting the bot: the suite, the lock file, the
licence, the container image and the compose file."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

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
