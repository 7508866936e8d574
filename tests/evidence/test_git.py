"""Reading real Git repositories served by a loopback `git daemon` (and file://), safely.

Slow: a git daemon and many git processes. The repositories are tests/evidence/repos.py's.
"""

from __future__ import annotations

import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from bot.domain.evidence import EvidenceState, Strength
from bot.evidence import SourceError, detectors, hosts
from bot.evidence import git as gitread
from bot.evidence import refresh as refresher
from bot.models import utcnow
from bot.services import evidence
from bot.services import teams as team_service
from tests.conftest import free_port
from tests.evidence import repos
from tests.evidence.conftest import TRAPS, evidence_settings

pytestmark = pytest.mark.slow

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def read(server, name: str, settings=None):
    settings = settings or evidence_settings(server.host)
    target = hosts.parse(server.url(name), "repo", settings)
    git = gitread.Git(target, hosts.resolve(target), timeout=20)
    return gitread.snapshot(git, None, detectors.select)


@pytest.mark.parametrize("name", sorted(repos.REPOS))
def test_each_repository_over_git_daemon_shows_what_it_should(git_server, name):
    snapshot = read(git_server, name)
    signals = detectors.detect(snapshot.paths, snapshot.files)
    for repo, capability, expected in repos.EXPECTED:
        if repo != name:
            continue
        found = [s.strength for s in signals if s.capability_id == capability]
        strongest = (
            Strength.STRONG
            if Strength.STRONG in found
            else (Strength.WEAK if Strength.WEAK in found else Strength.NONE)
        )
        assert strongest == expected, (capability, signals)


def test_the_traps_are_looked_at_never_run_nor_followed(git_server):
    snapshot = read(git_server, TRAPS)
    assert not git_server.marker.exists()  # setup.py was never run
    assert "setup.py" in snapshot.paths and "train/secret.py" in snapshot.paths
    assert "train/secret.py" not in snapshot.files  # a symbolic link is never read
    assert "deploy/outside.yaml" not in snapshot.files
    assert snapshot.skipped["symbolic link"] == 2
    # the 3 MB file stayed on the server: the partial clone never fetched its blob
    assert "train/huge_model.py" not in snapshot.files
    assert snapshot.skipped["over the size cap"] == 1
    assert "root:" not in "".join(snapshot.files.values())
    signals = detectors.detect(snapshot.paths, snapshot.files)
    assert {s.capability_id for s in signals if s.strength is Strength.STRONG} == {
        "experiment_tracking",
        "model_registry",
    }
    assert not git_server.marker.exists()


def test_the_read_budget_caps_files_and_bytes(git_server):
    settings = evidence_settings(git_server.host)
    target = hosts.parse(git_server.url("tracking"), "repo", settings)
    git = gitread.Git(target, hosts.resolve(target))
    snapshot = gitread.snapshot(git, None, detectors.select, max_files=0)
    assert snapshot.files == {} and snapshot.skipped["over the read budget"] == 1


def test_head_without_cloning_and_a_missing_branch(git_server):
    settings = evidence_settings(git_server.host)
    target = hosts.parse(git_server.url("ci"), "repo", settings)
    git = gitread.Git(target, hosts.resolve(target))
    commit = repos.git("rev-parse", "main", cwd=git_server.base / "ci.git")
    assert gitread.head(git, None) == gitread.head(git, "main") == commit
    with pytest.raises(SourceError, match="no branch release"):
        gitread.head(git, "release")


def test_a_server_that_is_down_is_an_error_not_a_no():
    port = free_port()
    settings = evidence_settings(f"127.0.0.1:{port}")
    target = hosts.parse(f"git://127.0.0.1:{port}/x.git", "repo", settings)
    with pytest.raises(SourceError, match="git ls-remote failed"):
        gitread.head(gitread.Git(target, hosts.resolve(target), timeout=10), None)


def test_file_urls_read_with_partial_clone_when_allowed(git_server):
    settings = evidence_settings(evidence_allow_file_urls=True)
    target = hosts.parse(f"file://{git_server.base / TRAPS}.git", "repo", settings)
    snapshot = gitread.snapshot(gitread.Git(target, []), None, detectors.select)
    assert snapshot.skipped["over the size cap"] == 1 and not git_server.marker.exists()


def _team(session_factory, workspace: str, name: str):
    with session_factory.begin() as session:
        team = team_service.create_team(session, workspace, name, "UOWNER")
        return team.id


def _connect(session_factory, settings, team_id, url, options=None):
    with session_factory.begin() as session:
        team = session.get(team_service.Team, team_id)
        evidence.connect_source(session, settings, team, "repo", url, options or {}, "UOWNER", NOW)


def _evidence(session_factory, team_id, at):
    with session_factory() as session:
        return evidence.evidence_for_team(session, session.get(team_service.Team, team_id), at)


def test_refresh_reads_due_repositories_skips_unchanged_heads_and_keeps_workspaces_apart(
    git_server, session_factory, tmp_path
):
    settings = evidence_settings(git_server.host)
    # a repository of our own, to push to
    moving = f"moving-{uuid.uuid4().hex[:8]}"  # one per database this test runs on
    bare = repos.build(tmp_path, "moving", {".github/workflows/lint.yml": repos.CI_LINT})
    mover = git_server.base / f"{moving}.git"
    repos.git("clone", "-q", "--bare", str(bare), str(mover), cwd=tmp_path)
    repos.git("config", "uploadpack.allowFilter", "true", cwd=mover)

    fraud = _team(session_factory, "T1", "Fraud ML")
    search = _team(session_factory, "T2", "Fraud ML")  # same name, another workspace
    _connect(session_factory, settings, fraud, git_server.url(moving))
    _connect(session_factory, settings, search, git_server.url("retrain"))

    clock = [NOW]
    seen = []
    first = refresher.refresh(
        session_factory, settings, now=lambda: clock[0],
        progress=lambda done, total, outcome: seen.append((done, outcome.result)),
    )  # fmt: skip
    assert first.as_counts() == {"read": 2, "unchanged": 0, "error": 0}
    assert sorted(seen) == [(1, "read"), (2, "read")]
    mine = _evidence(session_factory, fraud, NOW)
    assert mine["cicd"].state is EvidenceState.NOT_FOUND  # lint-only CI
    assert mine["cicd"].summary == "Repo: no CI job that trains, evaluates or promotes a model"
    theirs = _evidence(session_factory, search, NOW)
    assert theirs["automated_retraining"].state is EvidenceState.VERIFIED
    assert theirs["automated_retraining"].details[0]["signals"][0]["path"] == (
        ".github/workflows/retrain.yml"
    )
    assert theirs["model_registry"].state is EvidenceState.NOT_FOUND  # a repo never contradicts

    # nothing is due again until tomorrow
    assert refresher.refresh(session_factory, settings, now=lambda: clock[0]).outcomes == []

    # a refresh asked for in Slack, with the head unchanged: facts kept, observed again
    clock[0] = NOW + timedelta(hours=1)
    with session_factory.begin() as session:
        evidence.request_refresh(session, session.get(team_service.Team, fraud), clock[0])
    second = refresher.refresh(session_factory, settings, now=lambda: clock[0])
    assert second.as_counts() == {"read": 0, "unchanged": 1, "error": 0}
    assert _evidence(session_factory, fraud, clock[0])["cicd"].checked_at == clock[0]

    # the team adds a training workflow: the next read sees the new head
    work = tmp_path / "moving-work"
    repos.write(work, {".github/workflows/train.yml": repos.CI_TRAIN})
    new_head = repos.commit(work, "train in CI")
    repos.git("push", "-q", str(mover), "main", cwd=work)
    clock[0] = NOW + timedelta(days=1, hours=4)  # past the daily interval and its jitter
    third = refresher.refresh(session_factory, settings, now=lambda: clock[0])
    assert third.as_counts() == {"read": 1, "unchanged": 1, "error": 0}  # T2 did not move
    after = _evidence(session_factory, fraud, clock[0])
    assert after["cicd"].state is EvidenceState.VERIFIED
    assert after["cicd"].details[0]["commit"] == new_head
    with session_factory() as session:
        source = evidence.sources_for_team(session, session.get(team_service.Team, fraud))[0]
        assert source.last_head_commit == new_head and source.last_error is None


def test_a_host_no_longer_allowed_or_down_is_recorded_as_unknown(git_server, session_factory):
    allowed = evidence_settings(git_server.host, f"127.0.0.1:{free_port()}")
    down_port = sorted(allowed.evidence_allowed_hosts - {git_server.host})[0]
    fraud = _team(session_factory, "T1", "Fraud ML")
    ranking = _team(session_factory, "T1", "Ranking")
    _connect(session_factory, allowed, fraud, git_server.url("ci"))
    _connect(session_factory, allowed, ranking, f"git://{down_port}/gone.git")
    narrower = evidence_settings()  # the operator removed every host since
    result = refresher.refresh(session_factory, narrower, now=lambda: NOW)
    assert result.as_counts()["error"] == 2
    cicd = _evidence(session_factory, fraud, NOW)["cicd"]
    assert cicd.state is EvidenceState.UNKNOWN and "EVIDENCE_ALLOWED_HOSTS" in cicd.summary
    refresher.refresh(session_factory, allowed, now=lambda: NOW, force=True)
    assert _evidence(session_factory, fraud, NOW)["cicd"].state is EvidenceState.VERIFIED
    down = _evidence(session_factory, ranking, NOW)["cicd"]
    assert down.state is EvidenceState.UNKNOWN
    assert down.summary.startswith("Repository: could not check (git ls-remote failed")


def test_the_operators_command_refreshes_one_workspace_with_progress(
    git_server, session_factory, database_url, tmp_path
):
    settings = evidence_settings(git_server.host)
    fraud = _team(session_factory, "T1", "Fraud ML")
    other = _team(session_factory, "T2", "Fraud ML")
    _connect(session_factory, settings, fraud, git_server.url("ci"))
    _connect(session_factory, settings, other, git_server.url("ci"))
    env = {
        "DATABASE_URL": database_url,
        "PATH": "/usr/bin:/bin",
        "EVIDENCE_ALLOWED_HOSTS": git_server.host,
    }

    def command(*args):
        return subprocess.run(
            [sys.executable, "-m", "bot.cli", "evidence", "refresh", *args],
            env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120,
        )  # fmt: skip

    result = command("--workspace", "T1", "--team", "fraud ml")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith(f"[1] Fraud ML repo {git_server.url('ci')}: read in ")
    assert lines[-1].startswith("1 source in ") and lines[-1].endswith(
        "1 read, 0 unchanged, 0 failed"
    )
    assert _evidence(session_factory, fraud, utcnow())["cicd"].state is EvidenceState.VERIFIED
    assert _evidence(session_factory, other, utcnow())["cicd"].state is EvidenceState.UNKNOWN
    again = command("--workspace", "T1")
    assert "unchanged (same head)" in again.stdout
    nothing = command("--workspace", "T9")
    assert nothing.returncode == 0 and "no connected sources in T9" in nothing.stderr
    env["EVIDENCE_ALLOWED_HOSTS"] = "elsewhere.example.com"
    refused = command("--workspace", "T2")
    assert refused.returncode == 1 and "EVIDENCE_ALLOWED_HOSTS" in refused.stdout
