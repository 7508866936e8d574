"""The default checklist's content and the loader for an organisation's own checklist file."""

from __future__ import annotations

import ast
import copy
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import bot.domain
from bot.domain.checklist import (
    DEFAULT_CHECKLIST,
    HELP_MAX_CHARS,
    WHY_MAX_CHARS,
    Answer,
    Capability,
    Checklist,
    ChecklistError,
    Step,
    checklist_to_dict,
    load_checklist,
)

EXPECTED_ORDER = (
    "data_versioning",
    "experiment_tracking",
    "model_registry",
    "automated_training",
    "feature_store",
    "cicd",
    "ab_testing",
    "automated_retraining",
    "drift_monitoring",
)


# --- The default checklist --------------------------------------------------------------------


def test_answer_values_are_the_stored_strings() -> None:
    assert [a.value for a in Answer] == ["yes", "partly", "no", "not_sure"]
    assert Answer("not_sure") is Answer.NOT_SURE


def test_default_asks_the_nine_capabilities_in_progression_order() -> None:
    assert DEFAULT_CHECKLIST.version == "default-1"
    assert DEFAULT_CHECKLIST.ids == EXPECTED_ORDER
    steps = [c.step for c in DEFAULT_CHECKLIST.capabilities]
    assert steps == [1, 2, 2, 3, 4, 5, 5, 6, 6]


def test_default_levels_follow_the_maturity_model_table() -> None:
    levels = {c.id: c.level for c in DEFAULT_CHECKLIST.capabilities}
    assert levels == {
        "experiment_tracking": 1,
        "automated_training": 1,
        "data_versioning": 1,
        "feature_store": 1,
        "model_registry": 1,
        "cicd": 2,
        "automated_retraining": 2,
        "ab_testing": 2,
        "drift_monitoring": 2,
    }


def test_default_titles() -> None:
    titles = {c.id: c.title for c in DEFAULT_CHECKLIST.capabilities}
    assert titles["cicd"] == "CI/CD for ML"
    assert titles["ab_testing"] == "A/B testing"
    assert titles["experiment_tracking"] == "Experiment tracking"
    assert titles["feature_store"] == "Feature store"


def test_default_steps_group_capabilities_and_name_the_models_tools() -> None:
    steps = DEFAULT_CHECKLIST.steps
    assert [s.number for s in steps] == [1, 2, 3, 4, 5, 6]
    assert [s.capability_ids for s in steps] == [
        ("data_versioning",),
        ("experiment_tracking", "model_registry"),
        ("automated_training",),
        ("feature_store",),
        ("cicd", "ab_testing"),
        ("automated_retraining", "drift_monitoring"),
    ]
    assert "DVC" in steps[0].tools
    assert {"MLflow", "Weights & Biases"} <= set(steps[1].tools)
    assert {"Kubeflow", "Airflow"} <= set(steps[2].tools)
    assert "Feast" in steps[3].tools


def test_default_text_fits_where_it_is_shown() -> None:
    for cap in DEFAULT_CHECKLIST.capabilities:
        assert cap.question.endswith("?"), cap.id
        assert cap.question.count("?") == 1, cap.id
        assert len(cap.help) < 200, cap.id
        assert "\n" not in cap.help, cap.id
        assert cap.tools, cap.id
    for step in DEFAULT_CHECKLIST.steps:
        assert len(step.why) <= 600, step.number
        assert step.tools, step.number


def test_l0_to_l1_steps_carry_the_return_on_investment_insight() -> None:
    for step in DEFAULT_CHECKLIST.steps[:4]:
        assert "return on investment" in step.why, step.number
        assert "L1" in step.why, step.number


def test_lookup_by_id_and_step_number() -> None:
    assert DEFAULT_CHECKLIST.capability("feature_store").tools == ("Feast",)
    assert DEFAULT_CHECKLIST.step(5).title == "Add CI/CD for models"
    with pytest.raises(KeyError, match="nope"):
        DEFAULT_CHECKLIST.capability("nope")
    for bad in (0, 7, -1):
        with pytest.raises(KeyError):
            DEFAULT_CHECKLIST.step(bad)


def test_required_for_is_cumulative() -> None:
    assert DEFAULT_CHECKLIST.required_for(0) == ()
    assert DEFAULT_CHECKLIST.required_for(1) == EXPECTED_ORDER[:5]
    assert DEFAULT_CHECKLIST.required_for(2) == EXPECTED_ORDER
    with pytest.raises(ValueError):
        DEFAULT_CHECKLIST.required_for(3)


def test_checklist_and_its_parts_are_immutable() -> None:
    with pytest.raises(AttributeError):
        DEFAULT_CHECKLIST.version = "mine"  # type: ignore[misc]
    with pytest.raises(AttributeError):
        DEFAULT_CHECKLIST.capabilities[0].level = 2  # type: ignore[misc]


def test_constructing_an_invalid_checklist_directly_fails_too() -> None:
    caps = DEFAULT_CHECKLIST.capabilities
    bad = Capability(**{**caps[0].__dict__, "level": 3})
    with pytest.raises(ChecklistError, match=r"capabilities\[0\] \(data_versioning\)\.level"):
        Checklist(version="x", capabilities=(bad, *caps[1:]), steps=DEFAULT_CHECKLIST.steps)


def test_domain_imports_no_slack_database_or_templates() -> None:
    forbidden = {"slack_sdk", "slack_bolt", "sqlalchemy", "jinja2"}
    package_dir = Path(bot.domain.__file__).parent
    files = sorted(package_dir.glob("*.py"))
    assert {f.name for f in files} >= {"__init__.py", "checklist.py", "levels.py"}
    for path in files:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                roots = {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom):
                roots = {(node.module or "").split(".")[0]}
            else:
                continue
            assert not roots & forbidden, f"{path.name} imports {roots & forbidden}"


# --- Loading an organisation's checklist file -------------------------------------------------


def write(tmp_path: Path, data: Any) -> Path:
    path = tmp_path / "checklist.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_dumped_default_is_plain_json_and_loads_back_equal(tmp_path: Path) -> None:
    data = checklist_to_dict(DEFAULT_CHECKLIST)
    assert set(data) == {"version", "capabilities", "steps"}
    assert data["capabilities"][0]["tools"] == ["DVC"]
    loaded = load_checklist(write(tmp_path, data))
    assert loaded == DEFAULT_CHECKLIST
    assert loaded.ids == EXPECTED_ORDER
    assert loaded.capability("cicd").title == "CI/CD for ML"
    assert isinstance(loaded.capabilities[0].tools, tuple)
    assert isinstance(loaded.steps[1].capability_ids, tuple)


def test_an_edited_file_is_honoured(tmp_path: Path) -> None:
    data = checklist_to_dict(DEFAULT_CHECKLIST)
    data["version"] = "acme-2"
    data["capabilities"][4]["question"] = "Do you use our in-house feature platform?"
    data["capabilities"][4]["tools"] = ["Acme Features"]
    loaded = load_checklist(str(write(tmp_path, data)))
    assert loaded.version == "acme-2"
    assert loaded.capability("feature_store").tools == ("Acme Features",)
    assert loaded != DEFAULT_CHECKLIST


def test_checklist_error_is_a_value_error() -> None:
    assert issubclass(ChecklistError, ValueError)


Mutation = Callable[[dict[str, Any]], None]


def _set(path: str, value: Any) -> Mutation:
    """A mutation that sets a dotted/indexed path, e.g. "capabilities.2.level"."""

    def apply(data: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        target: Any = data
        for part in parents:
            target = target[int(part)] if part.isdigit() else target[part]
        target[int(last) if last.isdigit() else last] = value

    return apply


def _delete(path: str) -> Mutation:
    def apply(data: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        target: Any = data
        for part in parents:
            target = target[int(part)] if part.isdigit() else target[part]
        del target[last]

    return apply


def _swap_capabilities(i: int, j: int) -> Mutation:
    def apply(data: dict[str, Any]) -> None:
        caps = data["capabilities"]
        caps[i], caps[j] = caps[j], caps[i]

    return apply


def _all_levels(level: int) -> Mutation:
    def apply(data: dict[str, Any]) -> None:
        for cap in data["capabilities"]:
            cap["level"] = level

    return apply


BAD_FILES: list[tuple[str, Mutation, str]] = [
    (
        "duplicate id",
        _set("capabilities.1.id", "data_versioning"),
        r"capabilities\[1\]\.id: duplicate id 'data_versioning'",
    ),
    ("id not snake_case", _set("capabilities.0.id", "Data-Versioning"), r"\.id: .*snake_case"),
    ("level 3", _set("capabilities.2.level", 3), r"capabilities\[2\] \(model_registry\)\.level"),
    ("level 0", _set("capabilities.0.level", 0), r"\.level: must be 1 or 2, got 0"),
    ("level as text", _set("capabilities.0.level", "1"), r"capabilities\[0\]\.level: .*integer"),
    ("level as bool", _set("capabilities.0.level", True), r"capabilities\[0\]\.level"),
    ("no L2 capability", _all_levels(1), r"no capability has level 2"),
    ("no L1 capability", _all_levels(2), r"no capability has level 1"),
    ("step that does not exist", _set("capabilities.8.step", 7), r"\.step: no step 7"),
    (
        "capabilities out of step order",
        _swap_capabilities(0, 1),
        r"capabilities\[1\] \(data_versioning\)\.step: .*step order",
    ),
    (
        "step lists an unknown id",
        _set("steps.0.capability_ids", ["data_versioning", "gpu_quota"]),
        r"steps\[0\]\.capability_ids: unknown capability id 'gpu_quota'",
    ),
    (
        "step leaves out one of its capabilities",
        _set("steps.1.capability_ids", ["experiment_tracking"]),
        r"steps\[1\]\.capability_ids: .*expected \['experiment_tracking', 'model_registry'\]",
    ),
    (
        "step claims another step's capability",
        _set("steps.0.capability_ids", ["data_versioning", "feature_store"]),
        r"steps\[0\]\.capability_ids",
    ),
    ("steps misnumbered", _set("steps.2.number", 4), r"steps\[2\]\.number: .*expected 3"),
    ("empty title", _set("capabilities.3.title", ""), r"capabilities\[3\] .*\.title: .*non-empty"),
    ("blank question", _set("capabilities.3.question", "   "), r"\.question: .*non-empty"),
    ("empty version", _set("version", ""), r"^.*: version: must be a non-empty string"),
    ("empty step why", _set("steps.0.why", ""), r"steps\[0\]\.why"),
    ("empty tool name", _set("capabilities.0.tools", ["DVC", ""]), r"\.tools\[1\]"),
    ("tools not a list", _set("steps.0.tools", "DVC"), r"steps\[0\]\.tools: .*list of strings"),
    ("help too long", _set("capabilities.0.help", "x" * 200), r"\.help: must be under 200"),
    ("help on two lines", _set("capabilities.0.help", "one\ntwo"), r"\.help: .*single line"),
    ("why too long", _set("steps.5.why", "y" * 601), r"steps\[5\]\.why: .*at most 600"),
    ("missing field", _delete("capabilities.4.help"), r"capabilities\[4\]\.help: missing"),
    ("unknown field", _set("capabilities.4.levle", 1), r"capabilities\[4\]\.levle: unknown"),
    ("unknown top-level field", _set("owner", "me"), r": owner: unknown field"),
    ("no capabilities", _set("capabilities", []), r"capabilities: must list at least one"),
    ("capabilities not a list", _set("capabilities", {}), r"capabilities: must be a list"),
    ("capability not an object", _set("capabilities.0", "dvc"), r"capabilities\[0\]: .*object"),
]


@pytest.mark.parametrize(
    ("mutate", "message"),
    [pytest.param(m, msg, id=name) for name, m, msg in BAD_FILES],
)
def test_loader_rejects_bad_files_naming_the_field(
    tmp_path: Path, mutate: Mutation, message: str
) -> None:
    data = copy.deepcopy(checklist_to_dict(DEFAULT_CHECKLIST))
    mutate(data)
    path = write(tmp_path, data)
    with pytest.raises(ChecklistError, match=message) as excinfo:
        load_checklist(path)
    assert str(excinfo.value).startswith(f"{path}: ")


def test_loader_rejects_a_file_that_is_not_json(tmp_path: Path) -> None:
    path = tmp_path / "checklist.yaml"
    path.write_text("version: default-1\ncapabilities: []\n", encoding="utf-8")
    with pytest.raises(
        ChecklistError, match=r"checklist\.yaml: not valid JSON \(line 1, column 1\)"
    ):
        load_checklist(path)


def test_loader_rejects_json_that_is_not_an_object(tmp_path: Path) -> None:
    with pytest.raises(ChecklistError, match=r"checklist: must be a JSON object"):
        load_checklist(write(tmp_path, [1, 2, 3]))


def test_loader_reports_a_missing_file_as_a_checklist_error(tmp_path: Path) -> None:
    path = tmp_path / "absent.json"
    with pytest.raises(ChecklistError, match=re.escape(f"{path}: cannot read checklist file")):
        load_checklist(path)


def test_step_dataclass_holds_tuples_as_given() -> None:
    step = Step(number=1, title="t", why="w", tools=("A",), capability_ids=("a",))
    assert step.capability_ids == ("a",)
    assert step == Step(1, "t", "w", ("A",), ("a",))


# --- Boundaries and messages (found by mutation testing, see docs/testing.md) -----------------


def _loads(tmp_path: Path, mutate: Mutation) -> Checklist:
    data = copy.deepcopy(checklist_to_dict(DEFAULT_CHECKLIST))
    mutate(data)
    return load_checklist(write(tmp_path, data))


def test_text_exactly_at_its_limit_is_accepted(tmp_path: Path) -> None:
    loaded = _loads(tmp_path, _set("capabilities.0.help", "h" * HELP_MAX_CHARS))
    assert len(loaded.capabilities[0].help) == HELP_MAX_CHARS
    loaded = _loads(tmp_path, _set("steps.0.why", "w" * WHY_MAX_CHARS))
    assert len(loaded.steps[0].why) == WHY_MAX_CHARS


def test_a_step_why_may_span_several_lines(tmp_path: Path) -> None:
    loaded = _loads(tmp_path, _set("steps.0.why", "First line.\nSecond line."))
    assert loaded.steps[0].why == "First line.\nSecond line."


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        pytest.param(_set("steps", []), "steps: must list at least one step", id="no steps"),
        pytest.param(
            _set("capabilities", []),
            "capabilities: must list at least one capability",
            id="no capabilities",
        ),
        pytest.param(
            _set("steps.0.title", ""),
            "steps[0].title: must be a non-empty string, got ''",
            id="title",
        ),
        pytest.param(
            _set("steps.0.why", " "), "steps[0].why: must be a non-empty string, got ' '", id="why"
        ),
    ],
)
def test_the_whole_message_names_the_field(tmp_path: Path, mutate: Mutation, message: str) -> None:
    data = copy.deepcopy(checklist_to_dict(DEFAULT_CHECKLIST))
    mutate(data)
    path = write(tmp_path, data)
    with pytest.raises(ChecklistError) as excinfo:
        load_checklist(path)
    assert str(excinfo.value) == f"{path}: {message}"
