"""Purposes as plain words: what people may type, and how counts and labels read."""

import pytest

from bot.domain import (
    Purpose,
    a_team_of,
    by_choice,
    in_production,
    parse_purpose,
    purpose_label,
    teams_count,
)


@pytest.mark.parametrize(
    "typed,purpose",
    [
        ("production", Purpose.PRODUCTION),
        ("Prod", Purpose.PRODUCTION),
        ("research", Purpose.RESEARCH),
        ("POC", Purpose.PROOF_OF_CONCEPT),
        ("proof  of concept", Purpose.PROOF_OF_CONCEPT),
        ("single-use", Purpose.SINGLE_USE),
        ("single use", Purpose.SINGLE_USE),
        ("hobby", None),
        ("", None),
    ],
)
def test_parse_purpose(typed, purpose):
    assert parse_purpose(typed) is purpose


def test_labels_and_counts_read_as_english():
    assert teams_count(Purpose.RESEARCH, 4) == "4 research teams"
    assert teams_count("proof_of_concept", 1) == "1 proof-of-concept team"
    assert a_team_of(Purpose.SINGLE_USE) == "a single-use team"
    assert purpose_label(Purpose.PROOF_OF_CONCEPT) == "proof of concept"
    assert by_choice() == "L0 by choice"


def test_only_production_and_unknown_count_as_production():
    assert in_production(Purpose.PRODUCTION) and in_production(None)
    assert not any(in_production(p) for p in Purpose if p is not Purpose.PRODUCTION)
