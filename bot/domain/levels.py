"""Turning a team's answers into a maturity level, progress and one next step.

The rule is deliberately strict and simple so teams can check it by hand: a team is at the
highest level whose every required capability is answered YES, otherwise L0. Levels are
cumulative (L2 requires everything L1 does), only YES counts, and a capability with no answer
counts as not in place. "Partly" is surfaced as progress so partial work is visible without
inflating the level.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from bot.domain.checklist import DEFAULT_CHECKLIST, Answer, Checklist, Step

__all__ = [
    "LEVEL_NAMES",
    "MAX_LEVEL",
    "LevelReport",
    "compute_level",
    "level_label",
    "next_step",
    "report",
]

MAX_LEVEL = 2

LEVEL_NAMES: dict[int, str] = {0: "Manual", 1: "ML pipeline", 2: "CI/CD + continuous training"}


def level_label(level: int) -> str:
    """The short label used on cards and in messages, e.g. "L1 · ML pipeline"."""
    try:
        return f"L{level} · {LEVEL_NAMES[level]}"
    except KeyError:
        raise ValueError(f"unknown level {level!r}; levels are 0, 1 and 2") from None


@dataclass(frozen=True)
class LevelReport:
    """Where a team stands and what stands between it and the next level.

    `have`, `partly` and `missing` are capability ids in asking order, all taken from the
    requirements of `next_level` (or of L2 once the team is there, when `missing` is empty).
    `blocked_note` exists because the cumulative rule surprises people: a team with all of
    L2's additions but a gap in L1 scores L0, and the bot should say why in plain words.
    """

    level: int
    next_level: int | None
    have: tuple[str, ...]
    partly: tuple[str, ...]
    missing: tuple[str, ...]
    required_count: int
    yes_count: int
    l2_additions_done: int
    l2_additions_total: int
    blocked_note: str | None

    @property
    def progress_text(self) -> str:
        """Progress toward the next level, e.g. "3 of 5 for L1", or "All 9 in place"."""
        if self.next_level is None:
            return f"All {self.required_count} in place"
        return f"{self.yes_count} of {self.required_count} for L{self.next_level}"


def _is_yes(answers: Mapping[str, Answer], capability_id: str) -> bool:
    # Answer is a StrEnum, so plain stored strings such as "yes" compare equal too.
    return answers.get(capability_id) == Answer.YES


def compute_level(answers: Mapping[str, Answer], checklist: Checklist = DEFAULT_CHECKLIST) -> int:
    """The team's level: the highest whose required capabilities are all YES, else 0.

    Answers for ids the checklist does not define (say, from an older checklist version) are
    ignored rather than rejected, so a checklist change never makes old data unreadable.
    """
    level = 0
    for candidate in range(1, MAX_LEVEL + 1):
        if not all(_is_yes(answers, cid) for cid in checklist.required_for(candidate)):
            break
        level = candidate
    return level


def report(answers: Mapping[str, Answer], checklist: Checklist = DEFAULT_CHECKLIST) -> LevelReport:
    """Level, progress toward the next level and the blocked note, for cards and digests."""
    level = compute_level(answers, checklist)
    next_level = level + 1 if level < MAX_LEVEL else None
    required = checklist.required_for(next_level if next_level is not None else MAX_LEVEL)

    have = tuple(cid for cid in required if _is_yes(answers, cid))
    partly = tuple(cid for cid in required if answers.get(cid) == Answer.PARTLY)
    missing = tuple(cid for cid in required if not _is_yes(answers, cid))

    l2_additions = tuple(c.id for c in checklist.capabilities if c.level == MAX_LEVEL)
    l2_done = sum(1 for cid in l2_additions if _is_yes(answers, cid))

    blocked_note = None
    if level == 0 and l2_done:
        missing_l1 = ", ".join(checklist.capability(cid).title for cid in missing)
        blocked_note = (
            f"{l2_done}/{len(l2_additions)} of L2's additions, but L1 is not complete: "
            f"missing {missing_l1}."
        )

    return LevelReport(
        level=level,
        next_level=next_level,
        have=have,
        partly=partly,
        missing=missing,
        required_count=len(required),
        yes_count=len(have),
        l2_additions_done=l2_done,
        l2_additions_total=len(l2_additions),
        blocked_note=blocked_note,
    )


def next_step(
    answers: Mapping[str, Answer], checklist: Checklist = DEFAULT_CHECKLIST
) -> Step | None:
    """The first progression step with a capability not yet YES; None when all are done.

    Steps are taken strictly in order, even if a team has done later ones, because the model
    advises progressing incrementally rather than jumping ahead.
    """
    for step in checklist.steps:
        if not all(_is_yes(answers, cid) for cid in step.capability_ids):
            return step
    return None
