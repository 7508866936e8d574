"""`--demo` shows evidence: some teams get a local Git repository, connected as `file://`,
which only the sandbox allows; and a real read of such a repository, through Slack's front
door, from `connect` to what `/mlops evidence` shows and the Refresh button."""

from __future__ import annotations

import subprocess
from datetime import timedelta
from urllib.parse import urlsplit

from sqlalchemy import select, update

from bot.evidence.refresh import refresh
from bot.models import EvidenceSource, Team, utcnow
from bot.sandbox import workspace
from bot.sandbox.demo_repos import DEMO_REPOS, make_repository
from tests.driver import Person, run_assessment, text_of
from tests.sandbox.test_server import ALAN, GENERAL, post, state, wait_for
from tests.test_evidence_slack import L1, say


def test_the_demo_connects_local_repositories_to_some_teams(sandbox):
    with sandbox.runtime.session_factory() as session:
        rows = session.execute(
            select(Team.name, EvidenceSource.kind, EvidenceSource.url)
            .join(Team, Team.id == EvidenceSource.team_id)
            .where(EvidenceSource.workspace_id == workspace.TEAM_ID)
        ).all()
    assert {name for name, _, _ in rows} == set(DEMO_REPOS)
    for name, kind, url in rows:
        assert kind == "repo" and url.startswith("file:///")
        path = urlsplit(url).path
        log = subprocess.run(
            ["git", "-C", path, "log", "--oneline"], capture_output=True, text=True, check=True
        )
        assert name in log.stdout
    assert sandbox.settings.evidence_allow_file_urls


def test_the_worker_reads_the_demo_repositories_and_the_evidence_shows_it(sandbox):
    sandbox.refresh_evidence()  # what the sandbox worker does every tick
    assert post(sandbox, "/sandbox/send", user=ALAN, channel=GENERAL,
                text="/mlops evidence Search Ranking")["ok"]  # fmt: skip
    shown = wait_for(lambda: state(sandbox, ALAN, GENERAL)["messages"])
    assert "Evidence · Search Ranking" in shown
    assert "verified" in shown and "dvc.lock" in shown
    text = "/mlops evidence Computer Vision"
    post(sandbox, "/sandbox/send", user=ALAN, channel=GENERAL, text=text)

    def vision() -> str:
        shown = state(sandbox, ALAN, GENERAL)["messages"]
        return shown.split("Evidence · Computer Vision", 1)[1] if "· Computer" in shown else ""

    vision = wait_for(vision)
    assert "not found" in vision
    assert "examples/drift_demo.py" not in vision  # a demo script never counts


def test_a_real_read_of_a_local_repository_shows_in_slack(make_bot, tmp_path):
    bot = make_bot(evidence_allow_file_urls=True)
    repo = make_repository(tmp_path, "Fraud ML", DEMO_REPOS["Fraud ML"])
    owner = Person(bot, "U1", "C1")
    run_assessment(owner, "Fraud ML", L1)
    assert "Connected" in say(owner, f"connect Fraud ML repo {repo.as_uri()}")
    assert refresh(bot.runtime.session_factory, bot.settings).as_counts()["read"] == 1
    message = owner.command("evidence Fraud ML")
    text = text_of(message)
    assert "Repo: DVC-tracked outputs in dvc.lock" in text
    assert "registered_model_name= in train.py:11" in text
    line = next(line for line in text.splitlines() if line.startswith("*Feature store*"))
    assert "not found" in line
    # nothing due until someone asks: Refresh (after the five minutes) makes it due again
    assert refresh(bot.runtime.session_factory, bot.settings).as_counts()["read"] == 0
    with bot.runtime.session_factory.begin() as session:
        session.execute(
            update(EvidenceSource).values(refresh_requested_at=utcnow() - timedelta(minutes=6))
        )
    assert "Refresh asked for" in text_of(owner.click(message, "Refresh"))
    counts = refresh(bot.runtime.session_factory, bot.settings).as_counts()
    assert counts["read"] + counts["unchanged"] == 1
