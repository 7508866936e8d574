"""A real MLflow tracking server for the tests, from a virtual environment of its own.

The bot never imports mlflow (bot.evidence.mlflow speaks plain HTTP); the tests need the real
server. `mlflow` cannot share the project's environment: mlflow 3.17 requires gunicorn<27
and the bot locks gunicorn 27 (`mlops-bot web --workers`). So the server runs from
`.venv-mlflow` (MLFLOW_VENV to put it elsewhere), made on first use with the pinned
version and reused afterwards (`make mlflow-venv` makes it ahead of time).

Started on loopback with a SQLite store, seeded only through its REST API.
"""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MLFLOW_VERSION = "3.17.2"
"""3.18.0 does not install here (its matching mlflow-skinny is not on the index)."""


def venv() -> Path:
    return Path(os.environ.get("MLFLOW_VENV") or ROOT / ".venv-mlflow")


def ensure_venv() -> Path:
    """The mlflow executable, installing it into its own environment the first time."""
    home = venv()
    executable = home / "bin" / "mlflow"
    stamp = home / f".mlflow-{MLFLOW_VERSION}"
    if stamp.exists() and executable.exists():
        return executable
    home.parent.mkdir(parents=True, exist_ok=True)
    with open(home.parent / ".mlflow-venv.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # pytest-xdist workers or two suites at once
        if not (stamp.exists() and executable.exists()):
            subprocess.run([sys.executable, "-m", "venv", str(home)], check=True)
            subprocess.run(
                [str(home / "bin" / "python"), "-m", "pip", "install", "--quiet",
                 f"mlflow[auth]=={MLFLOW_VERSION}"],
                check=True,
                timeout=1800,
            )  # fmt: skip
            stamp.touch()
    return executable


@dataclass
class MlflowServer:
    url: str
    port: int
    process: subprocess.Popen
    auth: tuple[str, str] | None = None
    log: Path | None = None
    experiments: dict[str, str] = field(default_factory=dict)

    def api(self, method: str, path: str, body: dict | None = None) -> dict:
        request = urllib.request.Request(
            f"{self.url}/api/2.0/mlflow/{path}",
            data=json.dumps(body).encode() if body is not None else None,
            method=method,
            headers={"Content-Type": "application/json"},
        )
        if self.auth:
            import base64

            token = base64.b64encode(f"{self.auth[0]}:{self.auth[1]}".encode()).decode()
            request.add_header("Authorization", f"Basic {token}")
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read() or b"{}")

    def experiment(self, name: str) -> str:
        if name not in self.experiments:
            self.experiments[name] = self.api("POST", "experiments/create", {"name": name})[
                "experiment_id"
            ]
        return self.experiments[name]

    def run(self, experiment: str, started_ms: int) -> str:
        run = self.api(
            "POST",
            "runs/create",
            {"experiment_id": self.experiment(experiment), "start_time": started_ms},
        )["run"]["info"]
        self.api(
            "POST",
            "runs/update",
            {"run_id": run["run_id"], "status": "FINISHED", "end_time": started_ms + 1000},
        )
        return run["run_id"]

    def model(self, name: str, versions: int = 0, alias: str | None = None,
              stage: str | None = None) -> None:  # fmt: skip
        self.api("POST", "registered-models/create", {"name": name})
        for _ in range(versions):
            self.api("POST", "model-versions/create", {"name": name, "source": "s3://m/x"})
        if alias:
            self.api(
                "POST",
                "registered-models/alias",
                {"name": name, "alias": alias, "version": str(versions)},
            )
        if stage:
            self.api(
                "POST",
                "model-versions/transition-stage",
                {"name": name, "version": str(versions), "stage": stage,
                 "archive_existing_versions": False},
            )  # fmt: skip

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)


def start(directory: Path, port: int, *, basic_auth: tuple[str, str] | None = None,
          timeout: float = 120) -> MlflowServer:  # fmt: skip
    """`mlflow server` on 127.0.0.1:port with a SQLite store in `directory`; waits for /health."""
    executable = ensure_venv()
    directory.mkdir(parents=True, exist_ok=True)
    env = {
        "PATH": f"{executable.parent}:/usr/bin:/bin",
        "HOME": str(directory),
        "MLFLOW_DISABLE_TELEMETRY": "true",
        "DO_NOT_TRACK": "true",
        "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false",
    }
    command = [
        str(executable), "server",
        "--backend-store-uri", f"sqlite:///{directory / 'mlflow.db'}",
        "--artifacts-destination", str(directory / "artifacts"),
        "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
    ]  # fmt: skip
    if basic_auth:
        config = directory / "basic_auth.ini"
        config.write_text(
            "[mlflow]\ndefault_permission = READ\n"
            f"database_uri = sqlite:///{directory / 'auth.db'}\n"
            f"admin_username = {basic_auth[0]}\nadmin_password = {basic_auth[1]}\n"
            "authorization_function = mlflow.server.auth:authenticate_request_basic_auth\n"
        )
        env["MLFLOW_AUTH_CONFIG_PATH"] = str(config)
        env["MLFLOW_FLASK_SERVER_SECRET_KEY"] = "test-secret-key"
        command += ["--app-name", "basic-auth"]
    log = directory / "server.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT,
                                   cwd=directory)  # fmt: skip
    server = MlflowServer(f"http://127.0.0.1:{port}", port, process, basic_auth, log)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"mlflow server exited: {log.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(f"{server.url}/health", timeout=2) as response:
                if response.status == 200:
                    return server
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.5)
    server.stop()
    raise RuntimeError(
        f"mlflow server did not answer /health in {timeout} s: {log.read_text()[-2000:]}"
    )
