"""What a repository's files show, per capability: pure functions over paths and texts.

`select(paths)` picks which files are worth reading, most telling first; `detect(paths,
files)` turns what was read into `Signal`s (bot.domain.evidence). Python is parsed with
`ast` and YAML with `yaml.safe_load_all`; nothing is imported or run. Walks over parsed
YAML are bounded (aliases can make a small file a huge graph).

What counts follows docs/evidence.md: a file being present is not a practice. A library
in requirements, a `train` target in a Makefile, a committed model file, Git LFS, `dvc
init` with nothing tracked, lint-only CI, a cron that only runs tests and an orchestrator
used only for ETL count for nothing; anything under examples/, demo, notebooks, docs or
tests is ignored.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator, Mapping
from pathlib import PurePosixPath
from typing import Any

import yaml

from bot.domain.evidence import Signal, Strength

IGNORED_PARTS = {
    "examples", "example", "samples", "sample", "demo", "demos", "notebooks", "notebook",
    "docs", "doc", "tests", "test", "testing", "vendor", "third_party", "node_modules",
    ".venv", "venv", "site-packages", "tutorials", "tutorial", "quickstart",
}  # fmt: skip
YAML_NODE_BUDGET = 20_000

_TRAIN = re.compile(r"(?<![a-z])(re)?train(ing|er|s)?(?![a-z])|\bfit\(|(?<![a-z])retrain", re.I)
_CI_ML = re.compile(
    r"(?<![a-z])(re)?train(ing)?(?![a-z])|train[_-]?\w*\.py|evaluat|eval\.py|dvc\s+(repro|exp)|"
    r"mlflow\s+run|promot|register[_-]?model|cml\s|kfp\b|pipeline\s+run",
    re.I,
)
_DRIFT_LIBS = ("evidently", "whylogs", "nannyml", "alibi_detect")
_ORCHESTRATORS = {
    "airflow": "Airflow DAG",
    "kfp": "Kubeflow pipeline",
    "prefect": "Prefect flow",
    "dagster": "Dagster job",
    "zenml": "ZenML pipeline",
    "metaflow": "Metaflow flow",
    "kedro": "Kedro pipeline",
    "flytekit": "Flyte workflow",
}
_TRACKING_CALLS = re.compile(
    r"^mlflow(\.\w+)?\.(log_\w+|autolog|start_run|set_experiment)$|^wandb\.(init|log)$"
)
_REGISTRY_CALLS = re.compile(
    r"(^|\.)(register_model|create_registered_model|create_model_version|"
    r"set_registered_model_alias|transition_model_version_stage)$"
)
CI_FILES = re.compile(r"^\.github/workflows/[^/]+\.ya?ml$|^\.gitlab-ci\.ya?ml$|(^|/)Jenkinsfile$")


def ignored(path: str) -> bool:
    """Paths that never count: examples, demos, notebooks, docs, tests, vendored code."""
    parts = PurePosixPath(path).parts
    if path.endswith(".ipynb"):
        return True
    return any(
        p.lower() in IGNORED_PARTS or p.lower().startswith(("demo", "example")) for p in parts[:-1]
    )


def _priority(path: str) -> int | None:
    """Lower reads first; None: not worth reading."""
    name = PurePosixPath(path).name.lower()
    if CI_FILES.search(path):
        return 0
    if path in (".dvc/config", "dvc.lock", "dvc.yaml") or name in (
        "dvc.lock",
        "dvc.yaml",
        "feature_store.yaml",
        ".lakefs_ref.yaml",
    ):
        return 0
    if name.endswith(".dvc"):
        return 1
    if name.endswith((".yaml", ".yml")):
        return 2
    if name.endswith(".py"):
        telling = ("train", "pipeline", "dag", "flow", "register", "monitor", "drift", "feature")
        return 3 if any(word in path.lower() for word in telling) else 4
    if name in ("pyproject.toml", "mlproject"):
        return 2
    return None


def select(paths: list[str], scope: str | None = None) -> list[str]:
    """The paths worth reading, most telling first. With `scope` (a folder), only files
    under it, plus the repository-wide CI and DVC configuration."""
    chosen = []
    for path in paths:
        if ignored(path):
            continue
        repo_wide = CI_FILES.search(path) or path.startswith(".dvc/")
        if scope and not repo_wide and not path.startswith(scope.rstrip("/") + "/"):
            continue
        priority = _priority(path)
        if priority is not None:
            chosen.append((priority, path.count("/"), path))
    return [path for *_, path in sorted(chosen)]


# --- Python ----------------------------------------------------------------------------


def _dotted(node: ast.AST, aliases: Mapping[str, str]) -> str:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(aliases.get(node.id, node.id))
    elif isinstance(node, ast.Call):
        parts.append(_dotted(node.func, aliases) + "()")
    return ".".join(reversed(parts))


class _Python:
    """One module's imports, calls and decorators, for the detectors."""

    def __init__(self, path: str, tree: ast.Module) -> None:
        self.path = path
        self.aliases: dict[str, str] = {}
        self.imports: set[str] = set()
        self.calls: list[tuple[str, ast.Call]] = []
        self.decorators: list[tuple[str, int]] = []
        self.bases: list[tuple[str, int]] = []
        self.words: set[str] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    self.imports.add(alias.name.split(".")[0])
                    self.aliases[alias.asname or alias.name.split(".")[0]] = (
                        alias.name if alias.asname else alias.name.split(".")[0]
                    )
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                self.imports.add(node.module.split(".")[0])
                for alias in node.names:
                    self.aliases[alias.asname or alias.name] = f"{node.module}.{alias.name}"
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                self.calls.append((_dotted(node.func, self.aliases), node))
            elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                self.words.add(node.name)
                for decorator in node.decorator_list:
                    target = decorator.func if isinstance(decorator, ast.Call) else decorator
                    self.decorators.append((_dotted(target, self.aliases), node.lineno))
                if isinstance(node, ast.ClassDef):
                    for base in node.bases:
                        self.bases.append((_dotted(base, self.aliases), node.lineno))
            elif isinstance(node, ast.Constant) and isinstance(node.value, str):
                if len(node.value) < 200:
                    self.words.add(node.value)
            elif isinstance(node, ast.Name):
                self.words.add(node.id)
            elif isinstance(node, ast.Attribute):
                self.words.add(node.attr)

    def mentions_training(self) -> bool:
        return any(_TRAIN.search(word) for word in self.words) or any(
            name.endswith((".fit", ".train")) for name, _ in self.calls
        )

    def call_kwargs(self, call: ast.Call) -> set[str]:
        return {k.arg for k in call.keywords if k.arg}


def _python_signals(module: _Python) -> Iterator[Signal]:
    path = module.path
    for name, call in module.calls:
        if _TRACKING_CALLS.search(name):
            yield Signal("experiment_tracking", Strength.STRONG, name, path, call.lineno)
        if _REGISTRY_CALLS.search(name) and (
            "mlflow" in name or "client" in name.lower() or "MlflowClient" in name
        ):
            yield Signal(
                "model_registry", Strength.STRONG, name.rsplit(".", 1)[-1], path, call.lineno
            )
        elif "registered_model_name" in module.call_kwargs(call):
            yield Signal(
                "model_registry", Strength.STRONG, "registered_model_name=", path, call.lineno
            )
        if name.endswith("FeatureView") and "feast" in module.imports:
            yield Signal("feature_store", Strength.WEAK, "Feast FeatureView", path, call.lineno)
    trains = module.mentions_training()
    schedule = _python_schedule(module)
    orchestrator = _orchestrator(module)
    if orchestrator and trains:
        what, line = orchestrator
        yield Signal("automated_training", Strength.STRONG, f"{what} that trains", path, line)
        if schedule:
            yield Signal(
                "automated_retraining",
                Strength.STRONG,
                f"{what} on schedule {schedule[0]!r}",
                path,
                schedule[1],
            )
    drift = sorted(module.imports & set(_DRIFT_LIBS))
    if drift:
        if orchestrator and schedule:
            yield Signal(
                "drift_monitoring",
                Strength.STRONG,
                f"{drift[0]} in a scheduled {orchestrator[0]}",
                path,
                schedule[1],
            )
        else:
            yield Signal("drift_monitoring", Strength.WEAK, f"{drift[0]} check", path)


def _orchestrator(module: _Python) -> tuple[str, int] | None:
    imports = module.imports
    for name, line in module.decorators:
        root = name.split(".")[0]
        if root in _ORCHESTRATORS and (
            name.endswith((".dag", ".pipeline", ".flow", ".job", ".workflow", ".asset"))
        ):
            return _ORCHESTRATORS[root], line
    for name, line in module.bases:
        if name.startswith("metaflow.") and name.endswith("FlowSpec"):
            return _ORCHESTRATORS["metaflow"], line
    for name, call in module.calls:
        root = name.split(".")[0]
        if root == "airflow" and name.endswith(".DAG"):
            return _ORCHESTRATORS["airflow"], call.lineno
        if root == "kedro" and name.endswith((".pipeline", ".Pipeline")):
            return _ORCHESTRATORS["kedro"], call.lineno
    if "airflow" in imports and any(n.endswith("DAG") for n, _ in module.calls):
        return _ORCHESTRATORS["airflow"], 1
    return None


def _python_schedule(module: _Python) -> tuple[str, int] | None:
    """An Airflow/Prefect/Dagster schedule given in the code (not None, not "@once")."""
    for name, call in module.calls:
        for keyword in call.keywords:
            if keyword.arg in ("schedule", "schedule_interval", "cron", "cron_schedule"):
                value = keyword.value
                if isinstance(value, ast.Constant):
                    if value.value in (None, "@once", "None", ""):
                        continue
                    return str(value.value), call.lineno
                return ast.unparse(value)[:60], call.lineno
        if name.endswith(("ScheduleDefinition", "CronSchedule", "CronTrigger")):
            return name.rsplit(".", 1)[-1], call.lineno
    return None


# --- YAML ------------------------------------------------------------------------------


def _load_yaml(text: str) -> list[Any]:
    try:
        return [doc for doc in yaml.safe_load_all(text) if doc is not None]
    except (yaml.YAMLError, RecursionError, ValueError):
        return []


def _walk(node: Any, budget: list[int], seen: set[int] | None = None) -> Iterator[Any]:
    """Every node of a parsed YAML document, each container once, within a budget."""
    seen = set() if seen is None else seen
    stack = [node]
    while stack and budget[0] > 0:
        item = stack.pop()
        budget[0] -= 1
        if isinstance(item, dict | list):
            if id(item) in seen:
                continue
            seen.add(id(item))
            yield item
            stack.extend(item.values() if isinstance(item, dict) else item)
        else:
            yield item


def _strings(node: Any) -> list[str]:
    return [s for s in _walk(node, [YAML_NODE_BUDGET]) if isinstance(s, str)]


def _ci_signals(path: str, text: str, docs: list[Any]) -> Iterator[Signal]:
    if path.endswith("Jenkinsfile"):
        commands = [line for line in text.splitlines() if re.search(r"\bsh\b|\bbat\b", line)]
        scheduled = bool(re.search(r"triggers\s*\{[^}]*cron", text, re.S))
    else:
        doc = docs[0] if docs and isinstance(docs[0], dict) else {}
        commands = _ci_commands(doc)
        triggers = doc.get("on", doc.get(True, {}))  # YAML 1.1 reads `on:` as True
        scheduled = (isinstance(triggers, dict) and "schedule" in triggers) or (
            "schedules" in text and path.endswith(".gitlab-ci.yml")
        )
    ml = [c for c in commands if _CI_ML.search(c)]
    if ml:
        yield Signal("cicd", Strength.STRONG, f"CI step `{_short(ml[0])}`", path)
        if scheduled and any(_TRAIN.search(c) or "dvc repro" in c for c in ml):
            yield Signal("automated_retraining", Strength.STRONG, "scheduled CI that trains", path)


def _ci_commands(doc: Any) -> list[str]:
    commands = []
    for node in _walk(doc, [YAML_NODE_BUDGET]):
        if isinstance(node, dict):
            for key in ("run", "script", "before_script", "after_script", "uses", "name"):
                value = node.get(key)
                if key == "name" and "run" not in node and "uses" not in node:
                    continue
                if isinstance(value, str):
                    commands.append(value)
                elif isinstance(value, list):
                    commands.extend(v for v in value if isinstance(v, str))
    return commands


def _short(command: str) -> str:
    line = next((x.strip() for x in command.splitlines() if _CI_ML.search(x)), command.strip())
    return line[:80]


def _k8s_signals(path: str, docs: list[Any]) -> Iterator[Signal]:
    for doc in docs:
        if not isinstance(doc, dict):
            continue
        kind = str(doc.get("kind", ""))
        text = " ".join(_strings(doc))
        if kind == "CronJob" and _TRAIN.search(text):
            yield Signal("automated_retraining", Strength.STRONG, "CronJob that trains", path)
            yield Signal("automated_training", Strength.STRONG, "CronJob that trains", path)
        if kind == "CronJob" and any(lib in text.lower() for lib in _DRIFT_LIBS + ("drift",)):
            yield Signal("drift_monitoring", Strength.STRONG, "scheduled drift check", path)
        if kind == "InferenceService" and "canaryTrafficPercent" in _keys(doc):
            yield Signal("ab_testing", Strength.STRONG, "KServe canaryTrafficPercent", path)
        if kind == "SeldonDeployment":
            predictors = (doc.get("spec") or {}).get("predictors") or []
            if (
                isinstance(predictors, list)
                and sum(1 for p in predictors if isinstance(p, dict) and p.get("traffic")) >= 2
            ):
                yield Signal("ab_testing", Strength.STRONG, "Seldon traffic split", path)
        if kind == "Experiment" and "seldon" in str(doc.get("apiVersion", "")):
            yield Signal("ab_testing", Strength.STRONG, "Seldon Experiment", path)
        if (
            kind in ("Rollout", "VirtualService")
            and re.search(r"model|predict|inference|serving", text, re.I)
            and ({"setWeight", "weight"} & _keys(doc))
        ):
            yield Signal("ab_testing", Strength.STRONG, f"{kind} weights for a model", path)
        if (kind in ("Workflow", "CronWorkflow") or "pipelineSpec" in doc) and _TRAIN.search(text):
            what = "Kubeflow pipeline" if "pipelineSpec" in doc else f"Argo {kind}"
            yield Signal("automated_training", Strength.STRONG, f"{what} that trains", path)
            if kind == "CronWorkflow":
                yield Signal(
                    "automated_retraining", Strength.STRONG, f"Argo {kind} that trains", path
                )


def _keys(doc: Any) -> set[str]:
    return {
        k
        for node in _walk(doc, [YAML_NODE_BUDGET])
        if isinstance(node, dict)
        for k in node
        if isinstance(k, str)
    }


def _dvc_tracks(text: str) -> bool:
    """A .dvc file or dvc.lock with outputs that have a hash: data really tracked."""
    for doc in _load_yaml(text):
        for node in _walk(doc, [YAML_NODE_BUDGET]):
            if isinstance(node, dict) and isinstance(node.get("outs"), list):
                for out in node["outs"]:
                    if isinstance(out, dict) and (
                        out.get("md5") or out.get("hash") or out.get("etag")
                    ):
                        return True
    return False


# --- The whole repository --------------------------------------------------------------


def _under(path: str, config: str) -> bool:
    folder = str(PurePosixPath(config).parent)
    return folder == "." or path.startswith(folder + "/")


def _scheduled_commands(files: Mapping[str, str]) -> list[str]:
    """The commands of CI workflows that run on a schedule."""
    commands: list[str] = []
    for path, text in files.items():
        if not CI_FILES.search(path) or path.endswith("Jenkinsfile"):
            continue
        for doc in _load_yaml(text)[:1]:
            if not isinstance(doc, dict):
                continue
            triggers = doc.get("on", doc.get(True, {}))
            if (isinstance(triggers, dict) and "schedule" in triggers) or "schedules" in text:
                commands.extend(_ci_commands(doc))
    return commands


def _run_by(path: str, commands: list[str]) -> bool:
    """A scheduled command runs this file (by path, or as a module with -m)."""
    module = path.removesuffix(".py").replace("/", ".")
    return any(path in c or f"-m {module}" in c for c in commands)


def detect(paths: list[str], files: Mapping[str, str]) -> list[Signal]:
    """Signals from a repository: `paths` is every path in the tree, `files` what was read."""
    signals: list[Signal] = []
    names = set(paths)

    # Data versioning: DVC with tracked outputs, or lakeFS refs. LFS never counts.
    if ".dvc/config" in names:
        tracked = [
            p for p, text in files.items()
            if (p.endswith(".dvc") or PurePosixPath(p).name == "dvc.lock") and not ignored(p)
            and _dvc_tracks(text)
        ]  # fmt: skip
        if tracked:
            signals.append(
                Signal("data_versioning", Strength.STRONG, "DVC-tracked outputs", tracked[0])
            )
    for path in files:
        if PurePosixPath(path).name == ".lakefs_ref.yaml" and not ignored(path):
            signals.append(Signal("data_versioning", Strength.STRONG, "lakeFS ref", path))

    feature_repos = [
        p for p, text in files.items()
        if PurePosixPath(p).name == "feature_store.yaml" and not ignored(p)
        and any(isinstance(d, dict) and "project" in d for d in _load_yaml(text))
    ]  # fmt: skip

    scheduled = _scheduled_commands(files)
    for path, text in files.items():
        if ignored(path):
            continue
        name = PurePosixPath(path).name
        if name.endswith(".py"):
            try:
                tree = ast.parse(text, filename=path)
            except (SyntaxError, ValueError, RecursionError, MemoryError):
                continue
            module = _Python(path, tree)
            drift = sorted(module.imports & set(_DRIFT_LIBS))
            if drift and _run_by(path, scheduled):
                signals.append(
                    Signal(
                        "drift_monitoring",
                        Strength.STRONG,
                        f"{drift[0]} in a scheduled CI job",
                        path,
                    )
                )
            for signal in _python_signals(module):
                if signal.capability_id == "feature_store":
                    near = [f for f in feature_repos if _under(path, f)]
                    if near:
                        signal = Signal(
                            "feature_store",
                            Strength.STRONG,
                            "Feast feature_store.yaml with FeatureView",
                            path,
                            signal.line,
                        )
                signals.append(signal)
        elif name in ("dvc.yaml",):
            for doc in _load_yaml(text):
                stages = doc.get("stages") if isinstance(doc, dict) else None
                if isinstance(stages, dict):
                    for stage, spec in stages.items():
                        cmd = " ".join(_strings(spec))
                        if _TRAIN.search(str(stage)) or _TRAIN.search(cmd):
                            signals.append(
                                Signal(
                                    "automated_training",
                                    Strength.STRONG,
                                    f"DVC stage `{stage}` that trains",
                                    path,
                                )
                            )
                            break
        elif CI_FILES.search(path):
            docs = [] if name == "Jenkinsfile" else _load_yaml(text)
            signals.extend(_ci_signals(path, text, docs))
        elif name.endswith((".yaml", ".yml")):
            signals.extend(_k8s_signals(path, _load_yaml(text)))
        elif name == "MLproject":
            signals.append(Signal("experiment_tracking", Strength.WEAK, "MLproject", path))
    if any(p.startswith("mlruns/") or "/mlruns/" in p for p in paths if not ignored(p)):
        signals.append(Signal("experiment_tracking", Strength.WEAK, "committed mlruns/", "mlruns/"))
    return signals
