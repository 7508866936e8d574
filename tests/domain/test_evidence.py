"""The evidence rules (bot.domain.evidence), without network or database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.domain import DEFAULT_CHECKLIST, Answer, builtin_model
from bot.domain.evidence import (
    LIMITED,
    STALE_AFTER,
    CapabilityEvidence,
    EvidenceState,
    Fact,
    Signal,
    SourceKind,
    SourceStatus,
    Strength,
    evaluate,
    evaluate_all,
    mlflow_findings,
    repo_findings,
    suggested_answer,
    verified_level,
)

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
MLFLOW = SourceStatus(SourceKind.MLFLOW, "https://mlflow.example.com", NOW, None)
REPO = SourceStatus(SourceKind.REPO, "https://git.example.com/fraud.git", NOW, None)


def fact(kind, capability, strength, summary="s", observed=NOW - timedelta(hours=2), **details):
    return Fact(
        kind, capability, Strength(strength), summary, observed, observed + STALE_AFTER, details
    )


def by_capability(findings):
    return {f.capability_id: f for f in findings}


# --- MLflow findings ----------------------------------------------------------------


def test_recent_runs_are_strong_evidence_of_tracking_with_a_readable_summary():
    found = by_capability(
        mlflow_findings(
            {
                "experiments": 5,
                "runs_30d": 142,
                "experiments_with_runs": [{"name": "a"}, {"name": "b"}, {"name": "c"}],
            }
        )
    )
    tracking = found["experiment_tracking"]
    assert tracking.strength is Strength.STRONG
    assert tracking.summary == "MLflow: 142 runs in 30 days across 3 experiments"
    assert tracking.details["runs_30d"] == 142


def test_runs_over_the_page_cap_are_shown_as_at_least():
    found = by_capability(
        mlflow_findings({"runs_30d": 5000, "runs_capped": True, "experiments_with_runs": [{}]})
    )
    assert (
        found["experiment_tracking"].summary == "MLflow: 5000+ runs in 30 days across 1 experiment"
    )


def test_only_old_runs_are_weak_and_no_runs_are_none():
    old = by_capability(mlflow_findings({"experiments": 2, "last_run_at": "2026-08-01T10:00"}))
    assert old["experiment_tracking"].strength is Strength.WEAK
    assert "2026-08-01" in old["experiment_tracking"].summary
    empty = by_capability(mlflow_findings({"experiments": 2}))
    assert empty["experiment_tracking"].strength is Strength.NONE
    assert empty["experiment_tracking"].summary == "MLflow: no runs in 30 days in 2 experiments"


@pytest.mark.parametrize(
    ("models", "strength"),
    [
        ([{"name": "fraud", "versions": 3, "aliases": ["champion"], "stages": []}], "strong"),
        ([{"name": "fraud", "versions": 1, "aliases": [], "stages": ["Production"]}], "strong"),
        ([{"name": "fraud", "versions": 2, "aliases": [], "stages": ["None"]}], "strong"),
        ([{"name": "fraud", "versions": 1, "aliases": [], "stages": ["None"]}], "weak"),
        ([{"name": "fraud", "versions": 0, "aliases": [], "stages": []}], "none"),
        ([], "none"),
    ],
)
def test_model_registry_needs_versions_and_promotion(models, strength):
    registry = by_capability(mlflow_findings({"models": models}))["model_registry"]
    assert registry.strength == strength


def test_registry_summary_counts_models_and_aliases():
    models = [
        {"name": "a", "versions": 2, "aliases": ["champion", "challenger"]},
        {"name": "b", "versions": 1, "aliases": []},
    ]
    registry = by_capability(mlflow_findings({"models": models}))["model_registry"]
    assert registry.summary == "MLflow: 2 registered models with versions, 2 aliases"


# --- Repository findings ------------------------------------------------------------


def test_repo_findings_cover_every_capability_and_name_the_strongest_file():
    signals = [
        Signal("experiment_tracking", Strength.WEAK, "MLproject", "MLproject"),
        Signal("experiment_tracking", Strength.STRONG, "mlflow.log_metric", "train/train.py", 12),
        Signal("experiment_tracking", Strength.STRONG, "wandb.init", "train/other.py", 3),
    ]
    found = by_capability(
        repo_findings(signals, link="https://git.example.com/blob/abc/{path}", commit="abc")
    )
    assert set(found) == set(DEFAULT_CHECKLIST.ids)
    tracking = found["experiment_tracking"]
    assert tracking.strength is Strength.STRONG
    assert tracking.summary == "Repo: wandb.init in train/other.py (+2 more)"  # by path
    first = tracking.details["signals"][1]
    assert first["link"] == "https://git.example.com/blob/abc/train/train.py"
    assert first["line"] == 12 and tracking.details["commit"] == "abc"
    assert found["cicd"].strength is Strength.NONE
    assert found["cicd"].summary == "Repo: no CI job that trains, evaluates or promotes a model"


# --- Combining facts ----------------------------------------------------------------


def test_nothing_connected_is_unknown_never_no():
    result = evaluate("model_registry", [], [], NOW, Answer.YES)
    assert result.state is EvidenceState.UNKNOWN
    assert result.summary == "No tool connected that shows this"
    assert suggested_answer(result.state) is None


def test_a_source_that_cannot_speak_for_a_capability_leaves_it_unknown():
    result = evaluate("cicd", [], [MLFLOW], NOW, Answer.YES)
    assert result.state is EvidenceState.UNKNOWN


def test_strong_is_verified_weak_is_partial_none_is_not_found():
    for strength, state in [
        ("strong", EvidenceState.VERIFIED),
        ("weak", EvidenceState.PARTIAL),
        ("none", EvidenceState.NOT_FOUND),
    ]:
        facts = [fact(SourceKind.MLFLOW, "experiment_tracking", strength, "MLflow: x")]
        result = evaluate("experiment_tracking", facts, [MLFLOW], NOW)
        assert result.state is state
        assert result.summary == "MLflow: x"
        assert result.checked_at == NOW - timedelta(hours=2)


def test_the_strongest_source_wins():
    facts = [
        fact(SourceKind.MLFLOW, "experiment_tracking", "none", "MLflow: nothing"),
        fact(SourceKind.REPO, "experiment_tracking", "strong", "Repo: wandb.init in t.py"),
    ]
    result = evaluate("experiment_tracking", facts, [MLFLOW, REPO], NOW, Answer.YES)
    assert result.state is EvidenceState.VERIFIED
    assert result.summary == "Repo: wandb.init in t.py"
    assert [d["source"] for d in result.details] == ["repo", "mlflow"]


def test_stale_facts_are_unknown_after_seven_days():
    observed = NOW - STALE_AFTER - timedelta(minutes=1)
    facts = [fact(SourceKind.MLFLOW, "model_registry", "strong", observed=observed)]
    result = evaluate("model_registry", facts, [MLFLOW], NOW, Answer.YES)
    assert result.state is EvidenceState.UNKNOWN
    assert result.summary == "Stale: last checked 7 days ago"
    just_fresh = [
        fact(
            SourceKind.MLFLOW, "model_registry", "strong", observed=observed + timedelta(minutes=2)
        )
    ]
    assert evaluate("model_registry", just_fresh, [MLFLOW], NOW).state is EvidenceState.VERIFIED


def test_an_unreachable_source_without_facts_is_unknown_with_its_error():
    down = SourceStatus(SourceKind.MLFLOW, "https://m", NOW, "401 Unauthorized")
    result = evaluate("model_registry", [], [down], NOW, Answer.YES)
    assert result.state is EvidenceState.UNKNOWN
    assert result.summary == "MLflow: could not check (401 Unauthorized)"


def test_fresh_facts_outlive_a_failed_read():
    down = SourceStatus(SourceKind.MLFLOW, "https://m", NOW, "timed out")
    facts = [fact(SourceKind.MLFLOW, "model_registry", "strong")]
    assert evaluate("model_registry", facts, [down], NOW).state is EvidenceState.VERIFIED


def test_facts_of_a_disconnected_source_are_ignored():
    facts = [fact(SourceKind.REPO, "experiment_tracking", "strong")]
    assert evaluate("experiment_tracking", facts, [MLFLOW], NOW).state is not EvidenceState.VERIFIED


def test_contradiction_when_yes_and_the_authoritative_source_has_nothing():
    facts = [fact(SourceKind.MLFLOW, "model_registry", "none", "MLflow: no registered model")]
    result = evaluate("model_registry", facts, [MLFLOW], NOW, Answer.YES)
    assert result.state is EvidenceState.CONTRADICTION
    assert result.summary == "MLflow: no registered model"
    # Partly, No or no answer: the same facts are just "not found"
    for answer in (Answer.PARTLY, Answer.NO, Answer.NOT_SURE, None):
        assert evaluate("model_registry", facts, [MLFLOW], NOW, answer).state is (
            EvidenceState.NOT_FOUND
        )


def test_a_weak_hint_elsewhere_does_not_excuse_an_empty_registry():
    facts = [
        fact(SourceKind.MLFLOW, "model_registry", "none", "MLflow: no registered model"),
        fact(SourceKind.REPO, "model_registry", "weak", "Repo: model.pkl"),
    ]
    result = evaluate("model_registry", facts, [MLFLOW, REPO], NOW, "yes")
    assert result.state is EvidenceState.CONTRADICTION


def test_no_contradiction_from_a_repository_or_stale_or_limited_evidence():
    repo_none = [fact(SourceKind.REPO, "cicd", "none")]
    assert evaluate("cicd", repo_none, [REPO], NOW, Answer.YES).state is EvidenceState.NOT_FOUND
    stale = [fact(SourceKind.MLFLOW, "model_registry", "none", observed=NOW - timedelta(days=8))]
    assert evaluate("model_registry", stale, [MLFLOW], NOW, Answer.YES).state is (
        EvidenceState.UNKNOWN
    )
    for capability in LIMITED:
        result = evaluate(
            capability, [fact(SourceKind.REPO, capability, "none")], [REPO], NOW, "yes"
        )
        assert result.state is EvidenceState.NOT_FOUND and result.limited


def test_limited_flag_is_set_for_exactly_the_three_unproven_capabilities():
    results = evaluate_all([], [REPO], NOW)
    assert list(results) == list(DEFAULT_CHECKLIST.ids)
    assert {cid for cid, r in results.items() if r.limited} == {
        "feature_store",
        "drift_monitoring",
        "ab_testing",
    }


def _states(verified: set[str]) -> dict[str, CapabilityEvidence]:
    return {
        cid: CapabilityEvidence(
            cid, EvidenceState.VERIFIED if cid in verified else EvidenceState.PARTIAL, ""
        )
        for cid in DEFAULT_CHECKLIST.ids
    }


def test_a_level_is_verified_only_when_all_its_capabilities_are():
    l1 = set(DEFAULT_CHECKLIST.required_for(1))
    l2 = set(DEFAULT_CHECKLIST.required_for(2))
    assert verified_level(_states(set())) == 0
    assert verified_level(_states(l1 - {"feature_store"})) == 0
    assert verified_level(_states(l1)) == 1
    assert verified_level(_states(l2 - {"drift_monitoring"})) == 1
    assert verified_level(_states(l2)) == 2
    # cumulative: L2's additions without L1 verify nothing
    assert verified_level(_states(l2 - {"data_versioning"})) == 0
    # plain states work too
    assert verified_level(dict.fromkeys(l2, EvidenceState.VERIFIED)) == 2


def test_suggested_answers():
    assert suggested_answer(EvidenceState.VERIFIED) is Answer.YES
    assert suggested_answer(EvidenceState.PARTIAL) is Answer.PARTLY
    assert suggested_answer(EvidenceState.NOT_FOUND) is Answer.NO
    assert suggested_answer(EvidenceState.UNKNOWN) is None


def test_a_capability_no_source_reads_is_unknown_and_keeps_a_level_unverified():
    microsoft = builtin_model("microsoft")
    result = evaluate("source_control", [], [REPO, MLFLOW], NOW, Answer.YES)
    assert result.state is EvidenceState.UNKNOWN
    assert result.summary == "The bot cannot check this from MLflow or Git"
    everything = dict.fromkeys(microsoft.ids, EvidenceState.VERIFIED)
    assert verified_level(everything, microsoft) == microsoft.top_level
    everything["source_control"] = result.state
    assert verified_level(everything, microsoft) == 0
