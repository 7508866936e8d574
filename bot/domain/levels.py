"""Turning a team's answers into a maturity level, progress and one next step, in any model.

The rule is deliberately strict and simple so teams can check it by hand: a team is at the
highest level whose every required capability is answered YES, otherwise level 0. Levels are
cumulative (each level requires everything the levels below it do), only YES counts, and a
capability with no answer counts as not in place. "Partly" is surfaced as progress so partial
work is visible without inflating the level. The model (a `Checklist`) says how many levels
there are and what each requires; nothing here assumes Google's three.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from bot.domain.checklist import Answer, Checklist, Step


def _default() -> Checklist:
    from bot.domain.checklist import DEFAULT_CHECKLIST

    return DEFAULT_CHECKLIST


__all__ = [
    "LevelReport",
    "compute_level",
    "level_label",
    "next_step",
    "report",
]


def level_label(level: int, checklist: Checklist | None = None) -> str:
    """The short label used on cards and in messages, e.g. "L1 · ML pipeline"."""
    return (checklist or _default()).level_label(level)


@dataclass(frozen=True)
class LevelReport:
    """Where a team stands and what stands between it and the next level.

    `have`, `partly` and `missing` are capability ids in asking order, all taken from the
    requirements of `next_level` (or of the top level once the team is there, when `missing`
    is empty). `blocked_note` exists because the cumulative rule surprises people: a team with
    the additions of higher levels in place but a gap in the next one stays where it is, and
    the bot should say why in plain words ("4/4 of L2's additions, but L1 is not complete").
    `top_additions_done` of `top_additions_total` counts the top level's own additions.
    """

    level: int
    next_level: int | None
    have: tuple[str, ...]
    partly: tuple[str, ...]
    missing: tuple[str, ...]
    required_count: int
    yes_count: int
    top_additions_done: int
    top_additions_total: int
    blocked_note: str | None
    top_level: int = 2

    @property
    def progress_text(self) -> str:
        """Progress toward the next level, e.g. "3 of 5 for L1", or "All 9 in place"."""
        if self.next_level is None:
            return f"All {self.required_count} in place"
        return f"{self.yes_count} of {self.required_count} for L{self.next_level}"


def _is_yes(answers: Mapping[str, Answer], capability_id: str) -> bool:
    # Answer is a StrEnum, so plain stored strings such as "yes" compare equal too.
    return answers.get(capability_id) == Answer.YES


def compute_level(answers: Mapping[str, Answer], checklist: Checklist | None = None) -> int:
    """The team's level: the highest whose required capabilities are all YES, else 0.

    Answers for ids the checklist does not define (say, from an older checklist version) are
    ignored rather than rejected, so a checklist change never makes old data unreadable.
    """
    checklist = checklist or _default()
    level = 0
    for candidate in range(1, checklist.top_level + 1):
        if not all(_is_yes(answers, cid) for cid in checklist.required_for(candidate)):
            break
        level = candidate
    return level


def report(answers: Mapping[str, Answer], checklist: Checklist | None = None) -> LevelReport:
    """Level, progress toward the next level and the blocked note, for cards and digests."""
    checklist = checklist or _default()
    top = checklist.top_level
    level = compute_level(answers, checklist)
    next_level = level + 1 if level < top else None
    required = checklist.required_for(next_level if next_level is not None else top)

    have = tuple(cid for cid in required if _is_yes(answers, cid))
    partly = tuple(cid for cid in required if answers.get(cid) == Answer.PARTLY)
    missing = tuple(cid for cid in required if not _is_yes(answers, cid))

    # What the team has done of the levels beyond the next one, which cannot count yet.
    beyond = next_level if next_level is not None else top
    ahead = tuple(c for c in checklist.capabilities if c.level > beyond)
    ahead_done = sum(1 for c in ahead if _is_yes(answers, c.id))

    top_additions = tuple(c.id for c in checklist.capabilities if c.level == top)

    blocked_note = None
    if ahead_done:
        ahead_levels = sorted({c.level for c in ahead})
        whose = (
            f"L{ahead_levels[0]}'s additions"
            if len(ahead_levels) == 1
            else f"the additions of L{ahead_levels[0]} to L{ahead_levels[-1]}"
        )
        missing_titles = ", ".join(checklist.capability(cid).title for cid in missing)
        blocked_note = (
            f"{ahead_done}/{len(ahead)} of {whose}, but L{next_level} is not complete: "
            f"missing {missing_titles}."
        )

    return LevelReport(
        level=level,
        next_level=next_level,
        have=have,
        partly=partly,
        missing=missing,
        required_count=len(required),
        yes_count=len(have),
        top_additions_done=sum(1 for cid in top_additions if _is_yes(answers, cid)),
        top_additions_total=len(top_additions),
        blocked_note=blocked_note,
        top_level=top,
    )


def next_step(answers: Mapping[str, Answer], checklist: Checklist | None = None) -> Step | None:
    """The first progression step with a capability not yet YES; None when all are done.

    Steps are taken strictly in order, even if a team has done later ones, because the model
    advises progressing incrementally rather than jumping ahead.
    """
    for step in (checklist or _default()).steps:
        if not all(_is_yes(answers, cid) for cid in step.capability_ids):
            return step
    return None
