"""The maturity checklist: what the bot asks, in which order, and why.

The checklist is data, not code, because an organisation may bring its own model (a YAML or
JSON file, read by bot.domain.model_file) and because every assessment records the model and
version it was run against. The default is Google's MLOps maturity model, shipped as
bot/domain/builtin/google.yaml (see docs/maturity-model.md); the wording of questions and
explanations is ours. A `Checklist` is one maturity model: its levels, capabilities and steps.

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
    "Answer",
    "Capability",
    "Checklist",
    "ChecklistError",
    "Step",
    "checklist_from_dict",
    "checklist_to_dict",
    "load_checklist",
]

GOOGLE_LEVEL_NAMES = ("Manual", "ML pipeline", "CI/CD + continuous training")
"""Level names of Google's model, also those of a checklist file in the older JSON shape."""

MIN_LEVELS = 2
MAX_LEVELS = 6
"""A model has 2 to 6 levels, numbered from 0; level 0 needs nothing, so no capability has it."""

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
    evidence: tuple[str, ...] = ()
    """Ids of evidence detectors that can look for this capability (optional)."""


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
    name: str = "google"
    title: str = "Google's MLOps maturity model"
    level_names: tuple[str, ...] = GOOGLE_LEVEL_NAMES
    """One name per level, level 0 first; the model's highest level is len(level_names) - 1."""
    _by_id: Mapping[str, Capability] = field(init=False, repr=False, compare=False)
    _required: Mapping[int, tuple[str, ...]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        _validate(self)
        object.__setattr__(self, "_by_id", {c.id: c for c in self.capabilities})
        required = {
            level: tuple(c.id for c in self.capabilities if c.level <= level)
            for level in range(1, len(self.level_names))
        }
        object.__setattr__(self, "_required", required)

    @property
    def top_level(self) -> int:
        """The model's highest level (2 for Google's, 4 for Microsoft's)."""
        return len(self.level_names) - 1

    @property
    def levels(self) -> range:
        """Every level of the model, 0 first."""
        return range(len(self.level_names))

    @property
    def ref(self) -> str:
        """Model name and version, as every assessment records it: "microsoft:1"."""
        return f"{self.name}:{self.version}"

    def level_name(self, level: int) -> str:
        """The level's name in this model, e.g. "ML pipeline"; ValueError for no such level."""
        if isinstance(level, int) and not isinstance(level, bool) and level in self.levels:
            return self.level_names[level]
        raise ValueError(f"unknown level {level!r}; {self._levels_text()}")

    @property
    def level_labels(self) -> tuple[str, ...]:
        """Every level's label, level 0 first."""
        return tuple(self.level_label(level) for level in self.levels)

    def level_label(self, level: int) -> str:
        """The short label used on cards and in messages, e.g. "L1 · ML pipeline"."""
        return f"L{level} · {self.level_name(level)}"

    def title_of(self, capability_id: str) -> str:
        """A capability's title, or its id when this model does not have it (older answers)."""
        return self._by_id[capability_id].title if capability_id in self._by_id else capability_id

    def change_label(self, level: int, model_ref: str | None = None) -> str:
        """A recorded level's label (the model it was recorded in is ignored: one model)."""
        return self.level_label(level) if level in self.levels else f"L{level}"

    def level_tag(self, capability_id: str) -> str:
        """Where a capability is first required, for a card's line: "L2"."""
        return f"L{self.capability(capability_id).level}"

    def _levels_text(self) -> str:
        return f"levels are 0 to {self.top_level}"

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
            raise ValueError(f"unknown level {level!r}; {self._levels_text()}") from None


def _validate(checklist: Checklist) -> None:
    """Enforce the invariants every consumer of a checklist relies on."""
    _require_text(checklist.version, "version")
    _require_text(checklist.name, "name")
    _require_text(checklist.title, "title")
    names = checklist.level_names
    if not isinstance(names, tuple) or not MIN_LEVELS <= len(names) <= MAX_LEVELS:
        raise ChecklistError(
            f"levels: must name {MIN_LEVELS} to {MAX_LEVELS} levels, level 0 first, "
            f"got {len(names) if isinstance(names, tuple) else names!r}"
        )
    for index, level_name in enumerate(names):
        _require_text(level_name, f"levels[{index}]")
    top = len(names) - 1
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
        if (
            not isinstance(cap.level, int)
            or isinstance(cap.level, bool)
            or not 1 <= cap.level <= top
        ):
            allowed = "1 or 2" if top == 2 else f"between 1 and {top}"
            raise ChecklistError(f"{where}.level: must be {allowed}, got {cap.level!r}")
        for e, detector in enumerate(cap.evidence):
            if not isinstance(detector, str) or not _ID_PATTERN.fullmatch(detector):
                raise ChecklistError(
                    f"{where}.evidence[{e}]: {detector!r} must be a detector id in snake_case"
                )
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

    for level in range(1, top + 1):
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
        if not expected:
            raise ChecklistError(
                f"steps[{index}]: no capability belongs to step {step.number}; "
                "a step must cover at least one"
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
# Google's model, read from its shipped file (bot/domain/builtin/google.yaml) on first use, so
# the built-ins are data like any organisation's own model.


def __getattr__(name: str) -> Any:
    # `from bot.domain.checklist import DEFAULT_CHECKLIST` keeps working; it lives in model_file
    if name == "DEFAULT_CHECKLIST":
        from bot.domain.model_file import DEFAULT_CHECKLIST

        return DEFAULT_CHECKLIST
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
