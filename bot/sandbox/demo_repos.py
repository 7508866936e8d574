"""`--demo`'s Git repositories: a few teams' code on local disk, so `/mlops evidence` and the
level card show real evidence in the sandbox without any network.

Each repository is made with the `git` binary (`git init`, one commit) from the files below
and connected to its team as a `file://` URL, which only the sandbox and tests allow
(EVIDENCE_ALLOW_FILE_URLS); the evidence core then reads it exactly as it reads a remote one.
The files are small but real: DVC-tracked data, training code that logs to MLflow and
registers a model, an Airflow DAG, CI that trains on a schedule, and the traps that must not
count (Git LFS, a drift script under `examples/`).
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path

from sqlalchemy.engine import make_url

_DVC_LOCK = """schema: '2.0'
stages:
  train:
    cmd: python train.py
    outs:
    - path: models/model.pkl
      md5: 3f2a9b8c7d6e5f4a3b2c1d0e9f8a7b6c
"""
_TRAIN = """import mlflow

mlflow.set_experiment("{slug}-train")
mlflow.autolog()


def train(data):
    with mlflow.start_run():
        model = fit(data)
        mlflow.log_metric("auc", 0.91)
        mlflow.sklearn.log_model(model, "model", registered_model_name="{slug}")
    return model
"""
_DAG = """from airflow import DAG
from airflow.operators.python import PythonOperator

from train import train

with DAG("{slug}_training", schedule="@daily") as dag:
    PythonOperator(task_id="train", python_callable=train)
"""
_CI = """name: train
on:
  push:
    branches: [main]
  schedule:
    - cron: "0 3 * * 1"
jobs:
  train:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - run: pip install -r requirements.txt
      - run: dvc repro && python train.py
      - run: python evaluate.py --promote
"""
_LINT_CI = """name: lint
on: [push]
jobs:
  lint:
    runs-on: ubuntu-latest
    steps:
      - run: ruff check .
"""
_FEATURE_STORE = """project: {slug}
registry: data/registry.db
provider: local
"""
_FEATURES = """from feast import Entity, FeatureView, Field

customer = Entity(name="customer", join_keys=["customer_id"])
customer_features = FeatureView(name="customer_features", entities=[customer], schema=[])
"""
_DRIFT_JOB = """apiVersion: batch/v1
kind: CronJob
metadata:
  name: {slug}-drift
spec:
  schedule: "0 * * * *"
  jobTemplate:
    spec:
      template:
        spec:
          containers:
            - name: drift
              image: registry.example/{slug}:latest
              command: ["python", "monitoring/drift.py"]
"""
_DRIFT = """from evidently.report import Report
from evidently.metric_preset import DataDriftPreset

report = Report(metrics=[DataDriftPreset()])
"""
_CANARY = """apiVersion: serving.kserve.io/v1beta1
kind: InferenceService
metadata:
  name: {slug}
spec:
  predictor:
    canaryTrafficPercent: 10
    model:
      modelFormat:
        name: sklearn
"""

# Team name -> files. Search Ranking shows everything; Fraud ML the first level and CI;
# Computer Vision only traps, so its evidence says "not found" rather than anything false.
DEMO_REPOS: dict[str, dict[str, str]] = {
    "Search Ranking": {
        ".dvc/config": "[core]\n    remote = storage\n",
        "dvc.lock": _DVC_LOCK,
        "train.py": _TRAIN,
        "dags/training.py": _DAG,
        ".github/workflows/train.yml": _CI,
        "features/feature_store.yaml": _FEATURE_STORE,
        "features/definitions.py": _FEATURES,
        "monitoring/drift.py": _DRIFT,
        "k8s/drift-cronjob.yaml": _DRIFT_JOB,
        "k8s/inference.yaml": _CANARY,
        "requirements.txt": "mlflow\nscikit-learn\nevidently\nfeast\n",
    },
    "Fraud ML": {
        ".dvc/config": "[core]\n    remote = storage\n",
        "dvc.lock": _DVC_LOCK,
        "train.py": _TRAIN,
        "dags/training.py": _DAG,
        ".github/workflows/train.yml": _CI,
        "requirements.txt": "mlflow\nscikit-learn\n",
    },
    "Computer Vision": {
        ".gitattributes": "*.pt filter=lfs diff=lfs merge=lfs -text\n",
        "examples/drift_demo.py": _DRIFT,
        ".github/workflows/lint.yml": _LINT_CI,
        "requirements.txt": "torch\nmlflow\nevidently\n",
        "Makefile": "train:\n\tpython train.py\n",
    },
}

_GIT_ENV = {
    "GIT_AUTHOR_NAME": "Sandbox",
    "GIT_AUTHOR_EMAIL": "sandbox@sandbox.example",
    "GIT_COMMITTER_NAME": "Sandbox",
    "GIT_COMMITTER_EMAIL": "sandbox@sandbox.example",
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_TERMINAL_PROMPT": "0",
}


def slug(name: str) -> str:
    return "-".join(name.lower().split())


def make_repository(directory: Path, team: str, files: dict[str, str]) -> Path:
    """A Git repository with `files` in one commit on `main`; made once, kept if it exists."""
    repo = directory / f"{slug(team)}.git"
    if (repo / ".git").is_dir():
        return repo
    repo.mkdir(parents=True, exist_ok=True)
    for path, text in files.items():
        target = repo / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text.replace("{slug}", slug(team).replace("-", "_")))
    env = {**os.environ, **_GIT_ENV, "HOME": str(directory)}

    def git(*args: str) -> None:
        subprocess.run(
            ["git", "-c", "core.hooksPath=/dev/null", *args],
            cwd=repo,
            env=env,
            check=True,
            capture_output=True,
            timeout=30,
        )

    git("init", "-q", "-b", "main")
    git("config", "uploadpack.allowFilter", "true")  # partial clones over file://, as a server
    git("add", "-A")
    git("commit", "-q", "-m", f"{team}: training, pipelines and CI")
    return repo


def make_repositories(directory: Path) -> dict[str, str]:
    """Every demo repository under `directory`; team name -> its `file://` URL."""
    return {
        team: make_repository(directory, team, files).resolve().as_uri()
        for team, files in DEMO_REPOS.items()
    }


def demo_repos_dir(database_url: str) -> Path:
    """Where the demo keeps its repositories: beside a SQLite file, so they live as long as the
    data that points at them; elsewhere in a temporary directory."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        database = Path(url.database)
        return database.with_name(database.stem + "-demo-repos")
    return Path(tempfile.gettempdir()) / "mlops-bot-demo-repos"
