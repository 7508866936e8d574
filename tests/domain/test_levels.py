"""The level rule, progress report and next step, checked against an independent oracle."""

from __future__ import annotations

import itertools

import pytest

from bot.domain.checklist import DEFAULT_CHECKLIST, Answer, checklist_from_dict
from bot.domain.levels import (
    compute_level,
    level_label,
    next_step,
    report,
)

# Written out from maturity-model.md's table, not read from the checklist, so a wrong level in
# DEFAULT_CHECKLIST makes the oracle disagree instead of agreeing with itself.
L1_IDS = (
    "experiment_tracking",
    "automated_training",
    "data_versioning",
    "feature_store",
    "model_registry",
)
L2_ONLY_IDS = ("cicd", "automated_retraining", "ab_testing", "drift_monitoring")
ALL_IDS = L1_IDS + L2_ONLY_IDS

Y, P, N, U = Answer.YES, Answer.PARTLY, Answer.NO, Answer.NOT_SURE


def oracle_level(combo: tuple[Answer, ...]) -> int:
    """Count YES answers: all five L1 ones for L1, and all nine for L2."""
    l1_yes = combo[:5].count(Answer.YES)
    l2_only_yes = combo[5:].count(Answer.YES)
    if l1_yes < 5:
        return 0
    return 2 if l2_only_yes == 4 else 1


def answers(**kw: Answer) -> dict[str, Answer]:
    return dict(kw)


def all_yes_except(**kw: Answer) -> dict[str, Answer]:
    return {cid: Answer.YES for cid in ALL_IDS} | kw


def test_default_checklist_matches_the_oracles_split() -> None:
    assert set(DEFAULT_CHECKLIST.ids) == set(ALL_IDS)
    assert set(DEFAULT_CHECKLIST.required_for(1)) == set(L1_IDS)
    assert set(DEFAULT_CHECKLIST.required_for(2)) == set(ALL_IDS)


def test_level_rule_over_every_combination_of_answers() -> None:
    combos = itertools.product(tuple(Answer), repeat=len(ALL_IDS))
    checked = 0
    per_level = {0: 0, 1: 0, 2: 0}
    for combo in combos:
        expected = oracle_level(combo)
        got = compute_level(dict(zip(ALL_IDS, combo, strict=True)))
        if got != expected:
            pytest.fail(f"{dict(zip(ALL_IDS, combo, strict=True))}: got L{got}, want L{expected}")
        per_level[got] += 1
        checked += 1
    assert checked == 4**9 == 262_144
    # L2 needs all nine YES: exactly one combination; L1 needs the five L1 YES and not all four
    # L2-only YES: 4**4 - 1 combinations.
    assert per_level == {0: 4**9 - 4**4, 1: 4**4 - 1, 2: 1}


def test_missing_answers_count_as_not_yes_for_every_subset() -> None:
    for mask in itertools.product((True, False), repeat=len(ALL_IDS)):
        given = {cid: Answer.YES for cid, present in zip(ALL_IDS, mask, strict=True) if present}
        combo = tuple(Answer.YES if present else Answer.NO for present in mask)
        assert compute_level(given) == oracle_level(combo), given


def test_report_counts_over_every_yes_partly_no_combination() -> None:
    for combo in itertools.product((Y, P, N), repeat=len(ALL_IDS)):
        given = dict(zip(ALL_IDS, combo, strict=True))
        r = report(given)
        level = oracle_level(combo)
        assert r.level == level
        target = L1_IDS if level == 0 else ALL_IDS
        assert r.required_count == len(target)
        assert r.yes_count == sum(given[c] == Y for c in target) == len(r.have)
        assert set(r.have) == {c for c in target if given[c] == Y}
        assert set(r.partly) == {c for c in target if given[c] == P}
        assert set(r.missing) == {c for c in target if given[c] != Y}
        assert r.top_additions_done == sum(given[c] == Y for c in L2_ONLY_IDS)
        assert (r.blocked_note is not None) == (level == 0 and r.top_additions_done > 0)


def test_all_yes_is_l2_with_nothing_missing() -> None:
    r = report(all_yes_except())
    assert r.level == 2
    assert r.next_level is None
    assert r.missing == ()
    assert r.progress_text == "All 9 in place"
    assert r.blocked_note is None
    assert next_step(all_yes_except()) is None


def test_nothing_answered_is_l0_toward_l1() -> None:
    r = report({})
    assert r.level == 0
    assert r.next_level == 1
    assert r.progress_text == "0 of 5 for L1"
    assert r.missing == (
        "data_versioning",
        "experiment_tracking",
        "model_registry",
        "automated_training",
        "feature_store",
    )
    assert r.blocked_note is None


def test_three_l1_capabilities_show_progress_toward_l1() -> None:
    r = report(answers(data_versioning=Y, experiment_tracking=Y, model_registry=Y))
    assert r.level == 0
    assert r.progress_text == "3 of 5 for L1"
    assert r.missing == ("automated_training", "feature_store")


def test_the_five_l1_capabilities_make_l1_and_progress_is_then_toward_l2() -> None:
    given = {cid: Y for cid in L1_IDS}
    r = report(given)
    assert r.level == 1
    assert r.next_level == 2
    assert r.progress_text == "5 of 9 for L2"
    assert r.missing == ("cicd", "ab_testing", "automated_retraining", "drift_monitoring")
    assert level_label(r.level) == "L1 · ML pipeline"


def test_l1_plus_two_l2_additions_counts_seven_of_nine() -> None:
    r = report(all_yes_except(automated_retraining=N, drift_monitoring=P))
    assert r.level == 1
    assert r.progress_text == "7 of 9 for L2"
    assert r.partly == ("drift_monitoring",)
    assert r.top_additions_done == 2
    assert r.blocked_note is None


def test_partly_never_counts_toward_a_level() -> None:
    everything_partly = {cid: P for cid in ALL_IDS}
    assert compute_level(everything_partly) == 0
    r = report(all_yes_except(feature_store=P))
    assert r.level == 0
    assert r.progress_text == "4 of 5 for L1"
    assert r.partly == ("feature_store",)
    assert compute_level(all_yes_except(drift_monitoring=P)) == 1


@pytest.mark.parametrize("answer", [N, U, P])
def test_one_l2_gap_of_any_kind_keeps_a_team_at_l1(answer: Answer) -> None:
    assert compute_level(all_yes_except(ab_testing=answer)) == 1


def test_l2_additions_without_a_feature_store_is_l0_and_says_why() -> None:
    r = report(all_yes_except(feature_store=N))
    assert r.level == 0
    assert r.top_additions_done == 4
    assert r.blocked_note == (
        "4/4 of L2's additions, but L1 is not complete: missing Feature store."
    )


def test_blocked_note_lists_every_missing_l1_title_in_asking_order() -> None:
    given = answers(cicd=Y, feature_store=N, data_versioning=P, experiment_tracking=Y)
    r = report(given)
    assert r.blocked_note == (
        "1/4 of L2's additions, but L1 is not complete: "
        "missing Data versioning, Model registry, Automated training, Feature store."
    )


def test_stored_string_values_are_understood() -> None:
    # Services may hand over raw values read from the database.
    given = {cid: "yes" for cid in ALL_IDS}
    assert compute_level(given) == 2  # type: ignore[arg-type]


def test_answers_for_ids_outside_the_checklist_are_ignored() -> None:
    given = {cid: Y for cid in L1_IDS} | {"retired_capability": N}
    assert compute_level(given) == 1


def test_a_custom_checklist_uses_its_own_requirements() -> None:
    custom = checklist_from_dict(
        {
            "version": "acme-1",
            "capabilities": [
                {
                    "id": "tracking",
                    "title": "Tracking",
                    "question": "Do you track runs?",
                    "help": "Runs are logged.",
                    "tools": [],
                    "level": 1,
                    "step": 1,
                },
                {
                    "id": "canary",
                    "title": "Canary",
                    "question": "Do you ship behind a canary?",
                    "help": "A slice of traffic first.",
                    "tools": [],
                    "level": 2,
                    "step": 2,
                },
            ],
            "steps": [
                {
                    "number": 1,
                    "title": "Track",
                    "why": "First.",
                    "tools": [],
                    "capability_ids": ["tracking"],
                },
                {
                    "number": 2,
                    "title": "Ship",
                    "why": "Then.",
                    "tools": [],
                    "capability_ids": ["canary"],
                },
            ],
        }
    )
    assert compute_level({"tracking": Y}, custom) == 1
    assert compute_level({"tracking": Y, "canary": Y}, custom) == 2
    # The default's capabilities mean nothing to the custom checklist.
    assert compute_level(all_yes_except(), custom) == 0
    r = report({"tracking": Y}, custom)  # the card of a team at the custom L1
    assert (r.level, r.progress_text) == (1, "1 of 2 for L2")
    r = report({"canary": Y}, custom)
    assert r.progress_text == "0 of 1 for L1"
    assert r.blocked_note == "1/1 of L2's additions, but L1 is not complete: missing Tracking."
    step = next_step({"tracking": Y}, custom)
    assert step is not None
    assert step.number == 2


@pytest.mark.parametrize(
    ("given", "expected_step"),
    [
        ({}, 1),
        (answers(data_versioning=Y), 2),
        (answers(data_versioning=Y, experiment_tracking=Y), 2),
        (answers(data_versioning=Y, experiment_tracking=Y, model_registry=P), 2),
        (answers(data_versioning=Y, experiment_tracking=Y, model_registry=Y), 3),
        ({cid: Y for cid in L1_IDS if cid != "feature_store"}, 4),
        ({cid: Y for cid in L1_IDS}, 5),
        (all_yes_except(cicd=Y, ab_testing=N, automated_retraining=N, drift_monitoring=N), 5),
        (all_yes_except(drift_monitoring=U), 6),
        # Later steps done do not let a team skip an earlier one.
        (all_yes_except(data_versioning=P), 1),
        (all_yes_except(automated_training=N), 3),
    ],
)
def test_next_step_is_the_first_unfinished_step(given: dict, expected_step: int) -> None:
    step = next_step(given)
    assert step is not None
    assert step.number == expected_step


def test_next_step_for_a_new_team_is_versioning_with_dvc() -> None:
    step = next_step({})
    assert step is not None
    assert step.capability_ids == ("data_versioning",)
    assert "DVC" in step.tools


def test_level_labels() -> None:
    assert [level_label(n) for n in DEFAULT_CHECKLIST.levels] == [
        "L0 · Manual",
        "L1 · ML pipeline",
        "L2 · CI/CD + continuous training",
    ]
    with pytest.raises(ValueError, match="unknown level 3"):
        level_label(3)
