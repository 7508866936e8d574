"""The evidence service (bot.services.evidence) on the rolled-back session, both databases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from bot.config import ConfigError, Settings, load_settings
from bot.domain import DEFAULT_CHECKLIST
from bot.domain.evidence import EvidenceState, SourceKind, mlflow_findings
from bot.errors import Forbidden, NotFound, UserError
from bot.evidence.hosts import HostRefused
from bot.models import EvidenceFact, EvidenceSource, SlackUser, utcnow
from bot.sandbox.seed import seed_finished_assessment
from bot.services import evidence, permissions, workspaces
from bot.services import teams as team_service

WS, OTHER = "T0EVIDENCE", "T0OTHER"
NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
SETTINGS = Settings(
    slack_bot_token="xoxb-unused",
    slack_signing_secret="unused",
    evidence_allowed_hosts=frozenset({"mlflow.example.com", "*.git.example.com", "localhost:5000"}),
)


def team(session, name="Fraud ML", workspace=WS):
    return team_service.create_team(session, workspace, name, "UOWNER")


def count(session, model, *where) -> int:
    return session.scalar(select(func.count()).select_from(model).where(*where))


def test_connect_stores_the_source_and_marks_it_for_the_worker(session):
    fraud = team(session)
    source = evidence.connect_source(
        session,
        SETTINGS,
        fraud,
        "MLflow",
        "<https://mlflow.example.com/>",
        {"experiments": "fraud-", "models": "fraud"},
        "UOWNER",
        NOW,
    )
    assert (source.kind, source.url) == (SourceKind.MLFLOW, "https://mlflow.example.com/")
    assert source.options == {"experiments": "fraud-", "models": "fraud"}
    assert source.created_by == "UOWNER" and source.workspace_id == WS
    assert evidence.pending_refresh(source)
    assert [s.kind for s in evidence.sources_for_team(session, fraud)] == [SourceKind.MLFLOW]


@pytest.mark.parametrize(
    ("kind", "url", "says"),
    [
        ("mlflow", "https://evil.example.org", "EVIDENCE_ALLOWED_HOSTS"),
        ("mlflow", "http://169.254.169.254/latest", "EVIDENCE_ALLOWED_HOSTS"),
        ("mlflow", "https://mlflow.example.com.evil.org", "EVIDENCE_ALLOWED_HOSTS"),
        ("mlflow", "https://localhost:5001", "EVIDENCE_ALLOWED_HOSTS"),
        ("repo", "https://git.example.com/x.git", "EVIDENCE_ALLOWED_HOSTS"),  # only subdomains
        ("mlflow", "https://bob:hunter2@mlflow.example.com", "never takes them in Slack"),
        ("mlflow", "ftp://mlflow.example.com", "not `ftp`"),
        ("repo", "file:///etc", "EVIDENCE_ALLOW_FILE_URLS"),
        ("repo", "ext::sh -c touch% /tmp/pwned", "without spaces"),
        ("mlflow", "https://mlflow.example.com/?x=1", "without `?"),
    ],
)
def test_connect_refuses_what_the_bot_must_not_contact(session, kind, url, says):
    fraud = team(session)
    with pytest.raises(HostRefused) as refused:
        evidence.connect_source(session, SETTINGS, fraud, kind, url, {}, "UOWNER", NOW)
    assert says in str(refused.value)
    assert "hunter2" not in str(refused.value)
    assert count(session, EvidenceSource) == 0


def test_nothing_is_allowed_by_default(session):
    fraud = team(session)
    bare = Settings(slack_bot_token="xoxb-unused", slack_signing_secret="unused")
    with pytest.raises(HostRefused, match=r"EVIDENCE_ALLOWED_HOSTS \(now: none\)"):
        evidence.connect_source(
            session, bare, fraud, "repo", "https://github.com/a/b", {}, "UOWNER", NOW
        )


def test_repo_urls_in_every_accepted_form(session):
    fraud = team(session)
    for url in (
        "https://code.git.example.com/ml/fraud.git",
        "git://code.git.example.com/fraud.git",
        "git@code.git.example.com:ml/fraud.git",
        "ssh://git@code.git.example.com/ml/fraud.git",
    ):
        source = evidence.connect_source(
            session,
            SETTINGS,
            fraud,
            "repo",
            url,
            {"branch": "main", "path": "/svc/fraud/"},
            "UOWNER",
            NOW,
        )
        assert source.url == url and source.options == {"branch": "main", "path": "svc/fraud"}
    assert count(session, EvidenceSource) == 1  # one repository per team: replaced


def test_options_typed_in_slack(session):
    assert evidence.options_from_words("mlflow", ["experiments=fraud-", "models=fr"]) == {
        "experiments": "fraud-",
        "models": "fr",
    }
    assert evidence.options_from_words("repo", ["release/2", "services/fraud"]) == {
        "branch": "release/2",
        "path": "services/fraud",
    }
    assert evidence.options_from_words("repo", ["path=ml"]) == {"path": "ml"}
    for kind, words, says in [
        ("mlflow", ["colour=blue"], "not an option"),
        ("mlflow", ["fraud"], "don't know what"),
        ("mlflow", ["experiments=it's"], "without quotes"),
        ("repo", ["main", "../etc"], "without `..`"),
        ("repo", ["--upload-pack=touch"], "not an option"),
        ("repo", ["-main"], "not a branch name"),
        ("repo", ["a", "b", "c"], "don't know what"),
        ("svn", [], "`mlflow` or `repo`"),
    ]:
        with pytest.raises(UserError, match=says):
            evidence.options_from_words(kind, words)


def test_reconnecting_replaces_the_source_and_drops_its_facts(session):
    fraud = team(session)
    source = evidence.connect_source(
        session, SETTINGS, fraud, "mlflow", "https://mlflow.example.com", {}, "UOWNER", NOW
    )
    evidence.record_findings(session, source, mlflow_findings({"runs_30d": 3}), NOW)
    assert count(session, EvidenceFact) == 2
    again = evidence.connect_source(
        session, SETTINGS, fraud, "mlflow", "http://localhost:5000", {}, "UADMIN", NOW
    )
    assert again.id == source.id and again.url == "http://localhost:5000"
    assert count(session, EvidenceFact) == 0 and again.last_checked_at is None


def test_disconnect(session):
    fraud = team(session)
    evidence.connect_source(
        session, SETTINGS, fraud, "mlflow", "https://mlflow.example.com", {}, "UOWNER", NOW
    )
    with pytest.raises(NotFound, match="has no Repository connected"):
        evidence.disconnect_source(session, fraud, "repo")
    evidence.disconnect_source(session, fraud, "mlflow")
    assert evidence.sources_for_team(session, fraud) == []


def test_evidence_for_a_team_from_recorded_facts_and_its_answers(session):
    fraud = team(session)
    yes = {c.id: "yes" for c in DEFAULT_CHECKLIST.capabilities}
    seed_finished_assessment(session, fraud, yes, by="UOWNER", at=NOW - timedelta(days=1))
    before = evidence.evidence_for_team(session, fraud, NOW)
    assert {e.state for e in before.values()} == {EvidenceState.UNKNOWN}

    source = evidence.connect_source(
        session, SETTINGS, fraud, "mlflow", "https://mlflow.example.com", {}, "UOWNER", NOW
    )
    observed = NOW - timedelta(hours=2)
    evidence.record_findings(
        session,
        source,
        mlflow_findings({"runs_30d": 142, "experiments_with_runs": [{}, {}, {}], "models": []}),
        observed,
    )
    result = evidence.evidence_for_team(session, fraud, NOW)
    assert list(result) == list(DEFAULT_CHECKLIST.ids)
    tracking = result["experiment_tracking"]
    assert tracking.state is EvidenceState.VERIFIED
    assert tracking.summary == "MLflow: 142 runs in 30 days across 3 experiments"
    assert tracking.checked_at == observed
    # answered Yes, and the connected MLflow has no registered model
    assert result["model_registry"].state is EvidenceState.CONTRADICTION
    assert result["cicd"].state is EvidenceState.UNKNOWN
    # the answers of an assessment in progress can be weighed instead
    draft = evidence.evidence_for_team(session, fraud, NOW, answers={"model_registry": "no"})
    assert draft["model_registry"].state is EvidenceState.NOT_FOUND
    # a week later, nothing is known any more
    later = evidence.evidence_for_team(session, fraud, observed + timedelta(days=7, seconds=1))
    assert later["experiment_tracking"].state is EvidenceState.UNKNOWN


def test_a_failed_read_is_unknown_with_its_reason(session):
    fraud = team(session)
    source = evidence.connect_source(
        session, SETTINGS, fraud, "mlflow", "https://mlflow.example.com", {}, "UOWNER", NOW
    )
    evidence.record_error(session, source, "HTTP 401 Unauthorized\n(check credentials)", NOW)
    result = evidence.evidence_for_team(session, fraud, NOW)
    assert result["model_registry"].state is EvidenceState.UNKNOWN
    assert result["model_registry"].summary == (
        "MLflow: could not check (HTTP 401 Unauthorized (check credentials))"
    )
    assert not evidence.pending_refresh(source)


def test_an_unchanged_repository_keeps_its_facts_fresh(session):
    fraud = team(session)
    source = evidence.connect_source(
        session, SETTINGS, fraud, "repo", "https://a.git.example.com/r.git", {}, "UOWNER", NOW
    )
    evidence.record_findings(
        session, source, mlflow_findings({"runs_30d": 1}), NOW, head_commit="c1"
    )
    later = NOW + timedelta(days=6)
    assert evidence.record_unchanged(session, source, later) == 2
    fact = session.scalars(select(EvidenceFact)).first()
    assert fact.expires_at == later + timedelta(days=7) and source.last_head_commit == "c1"


def test_refresh_at_most_once_per_five_minutes_per_team(session):
    fraud = team(session)
    with pytest.raises(NotFound, match="no tools connected"):
        evidence.request_refresh(session, fraud, NOW)
    source = evidence.connect_source(
        session, SETTINGS, fraud, "mlflow", "https://mlflow.example.com", {}, "UOWNER", NOW
    )
    evidence.record_findings(session, source, [], NOW + timedelta(minutes=1))
    with pytest.raises(evidence.RefreshTooSoon, match="try again in 3 min") as soon:
        evidence.request_refresh(session, fraud, NOW + timedelta(minutes=2))
    assert soon.value.retry_at == NOW + timedelta(minutes=5)
    assert not evidence.pending_refresh(source)
    at = NOW + timedelta(minutes=5)
    assert evidence.request_refresh(session, fraud, at) == at
    session.refresh(source)
    assert evidence.pending_refresh(source)


def test_two_workspaces_never_see_each_others_sources(session):
    mine, theirs = team(session, "Fraud ML", WS), team(session, "Fraud ML", OTHER)
    source = evidence.connect_source(
        session, SETTINGS, theirs, "mlflow", "https://mlflow.example.com", {}, "U2", NOW
    )
    evidence.record_findings(session, source, mlflow_findings({"runs_30d": 9}), NOW)
    assert evidence.sources_for_team(session, mine) == []
    assert evidence.evidence_for_team(session, mine, NOW)["experiment_tracking"].state is (
        EvidenceState.UNKNOWN
    )
    # a team of another workspace passed in by mistake is left out, not evaluated
    assert evidence.evidence_for_teams(session, WS, [mine, theirs], NOW).keys() == {mine.id}
    assert (
        evidence.evidence_for_teams(session, OTHER, [theirs], NOW)[theirs.id][
            "experiment_tracking"
        ].state
        is EvidenceState.VERIFIED
    )
    deleted = workspaces.purge(session, OTHER)
    assert deleted["evidence_sources"] == 1 and deleted["evidence_facts"] == 2


def test_settings_read_the_allowed_hosts():
    settings = load_settings(
        {
            "EVIDENCE_ALLOWED_HOSTS": "MLflow.internal, *.git.example.com,127.0.0.1:5000",
            "EVIDENCE_ALLOW_FILE_URLS": "true",
        },
        require_slack=False,
    )
    assert settings.evidence_allowed_hosts == {
        "mlflow.internal",
        "*.git.example.com",
        "127.0.0.1:5000",
    }
    assert settings.evidence_allow_file_urls
    assert load_settings({}, require_slack=False).evidence_allowed_hosts == frozenset()
    with pytest.raises(ConfigError, match="EVIDENCE_ALLOWED_HOSTS must list host names"):
        load_settings({"EVIDENCE_ALLOWED_HOSTS": "https://x.com/"}, require_slack=False)


def test_owners_and_admins_manage_a_teams_tools(session):
    fraud = team(session)
    session.add_all(
        [
            SlackUser(workspace_id=WS, user_id="UWSADMIN", is_admin=True, fetched_at=utcnow()),
            SlackUser(workspace_id=WS, user_id="USTRANGER", is_admin=False, fetched_at=utcnow()),
        ]
    )
    session.flush()
    for who in ("UOWNER", "UWSADMIN"):
        permissions.check_may_manage_evidence(session, None, SETTINGS, fraud, who)
    with pytest.raises(Forbidden, match=r"Only the owners of \*Fraud ML\* \(<@UOWNER>\)"):
        permissions.check_may_manage_evidence(session, None, SETTINGS, fraud, "USTRANGER")
