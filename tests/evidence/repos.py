"""Repositories for the evidence tests: one per capability, and one per trap.

Each is a mapping of path -> text (or bytes, or `Symlink`); `build` makes it a real Git
repository served as a bare one with partial clone allowed. EXPECTED says what each shows.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

from bot.domain.evidence import Strength

STRONG, WEAK, NONE = Strength.STRONG, Strength.WEAK, Strength.NONE


@dataclass(frozen=True)
class Symlink:
    target: str


TRAIN = """\
import mlflow
import mlflow.sklearn
from sklearn.linear_model import LogisticRegression


def main():
    mlflow.set_experiment("fraud")
    with mlflow.start_run():
        model = LogisticRegression().fit([[0], [1]], [0, 1])
        mlflow.log_metric("auc", 0.91)
        mlflow.sklearn.log_model(model, "model", registered_model_name="fraud-detector")


if __name__ == "__main__":
    main()
"""

REGISTER = """\
from mlflow import MlflowClient
import mlflow

result = mlflow.register_model("runs:/abc/model", "fraud-detector")
MlflowClient().set_registered_model_alias("fraud-detector", "champion", result.version)
"""

AIRFLOW_DAG = """\
from datetime import datetime

from airflow import DAG
from airflow.operators.python import PythonOperator


def train_model():
    pass


with DAG("fraud_training", start_date=datetime(2026, 1, 1), schedule="@weekly") as dag:
    PythonOperator(task_id="train", python_callable=train_model)
"""

ETL_DAG = """\
from datetime import datetime

from airflow import DAG
from airflow.operators.bash import BashOperator

with DAG("nightly_etl", start_date=datetime(2026, 1, 1), schedule="@daily") as dag:
    BashOperator(task_id="copy_tables", bash_command="python etl/copy.py")
"""

CI_TRAIN = """\
name: train
on:
  push:
    branches: [main]
jobs:
  train:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - run: pip install -r requirements.txt
      - run: python train/train.py
      - run: python evaluate.py --min-auc 0.9
"""

CI_LINT = """\
name: lint
on: [push, pull_request]
jobs:
  lint:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - run: pip install ruff && ruff check .
      - run: pytest -q
"""

CI_RETRAIN = """\
name: retrain
on:
  schedule:
    - cron: "0 3 * * 1"
jobs:
  retrain:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - run: dvc repro train
"""

CI_SCHEDULED_TESTS = """\
name: nightly tests
on:
  schedule:
    - cron: "0 2 * * *"
jobs:
  tests:
    runs-on: ubuntu-latest
    steps:
      - run: pytest -q
"""

CI_DRIFT = """\
name: drift
on:
  schedule:
    - cron: "0 6 * * *"
jobs:
  drift:
    runs-on: ubuntu-latest
    steps:
      - run: python monitoring/drift.py
"""

DRIFT = """\
from evidently.report import Report
from evidently.metric_preset import DataDriftPreset

report = Report(metrics=[DataDriftPreset()])
"""

FEATURE_STORE_YAML = """\
project: fraud
registry: data/registry.db
provider: local
online_store:
  type: sqlite
"""

FEATURES = """\
from datetime import timedelta

from feast import Entity, FeatureView, Field, FileSource
from feast.types import Float32

customer = Entity(name="customer", join_keys=["customer_id"])
stats = FeatureView(
    name="customer_stats",
    entities=[customer],
    ttl=timedelta(days=1),
    schema=[Field(name="spend", dtype=Float32)],
    source=FileSource(path="data/stats.parquet", timestamp_field="ts"),
)
"""

KSERVE = """\
apiVersion: serving.kserve.io/v1beta1
kind: InferenceService
metadata:
  name: fraud-model
spec:
  predictor:
    canaryTrafficPercent: 10
    model:
      modelFormat:
        name: sklearn
      storageUri: s3://models/fraud/v2
"""

DVC_CONFIG = "[core]\n    remote = storage\n['remote \"storage\"']\n    url = s3://bucket/dvc\n"
DATA_DVC = "outs:\n- md5: 3f2a1c9e8b7d6a5f4e3d2c1b0a998877\n  size: 1024\n  path: data.csv\n"
DVC_YAML = """\
stages:
  prepare:
    cmd: python prepare.py
  train:
    cmd: python train/train.py
    deps: [data.csv]
    outs: [model.pkl]
"""

SETUP_PY = """\
from pathlib import Path

Path({marker!r}).write_text("setup.py ran")
"""

REPOS: dict[str, dict[str, object]] = {
    "tracking": {"train/train.py": TRAIN, "requirements.txt": "mlflow==2.17\n"},
    "requirements_only": {"requirements.txt": "mlflow==2.17\nwandb\n", "src/app.py": "print(1)\n"},
    "registry": {"register.py": REGISTER},
    "model_file_only": {"models/model.pkl": b"\x80\x04pickle", "serve.py": "import pickle\n"},
    "dvc": {".dvc/config": DVC_CONFIG, "data.csv.dvc": DATA_DVC, ".dvcignore": ""},
    "dvc_init_only": {".dvc/config": "[core]\n", ".dvcignore": ""},
    "lfs_only": {
        ".gitattributes": "*.csv filter=lfs diff=lfs merge=lfs -text\n",
        "data.csv": "version https://git-lfs.github.com/spec/v1\noid sha256:abc\nsize 99\n",
    },
    "pipeline": {"dags/fraud_training.py": AIRFLOW_DAG},
    "dvc_stages": {".dvc/config": DVC_CONFIG, "dvc.yaml": DVC_YAML},
    "etl_only": {"dags/etl.py": ETL_DAG, "Makefile": "train:\n\tpython train.py\n"},
    "ci": {".github/workflows/train.yml": CI_TRAIN},
    "lint_ci": {".github/workflows/lint.yml": CI_LINT},
    "retrain": {".github/workflows/retrain.yml": CI_RETRAIN},
    "scheduled_tests": {".github/workflows/nightly.yml": CI_SCHEDULED_TESTS},
    "feature_store": {
        "features/feature_store.yaml": FEATURE_STORE_YAML,
        "features/definitions.py": FEATURES,
    },
    "feast_quickstart": {
        "examples/quickstart/feature_store.yaml": FEATURE_STORE_YAML,
        "examples/quickstart/definitions.py": FEATURES,
    },
    "drift": {".github/workflows/drift.yml": CI_DRIFT, "monitoring/drift.py": DRIFT},
    "demo_drift": {"examples/drift_demo.py": DRIFT, "demo/drift.py": DRIFT},
    "ab_testing": {"deploy/fraud.yaml": KSERVE},
}

EXPECTED = [
    ("tracking", "experiment_tracking", STRONG),
    ("tracking", "model_registry", STRONG),  # registered_model_name=
    ("requirements_only", "experiment_tracking", NONE),
    ("registry", "model_registry", STRONG),
    ("model_file_only", "model_registry", NONE),
    ("dvc", "data_versioning", STRONG),
    ("dvc_init_only", "data_versioning", NONE),
    ("lfs_only", "data_versioning", NONE),
    ("pipeline", "automated_training", STRONG),
    ("pipeline", "automated_retraining", STRONG),
    ("dvc_stages", "automated_training", STRONG),
    ("etl_only", "automated_training", NONE),
    ("etl_only", "automated_retraining", NONE),
    ("ci", "cicd", STRONG),
    ("ci", "automated_retraining", NONE),
    ("lint_ci", "cicd", NONE),
    ("retrain", "automated_retraining", STRONG),
    ("retrain", "cicd", STRONG),
    ("scheduled_tests", "automated_retraining", NONE),
    ("scheduled_tests", "cicd", NONE),
    ("feature_store", "feature_store", STRONG),
    ("feast_quickstart", "feature_store", NONE),
    ("drift", "drift_monitoring", STRONG),
    ("demo_drift", "drift_monitoring", NONE),
    ("ab_testing", "ab_testing", STRONG),
]


def git(*args: str, cwd: Path | str) -> str:
    return subprocess.run(
        ["git", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "HOME": str(cwd), "GIT_CONFIG_NOSYSTEM": "1"},
    ).stdout.strip()


def build(base: Path, name: str, files: dict[str, object]) -> Path:
    """A bare repository `base/name.git` holding `files` in one commit on `main`, with
    partial clone allowed (as a Git host serves it)."""
    work = base / f"{name}-work"
    work.mkdir(parents=True)
    git("init", "-q", "-b", "main", cwd=work)
    write(work, files)
    commit(work, "initial")
    bare = base / f"{name}.git"
    git("clone", "-q", "--bare", str(work), str(bare), cwd=base)
    git("config", "uploadpack.allowFilter", "true", cwd=bare)
    git("config", "uploadpack.allowAnySHA1InWant", "true", cwd=bare)
    return bare


def write(work: Path, files: dict[str, object]) -> None:
    for path, content in files.items():
        target = work / path
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, Symlink):
            target.symlink_to(content.target)
        elif isinstance(content, bytes):
            target.write_bytes(content)
        else:
            target.write_text(str(content))


def commit(work: Path, message: str) -> str:
    git("add", "-A", cwd=work)
    git(
        "-c",
        "user.name=t",
        "-c",
        "user.email=t@example.com",
        "commit",
        "-q",
        "-m",
        message,
        cwd=work,
    )
    return git("rev-parse", "HEAD", cwd=work)


def push(work: Path, bare: Path) -> None:
    git("push", "-q", str(bare), "main", cwd=work)
