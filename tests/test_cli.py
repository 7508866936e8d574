"""The console script as an operator runs it: real processes, real ports."""

import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from bot.migrate import upgrade
from tests.conftest import BOT_TOKEN, free_port, fresh_sqlite_url
from tests.signed_client import SlackClient

pytestmark = pytest.mark.slow  # runs the console script as real processes

SUBCOMMANDS = ["run", "web", "socket", "worker", "migrate", "sandbox"]
SLACK_VARS = (
    "SLACK_BOT_TOKEN",
    "SLACK_SIGNING_SECRET",
    "SLACK_APP_TOKEN",
    "SLACK_CLIENT_ID",
    "SLACK_CLIENT_SECRET",
    "DATABASE_URL",
    "SLACK_API_URL",
    "PORT",
)


def clean_env(**extra) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in SLACK_VARS}
    env.update(extra)
    return env


def mlops_bot(*args, cwd, env, timeout=60):
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.mark.parametrize("sub", [None, *SUBCOMMANDS])
def test_every_subcommand_has_help(sub, tmp_path):
    args = ["--help"] if sub is None else [sub, "--help"]
    result = mlops_bot(*args, cwd=tmp_path, env=clean_env())
    assert result.returncode == 0
    assert "usage: mlops-bot" in result.stdout
    if sub is None:
        for name in SUBCOMMANDS:
            assert name in result.stdout


@pytest.mark.parametrize("sub", ["web", "worker", "socket"])
def test_missing_credentials_stop_at_once_with_one_clear_line(sub, tmp_path):
    started = time.monotonic()
    result = mlops_bot(sub, cwd=tmp_path, env=clean_env(), timeout=30)
    assert result.returncode == 2
    assert time.monotonic() - started < 15
    assert "Traceback" not in result.stderr
    assert "SLACK_BOT_TOKEN is not set" in result.stderr
    assert "api.slack.com/apps" in result.stderr
    assert not list(tmp_path.glob("*.db")), "nothing may be created before the config is valid"


def wait_for_page(url: str, process: subprocess.Popen, timeout: float = 30) -> str:
    deadline = time.monotonic() + timeout
    while True:
        assert process.poll() is None, process.communicate()[0]
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                return response.read().decode()
        except OSError:
            assert time.monotonic() < deadline, "the sandbox page did not come up"
            time.sleep(0.02)


def output_so_far(process: subprocess.Popen) -> str:
    """What the process has written to its stdout pipe until now, without waiting for more."""
    fd = process.stdout.fileno()
    os.set_blocking(fd, False)
    chunks = []
    try:
        while chunk := os.read(fd, 65536):
            chunks.append(chunk)
    except BlockingIOError:
        pass
    finally:
        os.set_blocking(fd, True)
    return b"".join(chunks).decode()


@pytest.mark.parametrize("args", [["run"], ["sandbox", "--demo"]])
def test_without_credentials_run_starts_the_sandbox_in_the_browser(args, tmp_path):
    """`make run` with nothing configured shows the bot instead of an error."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", *args, "--port", str(port)],
        cwd=tmp_path,
        env=clean_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        page = wait_for_page(f"http://127.0.0.1:{port}/", process)
        # The address is printed (and flushed) before the page can answer, not after.
        early = output_so_far(process)
        assert f"open http://localhost:{port}/" in early, "the page answered first"
        assert "MLOps maturity bot" in page and "user-switcher" in page
        state_url = f"http://127.0.0.1:{port}/sandbox/state?user=U0ADA"
        with urllib.request.urlopen(state_url, timeout=5) as response:
            assert json.loads(response.read())["workspace"] == "Sandbox Inc"
    finally:
        process.terminate()
        output, _ = process.communicate(timeout=15)
    output = early + output
    assert f"open http://localhost:{port}/" in output
    assert "with the demo organisation" in output
    assert "Traceback" not in output
    if args == ["run"]:
        assert "SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET are not set" in output
    assert (tmp_path / "mlops-sandbox.db").exists()
    assert not (tmp_path / "mlops-bot.db").exists(), "the sandbox never touches the real database"


def test_socket_needs_app_token(tmp_path):
    env = clean_env(SLACK_BOT_TOKEN="xoxb-1", SLACK_SIGNING_SECRET="s")
    result = mlops_bot("socket", cwd=tmp_path, env=env, timeout=30)
    assert result.returncode == 2
    assert "SLACK_APP_TOKEN" in result.stderr and "Traceback" not in result.stderr


def test_migrate_creates_the_schema(tmp_path):
    url = fresh_sqlite_url(tmp_path)
    result = mlops_bot("migrate", cwd=tmp_path, env=clean_env(DATABASE_URL=url))
    assert result.returncode == 0, result.stderr
    assert "latest schema" in result.stdout
    assert Path(url.removeprefix("sqlite:///")).exists()


def test_web_serves_healthz_and_help(tmp_path, slack):
    url = fresh_sqlite_url(tmp_path)
    upgrade(url)
    port = free_port()
    env = clean_env(
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET="cli-secret",
        SLACK_API_URL=slack.api_url,
        DATABASE_URL=url,
        PORT=str(port),
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "web", "--host", "127.0.0.1"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        client = SlackClient(
            base_url=f"http://127.0.0.1:{port}", signing_secret="cli-secret", fake_slack=slack
        )
        deadline = time.monotonic() + 20
        while True:
            try:
                health = client.get("/healthz")
                break
            except OSError:
                assert time.monotonic() < deadline, "web did not start"
                time.sleep(0.1)
        assert health.status == 200 and health.json()["database"] is True

        started = time.monotonic()
        response = client.command("help")
        assert response.status == 200
        (reply,) = slack.wait_for("response_url", timeout=3)
        assert time.monotonic() - started < 3
        assert "/mlops assess" in json.dumps(reply.args["blocks"])

        forged = client.post(
            b"command=%2Fmlops&text=help",
            "application/x-www-form-urlencoded",
            signature="v0=forged",
        )
        assert forged.status == 401
    finally:
        process.terminate()
        process.wait(timeout=10)
