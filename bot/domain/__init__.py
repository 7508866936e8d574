"""The maturity model as plain Python: checklist, level rule and next step.

Kept free of Slack, database and template imports so the rules can be tested exhaustively and
reused by every surface (commands, nudges, digests, the CLI) without dragging them in.
"""

from bot.domain.checklist import (
    Answer,
    Capability,
    Checklist,
    ChecklistError,
    Step,
    checklist_from_dict,
    checklist_to_dict,
    load_checklist,
)
from bot.domain.levels import (
    LevelReport,
    compute_level,
    level_label,
    next_step,
    report,
)
from bot.domain.model_file import (
    BUILTIN_MODELS,
    DEFAULT_CHECKLIST,
    ModelFileError,
    builtin_model,
    load_model,
    model_to_yaml,
    parse_model,
)
from bot.domain.purposes import (
    PURPOSES,
    Purpose,
    a_team_of,
    by_choice,
    in_production,
    parse_purpose,
    purpose_label,
    teams_count,
)

__all__ = [
    "DEFAULT_CHECKLIST",
    "BUILTIN_MODELS",
    "ModelFileError",
    "builtin_model",
    "load_model",
    "model_to_yaml",
    "parse_model",
    "PURPOSES",
    "Answer",
    "Capability",
    "Checklist",
    "ChecklistError",
    "LevelReport",
    "Purpose",
    "Step",
    "a_team_of",
    "by_choice",
    "checklist_from_dict",
    "checklist_to_dict",
    "compute_level",
    "in_production",
    "level_label",
    "load_checklist",
    "next_step",
    "parse_purpose",
    "purpose_label",
    "report",
    "teams_count",
]
