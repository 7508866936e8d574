"""Maturity model files: the YAML (or JSON) an organisation writes, and the built-in models.

A model file names the model's levels, its capabilities (the questions) and its ordered next
steps; docs/model-file.md describes every field. A file may instead `extends:` a built-in
model, adding capabilities and steps or rewording the built-in's. The built-ins (Google's,
the default, and Microsoft's) are such files themselves, shipped in bot/domain/builtin/.

Reading a file checks everything and reports every mistake at once, one message per mistake,
each naming the field and the line it is on, e.g.
``acme.yaml:14: capabilities[2].level: must be between 1 and 4, got 7``. YAML is read with
PyYAML's safe loader only: a model file is data, never code.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Mapping
from functools import cache
from importlib import resources
from typing import Any

import yaml

from bot.domain.checklist import (
    HELP_MAX_CHARS,
    MAX_LEVELS,
    MIN_LEVELS,
    WHY_MAX_CHARS,
    Capability,
    Checklist,
    ChecklistError,
    Step,
)

__all__ = [
    "BUILTIN_MODELS",
    "DEFAULT_CHECKLIST",
    "ModelFileError",
    "builtin_model",
    "load_model",
    "model_to_dict",
    "model_to_yaml",
    "parse_model",
]

BUILTIN_MODELS = ("google", "microsoft")
"""The models shipped with the bot, by name; the first is the default."""

NAME_MAX_CHARS = 32
VERSION_MAX_CHARS = 31  # name + ":" + version fits the assessments' 64-character column
TITLE_MAX_CHARS = 60
MODEL_TITLE_MAX_CHARS = 80
LEVEL_NAME_MAX_CHARS = 40
QUESTION_MAX_CHARS = 300
TOOL_MAX_CHARS = 40
MAX_TOOLS = 8
MAX_CAPABILITIES = 30
MAX_STEPS = 15
MAX_FILE_BYTES = 256 * 1024

_NAME_PATTERN = re.compile(r"[a-z][a-z0-9_-]*")
_ID_PATTERN = re.compile(r"[a-z][a-z0-9_]*")

Path = tuple[str | int, ...]


class ModelFileError(ChecklistError):
    """A model file is invalid; `problems` holds one message per mistake, in file order."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))


def _render(path: Path) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out or "(the file)"


class _Problems:
    """Collects one message per mistake, each with the field's path and line."""

    def __init__(self, source: str, lines: Mapping[Path, int]) -> None:
        self.source = source
        self.lines = lines
        self.found: list[tuple[int, int, str]] = []

    def add(self, path: Path, message: str) -> None:
        line = None
        probe = path
        while line is None:
            line = self.lines.get(probe)
            if not probe:
                break
            probe = probe[:-1]
        where = f"{self.source}:{line}" if line else self.source
        self.found.append((line or 0, len(self.found), f"{where}: {_render(path)}: {message}"))

    def raise_if_any(self) -> None:
        if self.found:
            raise ModelFileError([message for _, _, message in sorted(self.found)])


# --- Reading the text -------------------------------------------------------------------------


def _line_map(node: yaml.Node | None, problems: list[tuple[Path, str]]) -> dict[Path, int]:
    """Each field's line (1-based), from PyYAML's node tree; notes duplicate keys on the way."""
    lines: dict[Path, int] = {}

    def walk(node: yaml.Node, path: Path) -> None:
        lines.setdefault(path, node.start_mark.line + 1)
        if isinstance(node, yaml.MappingNode):
            seen: set[object] = set()
            for key_node, value_node in node.value:
                key = key_node.value
                child = (*path, key)
                if key in seen:
                    problems.append((child, "appears twice; keep one"))
                seen.add(key)
                lines[child] = key_node.start_mark.line + 1
                walk(value_node, child)
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                walk(item, (*path, index))

    if node is not None:
        walk(node, ())
    return lines


def _read(text: str, source: str, *, as_json: bool) -> tuple[Any, dict[Path, int], list]:
    duplicates: list[tuple[Path, str]] = []
    if as_json:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as e:
            raise ModelFileError([f"{source}:{e.lineno}: not valid JSON: {e.msg}"]) from e
        try:
            lines = _line_map(yaml.compose(text, Loader=yaml.SafeLoader), duplicates)
        except yaml.YAMLError:
            lines = {}
        return data, lines, duplicates
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"{source}:{mark.line + 1}" if mark is not None else source
        reason = getattr(e, "problem", None) or str(e)
        raise ModelFileError([f"{where}: not valid YAML: {reason}"]) from e
    return data, _line_map(node, duplicates), duplicates


# --- Checking fields --------------------------------------------------------------------------


def _text(
    problems: _Problems,
    obj: Mapping[str, Any],
    path: Path,
    name: str,
    *,
    max_chars: int,
    multiline: bool = False,
    required: bool = True,
) -> str | None:
    if name not in obj:
        if required:
            problems.add((*path, name), "missing")
        return None
    value = obj[name]
    where = (*path, name)
    if isinstance(value, int | float) and not isinstance(value, bool) and name == "version":
        value = str(value)
    if not isinstance(value, str):
        problems.add(where, f"must be text, got {value!r} (put quotes around it)")
        return None
    value = value.strip()
    if not value:
        problems.add(where, "must not be empty")
        return None
    if not multiline and ("\n" in value or "\r" in value):
        problems.add(where, "must be a single line")
        return None
    if len(value) > max_chars:
        problems.add(where, f"must be at most {max_chars} characters, got {len(value)}")
        return None
    return value


def _int(
    problems: _Problems, obj: Mapping[str, Any], path: Path, name: str, *, required: bool = True
) -> int | None:
    if name not in obj:
        if required:
            problems.add((*path, name), "missing")
        return None
    value = obj[name]
    if not isinstance(value, int) or isinstance(value, bool):
        problems.add((*path, name), f"must be a whole number, got {value!r}")
        return None
    return value


def _strings(
    problems: _Problems,
    obj: Mapping[str, Any],
    path: Path,
    name: str,
    *,
    max_items: int,
    max_chars: int,
    pattern: re.Pattern[str] | None = None,
    what: str = "text",
) -> tuple[str, ...] | None:
    if name not in obj:
        return None
    value = obj[name]
    where = (*path, name)
    if value is None:
        return ()
    if not isinstance(value, list):
        problems.add(where, f"must be a list, e.g. [{what}, ...], got {value!r}")
        return None
    if len(value) > max_items:
        problems.add(where, f"must list at most {max_items}, got {len(value)}")
        return None
    out: list[str] = []
    ok = True
    for index, item in enumerate(value):
        if not isinstance(item, str) or not item.strip() or "\n" in item:
            problems.add((*where, index), f"must be one line of text, got {item!r}")
            ok = False
        elif len(item.strip()) > max_chars:
            problems.add((*where, index), f"must be at most {max_chars} characters")
            ok = False
        elif pattern is not None and not pattern.fullmatch(item.strip()):
            problems.add((*where, index), f"{item!r} must be snake_case, e.g. dvc_files")
            ok = False
        else:
            out.append(item.strip())
    return tuple(out) if ok else None


def _known(problems: _Problems, obj: Mapping[str, Any], path: Path, fields: tuple[str, ...]):
    for name in obj:
        if name not in fields:
            problems.add((*path, str(name)), f"unknown field (expected: {', '.join(fields)})")


_TOP = ("extends", "name", "title", "version", "levels", "steps", "capabilities")
_STEP = ("title", "why", "tools")
_CAPABILITY = ("id", "title", "question", "help", "tools", "level", "step", "evidence")


def _step(problems: _Problems, raw: object, path: Path) -> dict[str, Any] | None:
    if not isinstance(raw, dict):
        problems.add(path, "must be a step with title, why and tools")
        return None
    _known(problems, raw, path, _STEP)
    title = _text(problems, raw, path, "title", max_chars=TITLE_MAX_CHARS)
    why = _text(problems, raw, path, "why", max_chars=WHY_MAX_CHARS, multiline=True)
    tools = _strings(problems, raw, path, "tools", max_items=MAX_TOOLS, max_chars=TOOL_MAX_CHARS)
    if title is None or why is None or ("tools" in raw and tools is None):
        return None
    return {"title": title, "why": why, "tools": tools or ()}


def _capability_fields(
    problems: _Problems, raw: Mapping[str, Any], path: Path, *, new: bool
) -> dict[str, Any] | None:
    """The fields given, checked; every one is required for a new capability."""
    out: dict[str, Any] = {}
    ok = True
    for name, max_chars in (("title", TITLE_MAX_CHARS), ("question", QUESTION_MAX_CHARS)):
        value = _text(problems, raw, path, name, max_chars=max_chars, required=new)
        ok &= value is not None or (name not in raw and not new)
        if value is not None:
            out[name] = value
    value = _text(problems, raw, path, "help", max_chars=HELP_MAX_CHARS, required=new)
    ok &= value is not None or ("help" not in raw and not new)
    if value is not None:
        out["help"] = value
    for name in ("level", "step"):
        number = _int(problems, raw, path, name, required=new)
        ok &= number is not None or (name not in raw and not new)
        if number is not None:
            out[name] = number
    tools = _strings(problems, raw, path, "tools", max_items=MAX_TOOLS, max_chars=TOOL_MAX_CHARS)
    ok &= tools is not None or "tools" not in raw
    if tools is not None:
        out["tools"] = tools
    evidence = _strings(
        problems,
        raw,
        path,
        "evidence",
        max_items=MAX_TOOLS,
        max_chars=64,
        pattern=_ID_PATTERN,
        what="detector_id",
    )
    ok &= evidence is not None or "evidence" not in raw
    if evidence is not None:
        out["evidence"] = evidence
    return out if ok else None


def _levels(problems: _Problems, data: Mapping[str, Any]) -> tuple[str, ...] | None:
    raw = data["levels"]
    if not isinstance(raw, list) or not MIN_LEVELS <= len(raw) <= MAX_LEVELS:
        count = f"{len(raw)}" if isinstance(raw, list) else repr(raw)
        problems.add(
            ("levels",),
            f"must list {MIN_LEVELS} to {MAX_LEVELS} level names, level 0 first, got {count}",
        )
        return None
    names: list[str] = []
    for index, item in enumerate(raw):
        if not isinstance(item, str) or not item.strip() or "\n" in item:
            problems.add(("levels", index), f"must be the level's name, got {item!r}")
        elif len(item.strip()) > LEVEL_NAME_MAX_CHARS:
            problems.add(("levels", index), f"must be at most {LEVEL_NAME_MAX_CHARS} characters")
        else:
            names.append(item.strip())
    return tuple(names) if len(names) == len(raw) else None


def _list(problems: _Problems, data: Mapping[str, Any], name: str, limit: int) -> list | None:
    value = data[name]
    if not isinstance(value, list):
        problems.add((name,), f"must be a list, got {value!r}")
        return None
    if len(value) > limit:
        problems.add((name,), f"must list at most {limit}, got {len(value)}")
        return None
    return value


def _build(
    data: object,
    problems: _Problems,
    base_loader: Callable[[str], Checklist],
) -> Checklist:
    if not isinstance(data, dict):
        problems.add((), "must be a mapping of fields (name, title, version, levels, ...)")
        problems.raise_if_any()
    _known(problems, data, (), _TOP)

    base: Checklist | None = None
    if "extends" in data:
        extends = data["extends"]
        if extends not in BUILTIN_MODELS:
            problems.add(("extends",), f"must name a built-in model ({', '.join(BUILTIN_MODELS)})")
        else:
            base = base_loader(extends)
    name = _text(problems, data, (), "name", max_chars=NAME_MAX_CHARS)
    if name is not None and not _NAME_PATTERN.fullmatch(name):
        problems.add(("name",), f"{name!r} must be lowercase letters, digits, - or _, e.g. acme")
        name = None
    title = _text(problems, data, (), "title", max_chars=MODEL_TITLE_MAX_CHARS)
    version = _text(problems, data, (), "version", max_chars=VERSION_MAX_CHARS)

    required_lists = () if "extends" in data else ("levels", "steps", "capabilities")
    for field in required_lists:
        if field not in data:
            problems.add((field,), "missing")

    level_names = base.level_names if base is not None else None
    if "levels" in data:
        level_names = _levels(problems, data)
        if (
            level_names is not None
            and base is not None
            and len(level_names) != len(base.level_names)
        ):
            problems.add(
                ("levels",),
                f"{data['extends']} has {len(base.level_names)} levels; an extension may "
                "rename them but not add or remove any",
            )
            level_names = None

    # Steps: the base's, then the file's own, numbered on from them.
    steps: list[dict[str, Any]] = (
        [{"title": s.title, "why": s.why, "tools": s.tools} for s in base.steps] if base else []
    )
    steps_ok = True
    if "steps" in data:
        raw_steps = _list(problems, data, "steps", MAX_STEPS)
        steps_ok = raw_steps is not None
        for index, raw in enumerate(raw_steps or []):
            step = _step(problems, raw, ("steps", index))
            steps_ok &= step is not None
            if step is not None:
                steps.append(step)
    if steps_ok and len(steps) > MAX_STEPS:
        problems.add(("steps",), f"the model may have at most {MAX_STEPS} steps in all")
    base_missing = "extends" in data and base is None  # already named; nothing to check against
    if steps_ok and not steps and not base_missing:
        problems.add(("steps",), "must list at least one step")

    # Capabilities: the base's in its order, reworded in place; new ones after them.
    capabilities: dict[str, dict[str, Any]] = {}
    origin: dict[str, Path] = {}
    if base is not None:
        for cap in base.capabilities:
            capabilities[cap.id] = {
                "id": cap.id,
                "title": cap.title,
                "question": cap.question,
                "help": cap.help,
                "tools": cap.tools,
                "level": cap.level,
                "step": cap.step,
                "evidence": cap.evidence,
            }
            origin[cap.id] = ("extends",)
    caps_ok = True
    if "capabilities" in data:
        raw_caps = _list(problems, data, "capabilities", MAX_CAPABILITIES)
        caps_ok = raw_caps is not None
        own: set[str] = set()
        for index, raw in enumerate(raw_caps or []):
            path: Path = ("capabilities", index)
            if not isinstance(raw, dict):
                problems.add(path, "must be a capability with id, title, question, help, ...")
                caps_ok = False
                continue
            _known(problems, raw, path, _CAPABILITY)
            cap_id = raw.get("id")
            if not isinstance(cap_id, str) or not _ID_PATTERN.fullmatch(cap_id):
                problems.add(
                    (*path, "id"),
                    "missing"
                    if "id" not in raw
                    else f"{cap_id!r} must be snake_case, e.g. "
                    "model_cards (lowercase letters, digits and _, starting with a letter)",
                )
                caps_ok = False
                continue
            if len(cap_id) > 64:
                problems.add((*path, "id"), "must be at most 64 characters")
                caps_ok = False
                continue
            if cap_id in own:
                problems.add((*path, "id"), f"{cap_id!r} is listed twice; keep one")
                caps_ok = False
                continue
            own.add(cap_id)
            rewording = cap_id in capabilities
            if rewording and len(raw) == 1:
                problems.add(
                    path, f"rewords {cap_id!r} but changes nothing; add a field or drop it"
                )
            fields = _capability_fields(problems, raw, path, new=not rewording)
            if fields is None:
                caps_ok = False
                continue
            capabilities[cap_id] = {**capabilities.get(cap_id, {"id": cap_id}), **fields}
            origin[cap_id] = path
    if caps_ok and "capabilities" in data and not capabilities:
        problems.add(("capabilities",), "must list at least one capability")
    if len(capabilities) > MAX_CAPABILITIES:
        problems.add(("capabilities",), f"the model may have at most {MAX_CAPABILITIES} in all")

    # Cross-checks: levels and steps that capabilities name, and coverage of both.
    # A capability's bad level or step is its one message: coverage is checked only without.
    if level_names is not None and caps_ok:
        top = len(level_names) - 1
        levels_ok = True
        for cap_id, cap in capabilities.items():
            if "level" in cap and not 1 <= cap["level"] <= top:
                allowed = "1 or 2" if top == 2 else f"between 1 and {top}"
                problems.add((*origin[cap_id], "level"), f"must be {allowed}, got {cap['level']}")
                levels_ok = False
        for level in range(1, top + 1 if levels_ok else 1):
            if capabilities and not any(c.get("level") == level for c in capabilities.values()):
                problems.add(
                    ("capabilities",),
                    f"no capability has level {level}, so level {level} "
                    f"({level_names[level]}) would need nothing beyond the level below; "
                    "add at least one",
                )
    if steps_ok and caps_ok and steps:
        steps_in_range = True
        for cap_id, cap in capabilities.items():
            if "step" in cap and not 1 <= cap["step"] <= len(steps):
                problems.add(
                    (*origin[cap_id], "step"),
                    f"no step {cap['step']}; the steps are numbered 1 to {len(steps)}",
                )
                steps_in_range = False
        used = {c.get("step") for c in capabilities.values()}
        first_own = len(base.steps) if base is not None else 0
        for number in range(1, len(steps) + 1 if steps_in_range else 1):
            if number not in used:
                path = ("steps", number - 1 - first_own) if number > first_own else ("steps",)
                problems.add(
                    path,
                    f"step {number} ({steps[number - 1]['title']}) has no capability; give at "
                    f"least one capability step: {number}",
                )

    problems.raise_if_any()
    assert level_names is not None and name and title and version  # raise_if_any saw to it
    ordered = sorted(capabilities.values(), key=lambda c: c["step"])  # stable: file order
    built_caps = tuple(
        Capability(
            id=c["id"],
            title=c["title"],
            question=c["question"],
            help=c["help"],
            tools=tuple(c.get("tools", ())),
            level=c["level"],
            step=c["step"],
            evidence=tuple(c.get("evidence", ())),
        )
        for c in ordered
    )
    built_steps = tuple(
        Step(
            number=number,
            title=s["title"],
            why=s["why"],
            tools=tuple(s["tools"]),
            capability_ids=tuple(c.id for c in built_caps if c.step == number),
        )
        for number, s in enumerate(steps, start=1)
    )
    try:
        return Checklist(
            version=version,
            capabilities=built_caps,
            steps=built_steps,
            name=name,
            title=title,
            level_names=level_names,
        )
    except ChecklistError as e:  # a rule checked only by Checklist itself
        raise ModelFileError([f"{problems.source}: {e}"]) from e


def parse_model(text: str, source: str = "model", *, as_json: bool = False) -> Checklist:
    """A model from the text of a model file; ModelFileError lists every mistake."""
    data, lines, duplicates = _read(text, source, as_json=as_json)
    problems = _Problems(source, lines)
    for path, message in duplicates:
        problems.add(path, message)
    return _build(data, problems, builtin_model)


def load_model(path: str | os.PathLike[str]) -> Checklist:
    """A model from a YAML or JSON file (by its extension; YAML otherwise)."""
    source = os.fspath(path)
    try:
        size = os.path.getsize(source)
        if size > MAX_FILE_BYTES:
            raise ModelFileError(
                [f"{source}: is {size} bytes; a model file may be at most {MAX_FILE_BYTES}"]
            )
        with open(source, encoding="utf-8") as f:
            text = f.read()
    except OSError as e:
        raise ModelFileError([f"{source}: cannot read the file: {e.strerror or e}"]) from e
    except UnicodeDecodeError as e:
        raise ModelFileError([f"{source}: is not UTF-8 text"]) from e
    return parse_model(text, os.path.basename(source), as_json=source.endswith(".json"))


@cache
def builtin_text(name: str) -> str:
    """The shipped file of a built-in model."""
    if name not in BUILTIN_MODELS:
        raise KeyError(f"no built-in model {name!r}; built-ins: {', '.join(BUILTIN_MODELS)}")
    return (resources.files("bot.domain") / "builtin" / f"{name}.yaml").read_text("utf-8")


@cache
def builtin_model(name: str) -> Checklist:
    """A built-in model by name ("google", "microsoft"); KeyError for any other name."""
    return parse_model(builtin_text(name), f"{name}.yaml")


def model_to_dict(checklist: Checklist) -> dict[str, Any]:
    """The model file form of a model (a full file, never `extends`)."""
    return {
        "name": checklist.name,
        "title": checklist.title,
        "version": checklist.version,
        "levels": list(checklist.level_names),
        "capabilities": [
            {
                "id": c.id,
                "title": c.title,
                "question": c.question,
                "help": c.help,
                "tools": list(c.tools),
                "level": c.level,
                "step": c.step,
                **({"evidence": list(c.evidence)} if c.evidence else {}),
            }
            for c in checklist.capabilities
        ],
        "steps": [
            {"title": s.title, "why": s.why, "tools": list(s.tools)} for s in checklist.steps
        ],
    }


def model_to_yaml(checklist: Checklist) -> str:
    """The model as a YAML model file, a starting point for an organisation's own."""
    return yaml.safe_dump(model_to_dict(checklist), sort_keys=False, allow_unicode=True, width=96)


DEFAULT_CHECKLIST = builtin_model("google")
"""Google's model, the default: nine capabilities and six steps, read from google.yaml."""
