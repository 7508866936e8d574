"""Which maturity models a workspace uses: install, choose the primary one, look them up.

A workspace has one or more installed models (table `workspace_models`); one is primary: its
level is the team's level on cards, in digests and in announcements. The others are shown
in one line ("Microsoft: level 2 of 4"). A workspace with no row uses the default model:
`CHECKLIST_FILE` when the operator set one, else Google's.

Capabilities with the same id in two models share the answer, so the questions asked are
the union of every installed model's (the primary's first, in its order). Switching the
primary keeps every answer; teams whose level differs in the new model get a level change
recorded with cause "model", which is never announced as a move up or down.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.domain import (
    BUILTIN_MODELS,
    DEFAULT_CHECKLIST,
    Capability,
    Checklist,
    Step,
    builtin_model,
    compute_level,
    parse_model,
)
from bot.errors import NotFound, UserError
from bot.models import LevelChange, Team, WorkspaceModel, utcnow
from bot.services import workspaces

MAX_MODELS = 4
"""Models installed at once per workspace: each adds a line to the level card."""
MAX_ASKED = 40
"""Questions asked at most across the installed models (the union of their capabilities)."""

MODEL_CHANGE = "model"
"""LevelChange.cause of a level that changed only because the primary model changed."""

_default: Checklist = DEFAULT_CHECKLIST


def configure_default(model: Checklist | None) -> None:
    """The model of workspaces that installed none (CHECKLIST_FILE); None for Google's."""
    global _default
    _default = model or DEFAULT_CHECKLIST


def default_model() -> Checklist:
    return _default


@dataclass(frozen=True)
class ModelSet:
    """A workspace's models: the primary one, then the others, as one thing to ask and show.

    It answers like the primary model (levels, labels, steps, `ref`), except `capabilities`,
    `ids` and `capability()`, which cover every installed model: that is what an assessment
    asks and what a card or history may need to name.
    """

    primary: Checklist
    others: tuple[Checklist, ...] = ()
    capabilities: tuple[Capability, ...] = field(init=False)

    def __post_init__(self) -> None:
        seen: dict[str, Capability] = {}
        for model in self.all:
            for cap in model.capabilities:
                seen.setdefault(cap.id, cap)
        object.__setattr__(self, "capabilities", tuple(seen.values()))

    @property
    def all(self) -> tuple[Checklist, ...]:
        return (self.primary, *self.others)

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(c.id for c in self.capabilities)

    def capability(self, capability_id: str) -> Capability:
        for cap in self.capabilities:
            if cap.id == capability_id:
                return cap
        raise KeyError(f"unknown capability {capability_id!r} in {self.ref!r}")

    def has(self, capability_id: str) -> bool:
        return any(c.id == capability_id for c in self.capabilities)

    # --- like the primary model ---
    @property
    def name(self) -> str:
        return self.primary.name

    @property
    def title(self) -> str:
        return self.primary.title

    @property
    def version(self) -> str:
        return self.primary.version

    @property
    def steps(self) -> tuple[Step, ...]:
        return self.primary.steps

    @property
    def top_level(self) -> int:
        return self.primary.top_level

    @property
    def levels(self) -> range:
        return self.primary.levels

    def step(self, number: int) -> Step:
        return self.primary.step(number)

    def level_name(self, level: int) -> str:
        return self.primary.level_name(level)

    def level_label(self, level: int) -> str:
        return self.primary.level_label(level)

    def required_for(self, level: int) -> tuple[str, ...]:
        return self.primary.required_for(level)

    def level_tag(self, capability_id: str) -> str:
        """ "L2" for the primary model's capabilities, "Microsoft L3" for another model's."""
        for model in self.all:
            if any(c.id == capability_id for c in model.capabilities):
                tag = model.level_tag(capability_id)
                return tag if model is self.primary else f"{short_name(model)} {tag}"
        raise KeyError(capability_id)

    def title_of(self, capability_id: str) -> str:
        """A capability's title, or its id when no installed model has it (older answers)."""
        return self.capability(capability_id).title if self.has(capability_id) else capability_id

    def change_label(self, level: int, model_ref: str | None) -> str:
        """A recorded level, named in the model it was recorded in when that one is gone."""
        name = (model_ref or "").split(":", 1)[0]
        for model in self.all:
            if (model_ref is None or model.name == name) and level in model.levels:
                return model.level_label(level)
        return f"L{level} ({name})" if name else f"L{level}"

    def others_line(self, levels: Iterable[tuple[Checklist, int]]) -> str:
        """The card's one line about the other models: "Microsoft: level 2 of 4"."""
        return " · ".join(
            f"{short_name(model)}: level {level} of {model.top_level}" for model, level in levels
        )

    @property
    def ref(self) -> str:
        """What an assessment records: every model's name:version, the primary first."""
        out = self.primary.ref
        for model in self.others:
            if len(out) + 1 + len(model.ref) > 64:
                break
            out += f"+{model.ref}"
        return out


@lru_cache(maxsize=64)
def _parse(source: str, as_json: bool) -> Checklist:
    return parse_model(source, "stored model", as_json=as_json)


def _model_of(row: WorkspaceModel) -> Checklist:
    if row.source is None:
        return builtin_model(row.name)
    return _parse(row.source, row.source_format == "json")


def installed(session: Session, workspace_id: str) -> list[WorkspaceModel]:
    """The workspace's installed models, the primary first, then by name."""
    rows = session.scalars(
        select(WorkspaceModel).where(WorkspaceModel.workspace_id == workspace_id)
    ).all()
    return sorted(rows, key=lambda r: (not r.is_primary, r.name))


def for_workspace(session: Session, workspace_id: str) -> ModelSet:
    """The models a workspace uses now (the default model alone when none is installed).

    One query per unit of work: the answer is kept in the session until it ends or this
    module changes what is installed, so a click that renders several messages asks once.
    """
    key = ("maturity-models", workspace_id)
    cached = session.info.get(key)
    if cached is not None and cached[0] is _default:
        return cached[1]
    rows = installed(session, workspace_id)
    if not rows:
        found = ModelSet(_default)
    else:
        models = [_model_of(row) for row in rows]
        found = ModelSet(models[0], tuple(models[1:]))
    session.info[key] = (_default, found)
    return found


def _forget(session: Session, workspace_id: str) -> None:
    session.info.pop(("maturity-models", workspace_id), None)


def resolve_source(spec: str) -> tuple[Checklist, str | None, str]:
    """A built-in name or a file path -> (model, source text or None, format)."""
    from bot.domain import load_model

    if spec in BUILTIN_MODELS:
        return builtin_model(spec), None, "yaml"
    model = load_model(spec)
    with open(spec, encoding="utf-8") as f:
        text = f.read()
    return model, text, "json" if spec.endswith(".json") else "yaml"


def install(
    session: Session,
    workspace_id: str,
    model: Checklist,
    source: str | None,
    *,
    source_format: str = "yaml",
    user_id: str | None = None,
) -> tuple[WorkspaceModel, bool]:
    """Install (or update) a model in a workspace; returns (row, replaced an older version).

    The first model installed becomes primary; without any, the workspace used the default,
    which is installed alongside first so that nothing the workspace saw changes. A model of
    the same name replaces the installed one (a new version: later assessments record it).
    """
    workspaces.ensure(session, workspace_id)
    _forget(session, workspace_id)
    rows = installed(session, workspace_id)
    if not rows:
        default = _default
        rows = [
            _add(
                session,
                workspace_id,
                default,
                None
                if default.name in BUILTIN_MODELS and default is builtin_model(default.name)
                else _default_source(default),
                "yaml",
                user_id,
                primary=True,
            )
        ]
    existing = next((r for r in rows if r.name == model.name), None)
    if existing is not None:
        replaced = existing.version != model.version or existing.source != source
        existing.version = model.version
        existing.source = source
        existing.source_format = source_format
        existing.installed_by = user_id
        existing.installed_at = utcnow()
        _forget(session, workspace_id)
        _check_union(session, workspace_id)
        if replaced and existing.is_primary:  # a new version may require more or less
            relevel(session, workspace_id, model, user_id or "operator")
        return existing, replaced
    if len(rows) >= MAX_MODELS:
        raise UserError(
            f"A workspace can use at most {MAX_MODELS} models at once; remove one first "
            f"(installed: {', '.join(r.name for r in rows)})."
        )
    row = _add(session, workspace_id, model, source, source_format, user_id, primary=False)
    _forget(session, workspace_id)
    _check_union(session, workspace_id)
    return row, False


def _default_source(model: Checklist) -> str:
    from bot.domain import model_to_yaml

    return model_to_yaml(model)


def _add(
    session: Session,
    workspace_id: str,
    model: Checklist,
    source: str | None,
    source_format: str,
    user_id: str | None,
    *,
    primary: bool,
) -> WorkspaceModel:
    row = WorkspaceModel(
        workspace_id=workspace_id,
        name=model.name,
        version=model.version,
        source=source,
        source_format=source_format,
        is_primary=primary,
        installed_by=user_id,
    )
    session.add(row)
    session.flush()
    return row


def _check_union(session: Session, workspace_id: str) -> None:
    asked = len(for_workspace(session, workspace_id).ids)
    if asked > MAX_ASKED:
        raise UserError(
            f"Together the installed models would ask {asked} questions; at most {MAX_ASKED} "
            "fit in Slack's messages. Use fewer models or fewer capabilities."
        )


def remove(session: Session, workspace_id: str, name: str) -> None:
    """Remove an installed model other than the primary one; every answer stays."""
    rows = installed(session, workspace_id)
    row = next((r for r in rows if r.name == name), None)
    if row is None:
        raise NotFound(f"No model called {name!r} is installed in {workspace_id}.")
    if row.is_primary:
        raise UserError(f"{name} is the primary model; make another one primary first.")
    session.delete(row)
    session.flush()
    _forget(session, workspace_id)


@dataclass(frozen=True)
class Switch:
    """What choosing a new primary model did: teams whose level is different in it."""

    model: Checklist
    previous: Checklist
    changed: list[tuple[Team, int | None, int]]


def use(session: Session, workspace_id: str, name: str, user_id: str) -> Switch:
    """Make an installed model primary; every answer stays, levels are worked out again."""
    name = name.strip().lower()
    rows = installed(session, workspace_id)
    if not rows and name == _default.name:
        return Switch(_default, _default, [])
    row = next((r for r in rows if r.name == name), None)
    if row is None and name in BUILTIN_MODELS:
        # The built-ins ship with the bot: choosing one installs it beside what is there.
        row, _ = install(session, workspace_id, builtin_model(name), None, user_id=user_id)
        rows = installed(session, workspace_id)
        row = next(r for r in rows if r.name == name)
    if row is None:
        choices = ", ".join(sorted({*(r.name for r in rows), *BUILTIN_MODELS}))
        raise NotFound(
            f"No model called {name!r} is installed here (to choose from: {choices}); an "
            f"operator installs a model file with `mlops-bot model install`."
        )
    previous = for_workspace(session, workspace_id).primary
    for other in rows:
        other.is_primary = other is row
    session.flush()
    _forget(session, workspace_id)
    model = _model_of(row)
    changed = relevel(session, workspace_id, model, user_id)
    return Switch(model, previous, changed)


def relevel(
    session: Session, workspace_id: str, model: Checklist, user_id: str
) -> list[tuple[Team, int | None, int]]:
    """Work out every assessed team's level in `model`; record the differences as model changes.

    Only answers of finished assessments count (as for any level). The changes are recorded
    with cause "model" and no announcement: nobody moved, the yardstick did.
    """
    from bot.services.teams import current_answers

    teams = list(
        session.scalars(
            select(Team).where(Team.workspace_id == workspace_id, Team.level.is_not(None))
        )
    )
    answers = current_answers(session, workspace_id, [t.id for t in teams])
    changed = []
    for team in teams:
        values = {cid: record.value for cid, record in answers[team.id].items()}
        level = compute_level(values, model)
        if level != team.level:
            session.add(
                LevelChange(
                    workspace_id=workspace_id,
                    team_id=team.id,
                    assessment_id=None,
                    from_level=team.level,
                    to_level=level,
                    changed_by=user_id,
                    cause=MODEL_CHANGE,
                    model_ref=model.ref,
                )
            )
            changed.append((team, team.level, level))
            team.level = level
    session.flush()
    return changed


def short_name(model: Checklist) -> str:
    """A model's name for a line of text: "Microsoft" for microsoft, else its name as given."""
    return model.name.replace("-", " ").replace("_", " ").title()


def describe(model: Checklist) -> str:
    """One line naming a model: "Microsoft's MLOps maturity model (microsoft, version 1)"."""
    return f"{model.title} ({model.name}, version {model.version})"
