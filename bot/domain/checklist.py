"""The maturity checklist: what the bot asks, in which order, and why.

The checklist is data, not code, because an organisation may bring its own (a JSON file) and
because every assessment records the checklist version it was run against. The default encodes
the nine capabilities and the six-step progression of Google's MLOps maturity model (see
docs/maturity-model.md); the wording of questions and explanations is ours.

Everything here is plain Python so the rules can be tested and reused without Slack or a
database. A `Checklist` validates itself on construction, so an invalid one cannot exist, and
the loader adds JSON type checks on top with messages that name the offending field.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

__all__ = [
    "DEFAULT_CHECKLIST",
    "Answer",
    "Capability",
    "Checklist",
    "ChecklistError",
    "Step",
    "checklist_from_dict",
    "checklist_to_dict",
    "load_checklist",
]

LEVELS = (1, 2)
"""The levels a capability can be required for. L0 needs nothing, so it is never a value."""

HELP_MAX_CHARS = 199
"""Help text is one line shown under a question; past this it wraps badly in Slack."""

WHY_MAX_CHARS = 600
"""A step's why is one paragraph; longer texts stop being read in a nudge."""

_ID_PATTERN = re.compile(r"[a-z][a-z0-9_]*")


class Answer(StrEnum):
    """A team's answer to one capability question.

    Stored by value, so the strings are part of the database and Slack payload format and must
    not change. Only YES counts toward a level; PARTLY is shown as progress, NOT_SURE is kept
    apart from NO so the bot can follow up instead of treating doubt as absence.
    """

    YES = "yes"
    PARTLY = "partly"
    NO = "no"
    NOT_SURE = "not_sure"


class ChecklistError(ValueError):
    """A checklist definition is invalid; the message names the bad field."""


@dataclass(frozen=True)
class Capability:
    """One thing a team either has in place or not, asked as a single yes/no question.

    `level` is the lowest level that requires the capability (levels are cumulative, so a
    level-1 capability is required for L2 too); `step` places it in the progression order,
    which is also the order the assessment asks questions in.
    """

    id: str
    title: str
    question: str
    help: str
    tools: tuple[str, ...]
    level: int
    step: int


@dataclass(frozen=True)
class Step:
    """One step of the progression strategy: what to do next and why it comes now."""

    number: int
    title: str
    why: str
    tools: tuple[str, ...]
    capability_ids: tuple[str, ...]


@dataclass(frozen=True)
class Checklist:
    """A versioned, validated set of capabilities and the steps that group them.

    `capabilities` is in asking order: by step, then as listed within the step. Each step's
    `capability_ids` lists exactly its capabilities in that same order, so the two views can
    never disagree about what a step covers.
    """

    version: str
    capabilities: tuple[Capability, ...]
    steps: tuple[Step, ...]
    _by_id: Mapping[str, Capability] = field(init=False, repr=False, compare=False)
    _required: Mapping[int, tuple[str, ...]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        _validate(self)
        object.__setattr__(self, "_by_id", {c.id: c for c in self.capabilities})
        required = {
            level: tuple(c.id for c in self.capabilities if c.level <= level) for level in LEVELS
        }
        object.__setattr__(self, "_required", required)

    @property
    def ids(self) -> tuple[str, ...]:
        """Capability ids in asking order."""
        return tuple(c.id for c in self.capabilities)

    def capability(self, capability_id: str) -> Capability:
        """Look up a capability; KeyError for an id this checklist does not define."""
        try:
            return self._by_id[capability_id]
        except KeyError:
            raise KeyError(
                f"unknown capability {capability_id!r} in checklist {self.version!r}"
            ) from None

    def step(self, number: int) -> Step:
        """Look up a step by its number (1-based); KeyError if there is no such step."""
        if isinstance(number, int) and 1 <= number <= len(self.steps):
            return self.steps[number - 1]
        raise KeyError(f"unknown step {number!r} in checklist {self.version!r}")

    def required_for(self, level: int) -> tuple[str, ...]:
        """Ids a team must answer YES to be at `level`, in asking order (cumulative)."""
        if level == 0:
            return ()
        try:
            return self._required[level]
        except KeyError:
            raise ValueError(f"unknown level {level!r}; levels are 0, 1 and 2") from None


def _validate(checklist: Checklist) -> None:
    """Enforce the invariants every consumer of a checklist relies on."""
    _require_text(checklist.version, "version")
    if not checklist.capabilities:
        raise ChecklistError("capabilities: must list at least one capability")
    if not checklist.steps:
        raise ChecklistError("steps: must list at least one step")

    for index, step in enumerate(checklist.steps):
        where = f"steps[{index}]"
        if step.number != index + 1:
            raise ChecklistError(
                f"{where}.number: steps must be numbered 1, 2, 3... in order; "
                f"expected {index + 1}, got {step.number!r}"
            )
        _require_text(step.title, f"{where}.title")
        _require_text(step.why, f"{where}.why", multiline=True)
        if len(step.why) > WHY_MAX_CHARS:
            raise ChecklistError(
                f"{where}.why: must be at most {WHY_MAX_CHARS} characters, got {len(step.why)}"
            )
        for t, tool in enumerate(step.tools):
            _require_text(tool, f"{where}.tools[{t}]")

    seen: set[str] = set()
    previous_step = 0
    for index, cap in enumerate(checklist.capabilities):
        where = f"capabilities[{index}]"
        _require_text(cap.id, f"{where}.id")
        if not _ID_PATTERN.fullmatch(cap.id):
            raise ChecklistError(
                f"{where}.id: {cap.id!r} must be snake_case "
                "(lowercase letters, digits and underscores, starting with a letter)"
            )
        if cap.id in seen:
            raise ChecklistError(f"{where}.id: duplicate id {cap.id!r}")
        seen.add(cap.id)
        where = f"{where} ({cap.id})"
        _require_text(cap.title, f"{where}.title")
        _require_text(cap.question, f"{where}.question")
        _require_text(cap.help, f"{where}.help")
        if len(cap.help) > HELP_MAX_CHARS:
            raise ChecklistError(
                f"{where}.help: must be under {HELP_MAX_CHARS + 1} characters, got {len(cap.help)}"
            )
        for t, tool in enumerate(cap.tools):
            _require_text(tool, f"{where}.tools[{t}]")
        if cap.level not in LEVELS or isinstance(cap.level, bool):
            raise ChecklistError(f"{where}.level: must be 1 or 2, got {cap.level!r}")
        if (
            not isinstance(cap.step, int)
            or isinstance(cap.step, bool)
            or not 1 <= cap.step <= len(checklist.steps)
        ):
            raise ChecklistError(
                f"{where}.step: no step {cap.step!r}; steps are 1..{len(checklist.steps)}"
            )
        if cap.step < previous_step:
            raise ChecklistError(
                f"{where}.step: capabilities must be listed in step order (they are asked in "
                f"that order), but step {cap.step} comes after step {previous_step}"
            )
        previous_step = cap.step

    for level in LEVELS:
        if not any(c.level == level for c in checklist.capabilities):
            raise ChecklistError(
                f"capabilities: no capability has level {level}, so L{level} would need "
                "nothing beyond the level below; add at least one"
            )

    for index, step in enumerate(checklist.steps):
        expected = tuple(c.id for c in checklist.capabilities if c.step == step.number)
        for cap_id in step.capability_ids:
            if cap_id not in seen:
                raise ChecklistError(
                    f"steps[{index}].capability_ids: unknown capability id {cap_id!r}"
                )
        if tuple(step.capability_ids) != expected:
            raise ChecklistError(
                f"steps[{index}].capability_ids: must list the capabilities whose step is "
                f"{step.number}, in checklist order: expected {list(expected)}, "
                f"got {list(step.capability_ids)}"
            )


def _require_text(value: object, where: str, *, multiline: bool = False) -> None:
    if not isinstance(value, str) or not value.strip():
        raise ChecklistError(f"{where}: must be a non-empty string, got {value!r}")
    if not multiline and ("\n" in value or "\r" in value):
        raise ChecklistError(f"{where}: must be a single line")


# --- JSON file format -------------------------------------------------------------------------

_TOP_FIELDS = {"version": "str", "capabilities": "list", "steps": "list"}
_CAPABILITY_FIELDS = {
    "id": "str",
    "title": "str",
    "question": "str",
    "help": "str",
    "tools": "str_list",
    "level": "int",
    "step": "int",
}
_STEP_FIELDS = {
    "number": "int",
    "title": "str",
    "why": "str",
    "tools": "str_list",
    "capability_ids": "str_list",
}

_KIND_NAMES = {
    "str": "a string",
    "int": "an integer",
    "list": "a list",
    "str_list": "a list of strings",
}
_KIND_CHECKS: dict[str, Callable[[Any], bool]] = {
    "str": lambda v: isinstance(v, str),
    "int": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "list": lambda v: isinstance(v, list),
    "str_list": lambda v: isinstance(v, list) and all(isinstance(i, str) for i in v),
}


def _fields(obj: object, where: str, spec: Mapping[str, str]) -> dict[str, Any]:
    """Check one JSON object has exactly the fields in `spec`, each of the right JSON type."""
    if not isinstance(obj, dict):
        raise ChecklistError(f"{where or 'checklist'}: must be a JSON object")
    prefix = f"{where}." if where else ""
    unknown = sorted(set(obj) - set(spec))
    if unknown:
        raise ChecklistError(f"{prefix}{unknown[0]}: unknown field (expected: {', '.join(spec)})")
    out: dict[str, Any] = {}
    for name, kind in spec.items():
        if name not in obj:
            raise ChecklistError(f"{prefix}{name}: missing")
        value = obj[name]
        if not _KIND_CHECKS[kind](value):
            raise ChecklistError(f"{prefix}{name}: must be {_KIND_NAMES[kind]}, got {value!r}")
        out[name] = tuple(value) if kind == "str_list" else value
    return out


def checklist_from_dict(data: object) -> Checklist:
    """Build a checklist from parsed JSON, so callers holding a dict skip the file round trip.

    Raises ChecklistError naming the first bad field, e.g. ``capabilities[3].level``.
    """
    top = _fields(data, "", _TOP_FIELDS)
    capabilities = tuple(
        Capability(**_fields(raw, f"capabilities[{i}]", _CAPABILITY_FIELDS))
        for i, raw in enumerate(top["capabilities"])
    )
    steps = tuple(
        Step(**_fields(raw, f"steps[{i}]", _STEP_FIELDS)) for i, raw in enumerate(top["steps"])
    )
    return Checklist(version=top["version"], capabilities=capabilities, steps=steps)


def load_checklist(path: str | os.PathLike[str]) -> Checklist:
    """Load an organisation's own checklist from a JSON file.

    JSON rather than YAML keeps the domain free of extra dependencies; the file has the shape
    `checklist_to_dict` produces, so dumping the default gives a working starting point.
    Every problem, including an unreadable file, is a ChecklistError whose message starts with
    the path, so the command line can print it as is.
    """
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except OSError as e:
        raise ChecklistError(f"{path}: cannot read checklist file: {e.strerror or e}") from e
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise ChecklistError(
            f"{path}: not valid JSON (line {e.lineno}, column {e.colno}): {e.msg}"
        ) from e
    try:
        return checklist_from_dict(data)
    except ChecklistError as e:
        raise ChecklistError(f"{path}: {e}") from e


def checklist_to_dict(checklist: Checklist) -> dict[str, Any]:
    """The JSON-ready form of a checklist, the same shape `load_checklist` reads."""
    return {
        "version": checklist.version,
        "capabilities": [
            {
                "id": c.id,
                "title": c.title,
                "question": c.question,
                "help": c.help,
                "tools": list(c.tools),
                "level": c.level,
                "step": c.step,
            }
            for c in checklist.capabilities
        ],
        "steps": [
            {
                "number": s.number,
                "title": s.title,
                "why": s.why,
                "tools": list(s.tools),
                "capability_ids": list(s.capability_ids),
            }
            for s in checklist.steps
        ],
    }


# --- The default checklist --------------------------------------------------------------------
# Levels and step order come from docs/maturity-model.md. Tool examples for steps 5 and 6 are
# not named by the model; they are common open-source or widely used choices, offered as
# examples only.

DEFAULT_CHECKLIST = Checklist(
    version="default-1",
    capabilities=(
        Capability(
            id="data_versioning",
            title="Data versioning",
            question=(
                "Does your team version its training data and models, so any model can be "
                "traced back to the exact data that produced it?"
            ),
            help="Datasets and model files are tracked by content and commit, not by folder "
            "names like final_v2.",
            tools=("DVC",),
            level=1,
            step=1,
        ),
        Capability(
            id="experiment_tracking",
            title="Experiment tracking",
            question=(
                "Does your team log every training run's parameters, metrics and resulting "
                "model to a shared experiment tracker?"
            ),
            help="Runs are recorded automatically in one place, not in notebooks, "
            "spreadsheets or chat threads.",
            tools=("MLflow", "Weights & Biases"),
            level=1,
            step=2,
        ),
        Capability(
            id="model_registry",
            title="Model registry",
            question=(
                "Does your team keep the models it deploys in a model registry, with versions "
                "and stages?"
            ),
            help="Deployable models are registered with their lineage and stage instead of "
            "being handed over as pickle or ONNX files.",
            tools=("MLflow", "Weights & Biases"),
            level=1,
            step=2,
        ),
        Capability(
            id="automated_training",
            title="Automated training",
            question=(
                "Does your team train models through an orchestrated pipeline that runs from "
                "data to validated model without manual steps?"
            ),
            help="Data preparation, validation, training and evaluation run as one "
            "reproducible pipeline, not a sequence of notebooks run by hand.",
            tools=("Kubeflow", "Airflow"),
            level=1,
            step=3,
        ),
        Capability(
            id="feature_store",
            title="Feature store",
            question=(
                "Does your team get its features from a feature store shared by training and "
                "serving?"
            ),
            help="Each feature is defined once and the same values reach training and "
            "production, so models do not suffer training/serving skew.",
            tools=("Feast",),
            level=1,
            step=4,
        ),
        Capability(
            id="cicd",
            title="CI/CD for ML",
            question=(
                "Does every change to your models or pipelines go through automated tests and "
                "an automated deployment?"
            ),
            help="CI tests code, data and model quality; CD builds and deploys the model, "
            "for example as a canary or shadow release.",
            tools=("GitHub Actions", "GitLab CI", "Jenkins"),
            level=2,
            step=5,
        ),
        Capability(
            id="ab_testing",
            title="A/B testing",
            question=(
                "Can your team compare a new model against the current one on live traffic "
                "with an A/B test?"
            ),
            help="Traffic can be split between model versions and their results compared "
            "before a full rollout.",
            tools=("Seldon Core", "GrowthBook"),
            level=2,
            step=5,
        ),
        Capability(
            id="automated_retraining",
            title="Automated retraining",
            question=(
                "Does your team retrain models automatically when a schedule, data drift or a "
                "drop in performance calls for it?"
            ),
            help="Retraining starts without anyone kicking it off, and the new model passes "
            "the same pipeline and checks as any other.",
            tools=("Airflow", "Kubeflow"),
            level=2,
            step=6,
        ),
        Capability(
            id="drift_monitoring",
            title="Drift monitoring",
            question=(
                "Does your team monitor production inputs and predictions for drift and get "
                "alerted when they shift?"
            ),
            help="Live data and predictions are compared with what the model was trained "
            "on, with alerts on drift or falling performance.",
            tools=("Evidently", "NannyML"),
            level=2,
            step=6,
        ),
    ),
    steps=(
        Step(
            number=1,
            title="Version your data and models",
            why=(
                "Every later step depends on knowing exactly which data and code produced a "
                "model. Versioning data and models with DVC is cheap to start, needs no new "
                "platform, and makes every result reproducible. It is the first move from L0 "
                "to L1, and that move is where most teams get the highest return on "
                "investment."
            ),
            tools=("DVC",),
            capability_ids=("data_versioning",),
        ),
        Step(
            number=2,
            title="Track experiments and register models",
            why=(
                "With data versioned, record every training run (parameters, metrics and the "
                "model it produced) and keep the models you ship in a registry instead of "
                "passing files around. That ends the hunt for the notebook that made a model "
                "and gives deployment one source of truth. It is still part of the climb from "
                "L0 to L1, the stretch with the highest return on investment."
            ),
            tools=("MLflow", "Weights & Biases"),
            capability_ids=("experiment_tracking", "model_registry"),
        ),
        Step(
            number=3,
            title="Build training pipelines",
            why=(
                "Versioned inputs and tracked runs make it possible to turn manual notebook "
                "steps into an orchestrated pipeline: data, validation, training, evaluation, "
                "model. Automated, reproducible training is what defines L1, and reaching L1 "
                "gives most organisations the highest return on investment. It also gives "
                "later CI/CD and retraining something to trigger."
            ),
            tools=("Kubeflow", "Airflow"),
            capability_ids=("automated_training",),
        ),
        Step(
            number=4,
            title="Add a feature store",
            why=(
                "Once training runs as a pipeline, the next risk is features computed one way "
                "in training and another way in production. A feature store such as Feast "
                "defines each feature once and serves the same values to both. This completes "
                "L1, the level with the highest return on investment; finish it before taking "
                "on L2's automation."
            ),
            tools=("Feast",),
            capability_ids=("feature_store",),
        ),
        Step(
            number=5,
            title="Add CI/CD for models",
            why=(
                "With L1 in place, connect the training pipeline to a delivery pipeline: test "
                "code, data and models automatically, deploy behind a canary, and compare new "
                "models with the current one in an A/B test. This only pays off on top of "
                "solid versioning, pipelines and features, which is why it comes after them."
            ),
            tools=("GitHub Actions", "GitLab CI", "Seldon Core"),
            capability_ids=("cicd", "ab_testing"),
        ),
        Step(
            number=6,
            title="Enable continuous training",
            why=(
                "The last step closes the loop: watch production data and model performance, "
                "and let a schedule, detected drift or a drop in performance trigger "
                "retraining through the pipeline and CI/CD you already have. Done earlier it "
                "would automate an unreliable process; done now, it completes L2."
            ),
            tools=("Airflow", "Kubeflow", "Evidently"),
            capability_ids=("automated_retraining", "drift_monitoring"),
        ),
    ),
)
"""The nine capabilities and six steps of maturity-model.md, in asking order."""
