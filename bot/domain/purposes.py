"""What a team's models are for, and what that means for how the bot treats it.

Google's maturity model says Level 0 is fine for research, proofs of concept and single-use
models, and that the return is highest where production teams move up from Level 0. So a
team has a purpose: production (the default) or one of those; a team that is not in
production is "at L0 by choice": not nudged, not listed as behind, counted apart.
"""

from __future__ import annotations

import enum

from bot.domain.levels import level_label

__all__ = [
    "PURPOSES",
    "Purpose",
    "a_team_of",
    "by_choice",
    "in_production",
    "parse_purpose",
    "purpose_label",
    "teams_count",
]


class Purpose(enum.StrEnum):
    PRODUCTION = "production"
    RESEARCH = "research"
    PROOF_OF_CONCEPT = "proof_of_concept"
    SINGLE_USE = "single_use"


PURPOSES = tuple(Purpose)

_LABELS = {
    Purpose.PRODUCTION: "production",
    Purpose.RESEARCH: "research",
    Purpose.PROOF_OF_CONCEPT: "proof of concept",
    Purpose.SINGLE_USE: "single-use",
}
# As an adjective before "team": "a proof-of-concept team".
_ADJECTIVES = {**_LABELS, Purpose.PROOF_OF_CONCEPT: "proof-of-concept"}

_WORDS = {
    "production": Purpose.PRODUCTION,
    "prod": Purpose.PRODUCTION,
    "research": Purpose.RESEARCH,
    "poc": Purpose.PROOF_OF_CONCEPT,
    "proof of concept": Purpose.PROOF_OF_CONCEPT,
    "proof-of-concept": Purpose.PROOF_OF_CONCEPT,
    "proof_of_concept": Purpose.PROOF_OF_CONCEPT,
    "single-use": Purpose.SINGLE_USE,
    "single use": Purpose.SINGLE_USE,
    "single_use": Purpose.SINGLE_USE,
    "one-off": Purpose.SINGLE_USE,
}


def purpose_label(purpose: Purpose | str) -> str:
    """ "production", "research", "proof of concept", "single-use"."""
    return _LABELS[Purpose(purpose)]


def in_production(purpose: Purpose | str | None) -> bool:
    """Production is the default: a team whose purpose is unknown is treated as one."""
    return purpose is None or Purpose(purpose) == Purpose.PRODUCTION


def teams_count(purpose: Purpose | str, count: int) -> str:
    """ "4 research teams", "1 proof-of-concept team"."""
    return f"{count} {_ADJECTIVES[Purpose(purpose)]} team{'' if count == 1 else 's'}"


def a_team_of(purpose: Purpose | str) -> str:
    """ "a research team", "a proof-of-concept team"."""
    return f"a {_ADJECTIVES[Purpose(purpose)]} team"


def by_choice() -> str:
    """ "L0 by choice": the lowest level's short name, as the model names it."""
    return f"{level_label(0).split(' · ')[0]} by choice"


def parse_purpose(text: str) -> Purpose | None:
    """A purpose typed by a person (`research`, `poc`, `single-use`, ...); None if not one."""
    return _WORDS.get(" ".join(text.lower().split()))
