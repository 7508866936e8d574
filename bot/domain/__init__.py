"""The maturity model as plain Python: checklist, level rule and next step.

Kept free of Slack, database and template imports so the rules can be tested exhaustively and
reused by every surface (commands, nudges, digests, the CLI) without dragging them in.
"""

from bot.domain.checklist import (
    DEFAULT_CHECKLIST,
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
    LEVEL_NAMES,
    LevelReport,
    compute_level,
    level_label,
    next_step,
    report,
)

__all__ = [
    "DEFAULT_CHECKLIST",
    "LEVEL_NAMES",
    "Answer",
    "Capability",
    "Checklist",
    "ChecklistError",
    "LevelReport",
    "Step",
    "checklist_from_dict",
    "checklist_to_dict",
    "compute_level",
    "level_label",
    "load_checklist",
    "next_step",
    "report",
]
