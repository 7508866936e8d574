"""Reading a real MLflow tracking server over its REST API (bot.evidence.mlflow).

One server per test session (SQLite store, loopback), seeded through the REST API with
experiments, runs of known dates and registered models with versions, aliases and a stage;
one with basic auth that answers 401 without the operator's credentials; and a port where
nothing answers. Slow: it starts servers.
"""

from __future__ import annotations

import http.server
import json
import threading
from datetime import timedelta

import pytest

from bot.domain import DEFAULT_CHECKLIST
from bot.domain.evidence import EvidenceState, Strength, mlflow_findings
from bot.evidence import SourceError, hosts
from bot.evidence import mlflow as mlflowread
from bot.evidence import refresh as refresher
from bot.evidence.credentials import Credentials, load
from bot.models import utcnow
from bot.sandbox.seed import seed_finished_assessment
from bot.services import evidence
from bot.services import teams as team_service
from tests.conftest import free_port
from tests.evidence import mlflow_server
from tests.evidence.conftest import evidence_settings

pytestmark = pytest.mark.slow

NOW = utcnow()
DAY_MS = 86_400_000
ADMIN = ("admin", "s3cret-Passw0rd!")


def ms(days_ago: float) -> int:
    return int((NOW - timedelta(days=days_ago)).timestamp() * 1000)


@pytest.fixture(scope="session")
def mlflow(tmp_path_factory):
    server = mlflow_server.start(tmp_path_factory.mktemp("mlflow"), free_port())
    try:
        for days in (1, 5, 29):
            server.run("fraud-train", ms(days))
        server.run("fraud-old", ms(60))
        server.run("search_exp", ms(2))
        server.run("search_exp", ms(3))
        server.experiment("ranking-empty")
        server.model("fraud-detector", versions=2, alias="champion")
        server.model("fraud-candidate", versions=1)
        server.model("search-model")
        server.model("ranking-staged", versions=1, stage="Production")
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def mlflow_with_auth(tmp_path_factory):
    server = mlflow_server.start(
        tmp_path_factory.mktemp("mlflow-auth"), free_port(), basic_auth=ADMIN
    )
    try:
        server.run("fraud-train", ms(1))
        yield server
    finally:
        server.stop()


def observe(server, **options):
    settings = evidence_settings(f"127.0.0.1:{server.port}")
    target = hosts.parse(server.url, "mlflow", settings)
    return mlflowread.observe(target, options, Credentials(), NOW, timeout=20)


def by_capability(observed):
    return {f.capability_id: f for f in mlflow_findings(observed)}


def test_recent_runs_and_promoted_models_of_a_team(mlflow):
    observed = observe(mlflow, experiments="fraud-", models="fraud-")
    assert observed["experiments"] == 2 and observed["runs_30d"] == 3
    assert [(e["name"], e["runs"]) for e in observed["experiments_with_runs"]] == [
        ("fraud-train", 3)
    ]
    assert observed["experiments_with_runs"][0]["link"].startswith(f"{mlflow.url}/#/experiments/")
    models = {m["name"]: m for m in observed["models"]}
    assert models["fraud-detector"]["aliases"] == ["champion"]
    assert models["fraud-detector"]["versions"] == 2
    assert models["fraud-candidate"]["versions"] == 1
    found = by_capability(observed)
    assert found["experiment_tracking"].strength is Strength.STRONG
    assert found["experiment_tracking"].summary == ("MLflow: 3 runs in 30 days across 1 experiment")
    assert found["model_registry"].strength is Strength.STRONG
    assert found["model_registry"].summary == ("MLflow: 2 registered models with versions, 1 alias")


def test_old_runs_only_and_a_stage(mlflow):
    observed = observe(mlflow, experiments="fraud-old", models="ranking-")
    assert observed["runs_30d"] == 0
    assert observed["last_run_at"][:10] == (NOW - timedelta(days=60)).date().isoformat()
    found = by_capability(observed)
    assert found["experiment_tracking"].strength is Strength.WEAK
    assert found["model_registry"].strength is Strength.STRONG  # a version in Production
    assert observed["models"][0]["stages"] == ["Production"]


def test_nothing_there_is_none_and_a_prefix_is_a_prefix_not_a_pattern(mlflow):
    empty = by_capability(observe(mlflow, experiments="ranking-", models="search-"))
    assert empty["experiment_tracking"].strength is Strength.NONE
    assert empty["experiment_tracking"].summary == "MLflow: no runs in 30 days in 1 experiment"
    assert empty["model_registry"].strength is Strength.NONE  # a name without a version
    # LIKE's _ would match any character: "search_" must not match "searchXexp"
    assert observe(mlflow, experiments="search_")["runs_30d"] == 2
    assert observe(mlflow, experiments="search_x")["experiments"] == 0


def test_runs_are_paged_and_capped(mlflow, monkeypatch):
    monkeypatch.setattr(mlflowread, "PAGE", 2)
    observed = observe(mlflow, experiments="fraud-")
    assert observed["runs_30d"] == 3 and not observed["runs_capped"]
    monkeypatch.setattr(mlflowread, "MAX_RUNS", 2)
    capped = observe(mlflow, experiments="fraud-")
    assert capped["runs_capped"] and capped["runs_30d"] == 2
    assert by_capability(capped)["experiment_tracking"].summary.startswith("MLflow: 2+ runs")


def test_401_without_credentials_and_a_read_with_the_operators(mlflow_with_auth, tmp_path):
    server = mlflow_with_auth
    settings = evidence_settings(f"127.0.0.1:{server.port}")
    target = hosts.parse(server.url, "mlflow", settings)
    with pytest.raises(SourceError, match="HTTP 401 from 127.0.0.1: the bot's credentials"):
        mlflowread.observe(target, {}, Credentials(), NOW)
    wrong = load(json.dumps({"127.0.0.1": {"username": "admin", "password": "nope"}}))
    with pytest.raises(SourceError, match="HTTP 401"):
        mlflowread.observe(target, {}, wrong, NOW)
    file = tmp_path / "credentials.json"
    file.write_text(
        json.dumps({f"127.0.0.1:{server.port}": {"username": ADMIN[0], "password": ADMIN[1]}})
    )
    right = load(path=str(file))
    assert mlflowread.observe(target, {}, right, NOW)["runs_30d"] == 1
    assert ADMIN[1] not in repr(right)


def test_a_server_that_is_down():
    port = free_port()
    settings = evidence_settings(f"127.0.0.1:{port}")
    target = hosts.parse(f"http://127.0.0.1:{port}", "mlflow", settings)
    with pytest.raises(SourceError, match="could not connect to 127.0.0.1"):
        mlflowread.observe(target, {}, Credentials(), NOW)


class _Redirect(http.server.BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802 - the standard library's name
        self.send_response(302)
        self.send_header("Location", "http://169.254.169.254/latest/meta-data/")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


def test_a_redirect_to_another_host_is_refused():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Redirect)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        port = server.server_address[1]
        settings = evidence_settings(f"127.0.0.1:{port}")
        target = hosts.parse(f"http://127.0.0.1:{port}", "mlflow", settings)
        with pytest.raises(hosts.HostRefused, match="redirected to http://169.254.169.254"):
            mlflowread.observe(target, {}, Credentials(), NOW)
    finally:
        server.shutdown()
        server.server_close()


def test_through_the_worker_evidence_a_contradiction_and_an_unreachable_server(
    mlflow, mlflow_with_auth, session_factory
):
    settings = evidence_settings(f"127.0.0.1:{mlflow.port}", f"127.0.0.1:{mlflow_with_auth.port}")
    yes = {c.id: "yes" for c in DEFAULT_CHECKLIST.capabilities}
    with session_factory.begin() as session:
        fraud = team_service.create_team(session, "T1", "Fraud ML", "UOWNER")
        search = team_service.create_team(session, "T2", "Search", "UOWNER")
        seed_finished_assessment(session, search, yes, by="UOWNER", at=NOW - timedelta(days=1))
        evidence.connect_source(
            session, settings, fraud, "mlflow", mlflow.url,
            {"experiments": "fraud-", "models": "fraud-"}, "UOWNER", NOW,
        )  # fmt: skip
        evidence.connect_source(
            session, settings, search, "mlflow", mlflow.url,
            {"experiments": "search_", "models": "search-"}, "UOWNER", NOW,
        )  # fmt: skip
        locked = team_service.create_team(session, "T1", "Locked", "UOWNER")
        evidence.connect_source(
            session, settings, locked, "mlflow", mlflow_with_auth.url, {}, "UOWNER", NOW
        )
        ids = fraud.id, search.id, locked.id
    result = refresher.refresh(session_factory, settings, now=lambda: NOW)
    assert result.as_counts() == {"read": 2, "unchanged": 0, "error": 1}
    with session_factory() as session:
        fraud, search, locked = (session.get(team_service.Team, i) for i in ids)
        mine = evidence.evidence_for_team(session, fraud, NOW)
        assert mine["experiment_tracking"].state is EvidenceState.VERIFIED
        assert mine["model_registry"].state is EvidenceState.VERIFIED
        theirs = evidence.evidence_for_team(session, search, NOW)
        assert theirs["experiment_tracking"].state is EvidenceState.VERIFIED
        # answered Yes; the connected MLflow has no registered model with a version
        assert theirs["model_registry"].state is EvidenceState.CONTRADICTION
        assert theirs["model_registry"].summary == "MLflow: no registered model with a version"
        shut = evidence.evidence_for_team(session, locked, NOW)["experiment_tracking"]
        assert shut.state is EvidenceState.UNKNOWN
        assert "HTTP 401" in shut.summary and ADMIN[1] not in shut.summary
