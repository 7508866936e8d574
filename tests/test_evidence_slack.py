"""Evidence as people meet it in Slack, through the front door: connecting tools by command
and by the Connect tools modal, `/mlops evidence` with its Refresh button, the evidence
beside each question, the level card's badges and verified level, contradictions and their
dismissal (kept in history), the digest's line, the export's columns, two workspaces.

Facts are what the evidence core's worker records (`record_findings` with the domain's own
findings), so what is shown is exactly what a real read would leave.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from bot.domain import DEFAULT_CHECKLIST
from bot.domain.evidence import Signal, Strength, mlflow_findings, repo_findings
from bot.models import EvidenceDismissal, EvidenceFact, EvidenceSource, Team, utcnow
from bot.services import evidence
from bot.services.teams import find_team
from handlers.ids import Action, Block, Callback
from tests.driver import Person, assert_valid_view, buttons, run_assessment, text_of
from tests.test_export import as_dicts, export_via_slack

WS = "T0TEST"
HOSTS = frozenset({"mlflow.example.com", "git.example.com"})
MLFLOW_URL = "https://mlflow.example.com"
REPO_URL = "https://git.example.com/ml/fraud.git"
L1 = {c.id: "yes" for c in DEFAULT_CHECKLIST.capabilities if c.level == 1}
BUSY_MLFLOW = {
    "url": MLFLOW_URL,
    "experiments": 3,
    "runs_30d": 142,
    "experiments_with_runs": [
        {"name": "fraud-train", "runs": 100},
        {"name": "fraud-eval", "runs": 30},
        {"name": "fraud-tune", "runs": 12},
    ],
    "models": [{"name": "fraud-model", "versions": 4, "aliases": ["champion"], "stages": []}],
}
EMPTY_MLFLOW = {"url": MLFLOW_URL, "experiments": 1, "runs_30d": 0, "models": []}
L1_SIGNALS = [
    Signal("data_versioning", Strength.STRONG, "dvc.lock with 2 outputs", "dvc.lock"),
    Signal(
        "automated_training", Strength.STRONG, "Airflow DAG training a model", "dags/train.py", 12
    ),
    Signal("feature_store", Strength.STRONG, "Feast feature views", "features/feature_store.yaml"),
]


@pytest.fixture
def ebot(make_bot):
    """The bot allowed to read two hosts, as an operator would set EVIDENCE_ALLOWED_HOSTS."""
    bot = make_bot(evidence_allowed_hosts=HOSTS)
    bot.slack.add_user("U1")
    bot.slack.add_user("USTRANGER")
    return bot


def say(person: Person, text: str) -> str:
    reply = person.command(text)
    return reply["text"] + "\n" + text_of(reply)


def sources(bot) -> dict[str, EvidenceSource]:
    with bot.session() as session:
        return {str(s.kind): s for s in session.scalars(select(EvidenceSource))}


def read_tools(bot, team: str = "Fraud ML", *, mlflow=None, signals=None, ago=timedelta(hours=2)):
    """What the worker leaves after reading the team's tools `ago`, via the core's service."""
    with bot.runtime.session_factory.begin() as session:
        found = find_team(session, WS, team)
        at = utcnow() - ago
        for source in evidence.sources_for_team(session, found):
            if str(source.kind) == "mlflow" and mlflow is not None:
                evidence.record_findings(session, source, mlflow_findings(mlflow), at)
            if str(source.kind) == "repo" and signals is not None:
                link = "https://git.example.com/ml/fraud/blob/abc123/{path}"
                findings = repo_findings(signals, link=link, commit="abc1234567890")
                evidence.record_findings(session, source, findings, at)


def connected_team(bot, answers=L1, *, repo: bool = True) -> Person:
    owner = Person(bot, "U1", "C1")
    run_assessment(owner, "Fraud ML", answers)
    assert "Connected" in say(owner, f"connect Fraud ML mlflow {MLFLOW_URL}")
    if repo:
        assert "Connected" in say(owner, f"connect Fraud ML repo {REPO_URL}")
    return owner


# --------------------------------------------------------------------------- connecting


def test_an_owner_connects_mlflow_and_a_repository_by_command(ebot):
    owner = Person(ebot, "U1", "C1")
    run_assessment(owner, "Fraud ML", L1)
    # Slack sends a typed link as <url|label> (should_escape)
    said = say(
        owner,
        "connect Fraud ML mlflow <https://mlflow.example.com|mlflow.example.com>"
        " experiments=fraud- models=fraud",
    )
    assert "Connected *Fraud ML*'s MLflow `https://mlflow.example.com`" in said
    assert "experiments `fraud-`" in said and "evidence Fraud ML" in said
    said = say(owner, f"connect fraud ml repo {REPO_URL} main ml/fraud")
    assert "Git repository" in said
    found = sources(ebot)
    assert found["mlflow"].url == MLFLOW_URL
    assert found["mlflow"].options == {"experiments": "fraud-", "models": "fraud"}
    assert found["repo"].options == {"branch": "main", "path": "ml/fraud"}
    assert found["repo"].created_by == "U1"
    # connecting again replaces the source
    say(owner, f"connect Fraud ML mlflow {MLFLOW_URL}/team")
    assert sources(ebot)["mlflow"].url == f"{MLFLOW_URL}/team"
    assert len(sources(ebot)) == 2


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("connect Fraud ML mlflow https://evil.example.net", "EVIDENCE_ALLOWED_HOSTS"),
        ("connect Fraud ML repo http://169.254.169.254/latest", "EVIDENCE_ALLOWED_HOSTS"),
        ("connect Fraud ML mlflow https://bob:hunter2@mlflow.example.com", "never typed into"),
        ("connect Fraud ML repo https://ghp_abcdef123456@git.example.com/x.git", "credential"),
        ("connect Fraud ML repo git.example.com:hunter2@x:y", "credential"),
        ("connect Fraud ML mlflow https://mlflow.example.com/?token=hunter2", "credential"),
        ("connect Fraud ML repo file:///etc", "EVIDENCE_ALLOW_FILE_URLS"),
        ("connect Fraud ML mlflow", "Which address"),
        ("connect Fraud ML", "What should I connect?"),
        ("connect Fraud ML mlflow https://mlflow.example.com colour=blue", "colour"),
        ("connect Nobody mlflow https://mlflow.example.com", "I don't know a team called"),
        ("disconnect Fraud ML", "What should I disconnect?"),
        ("disconnect Fraud ML repo", "has no Repository connected"),
    ],
)
def test_refused_connections_say_why_and_store_nothing(ebot, text, says):
    owner = Person(ebot, "U1", "C1")
    run_assessment(owner, "Fraud ML", L1)
    said = say(owner, text)
    assert says in said
    assert "hunter2" not in said  # a secret is never repeated back
    assert sources(ebot) == {}


def test_only_owners_and_admins_connect_and_disconnect_but_everyone_may_look(ebot):
    owner = connected_team(ebot)
    stranger = Person(ebot, "USTRANGER", "C1")
    refused = say(stranger, f"connect Fraud ML mlflow {MLFLOW_URL}/other")
    assert "Only the owners of *Fraud ML* (<@U1>)" in refused
    assert "Only the owners" in say(stranger, "disconnect Fraud ML mlflow")
    assert sources(ebot)["mlflow"].url == MLFLOW_URL
    assert "Evidence · Fraud ML" in say(stranger, "evidence Fraud ML")
    ebot.slack.add_user("UADMIN", is_admin=True)
    assert "Disconnected" in say(Person(ebot, "UADMIN", "C1"), "disconnect Fraud ML repo")
    assert set(sources(ebot)) == {"mlflow"}
    assert "Disconnected *Fraud ML*'s MLflow" in say(owner, "disconnect Fraud ML mlflow")
    assert sources(ebot) == {}


def test_disconnecting_forgets_what_the_tool_showed(ebot):
    owner = connected_team(ebot)
    read_tools(ebot, mlflow=BUSY_MLFLOW, signals=L1_SIGNALS)
    with ebot.session() as session:
        assert session.scalar(select(func.count()).select_from(EvidenceFact)) > 0
    say(owner, "disconnect Fraud ML mlflow")
    say(owner, "disconnect Fraud ML repo")
    with ebot.session() as session:
        assert session.scalar(select(func.count()).select_from(EvidenceFact)) == 0
    assert "No tools connected yet" in say(owner, "evidence Fraud ML")


# --------------------------------------------------------------------------- looking


def test_evidence_shows_every_capability_with_its_state_and_the_facts_behind_it(ebot):
    owner = connected_team(ebot)
    read_tools(ebot, mlflow=BUSY_MLFLOW, signals=L1_SIGNALS)
    message = owner.command("evidence Fraud ML")
    text = text_of(message)
    assert "Evidence · Fraud ML" in text
    assert "MLflow: 142 runs in 30 days across 3 experiments · checked 2 h ago" in text
    assert "experiment fraud-train: 100 runs" in text
    assert "model fraud-model: 4 versions, aliases champion" in text
    # a file at the commit, linked where the host has a web view
    assert "<https://git.example.com/ml/fraud/blob/abc123/dags/train.py|" in text
    assert "dags/train.py:12 @ abc1234567" in text
    assert ":large_green_circle: verified" in text
    assert "_limited evidence_" in text  # the feature store row
    assert "*Verified by evidence:* L1 · ML pipeline" in text
    assert "*As answered:* L1 · ML pipeline" in text
    for capability in DEFAULT_CHECKLIST.capabilities:
        assert f"*{capability.title}*" in text
    assert {"Refresh", "Connect tools", "Level card"} <= set(buttons(message))
    # the repository never had CI: could-not-find is "not found", never a contradiction
    assert ":white_circle: not found" in text


def test_unreachable_and_stale_tools_are_unknown_never_no(ebot):
    owner = connected_team(ebot, repo=False)
    read_tools(ebot, mlflow=BUSY_MLFLOW, ago=timedelta(days=8))
    text = say(owner, "evidence Fraud ML")
    assert "Stale: last checked 8 days ago" in text
    assert ":red_circle:" not in text and ":large_green_circle:" not in text
    with ebot.runtime.session_factory.begin() as session:
        session.execute(update(EvidenceSource).values(last_error="connection refused"))
    text = say(owner, "evidence Fraud ML")
    assert "MLflow: could not check (connection refused)" in text
    assert "Verified by evidence:* L0 · Manual" in text


def test_refresh_asks_the_worker_at_most_once_per_five_minutes_per_team(ebot):
    owner = connected_team(ebot)
    with ebot.runtime.session_factory.begin() as session:  # connected a while ago
        session.execute(
            update(EvidenceSource).values(refresh_requested_at=utcnow() - timedelta(hours=1))
        )
    message = owner.command("evidence Fraud ML")
    refreshed = owner.click(message, "Refresh")
    assert "Refresh asked for" in text_of(refreshed)
    with ebot.session() as session:
        asked = {s.refresh_requested_at for s in session.scalars(select(EvidenceSource))}
    assert len(asked) == 1 and utcnow() - asked.pop() < timedelta(minutes=1)
    again = owner.click(refreshed, "Refresh")
    assert "try again in 5 min" in again["text"]
    # another person on the same team is held to the same pace
    other = Person(ebot, "USTRANGER", "C1")
    assert "try again in" in other.click(message, "Refresh")["text"]


def test_refresh_without_tools_says_how_to_connect(ebot):
    owner = Person(ebot, "U1", "C1")
    run_assessment(owner, "Fraud ML", L1)
    message = owner.command("evidence Fraud ML")
    assert "No tools connected yet" in text_of(message)
    said = owner.click(message, "Refresh")["text"]
    assert "connect Fraud ML mlflow &lt;url&gt;" in said and "<url>" not in said


# --------------------------------------------------------------------------- the level card


def test_level_card_shows_answers_badges_and_the_level_both_ways(ebot):
    owner = connected_team(ebot)
    card = owner.command("status Fraud ML")
    text = text_of(card)
    assert "*As answered:* L1 · ML pipeline · *verified by evidence:* L0 · Manual" in text
    assert ":heavy_minus_sign: unknown" in text  # connected, not read yet
    read_tools(ebot, mlflow=BUSY_MLFLOW, signals=L1_SIGNALS)
    text = text_of(owner.command("status Fraud ML"))
    assert "*verified by evidence:* L1 · ML pipeline" in text
    line = next(line for line in text.splitlines() if "Feature store" in line)
    assert ":large_green_circle: verified" in line and "_limited evidence_" in line
    line = next(line for line in text.splitlines() if "Drift monitoring" in line)
    assert "_limited evidence_" in line and "not found" in line


def test_a_team_without_tools_gets_a_plain_card_with_a_connect_button(ebot):
    owner = Person(ebot, "U1", "C1")
    card = run_assessment(owner, "Fraud ML", L1)
    assert "verified by evidence" not in text_of(card)
    assert "Connect tools" in buttons(card) and "Evidence" in buttons(card)


def test_connect_tools_modal_does_what_the_commands_do(ebot):
    owner = Person(ebot, "U1", "C1")
    card = run_assessment(owner, "Fraud ML", L1)
    owner.click(card, "Connect tools", reply=False)
    (opened,) = ebot.slack.wait_for("views.open")
    view = opened.args["view"]
    assert_valid_view(view)
    assert view["callback_id"] == Callback.CONNECT_MODAL

    def submit(**fields):
        values = {
            name: {name: {"type": "plain_text_input", "value": v}} for name, v in fields.items()
        }
        response = ebot.client.view_submission(
            view["callback_id"], values, private_metadata=view["private_metadata"], user_id="U1"
        )
        assert response.status == 200
        return response.json() if response.body else {}

    refused = submit(**{Block.CONNECT_MLFLOW_URL: "https://evil.example.net"})
    assert refused["response_action"] == "errors"
    assert "EVIDENCE_ALLOWED_HOSTS" in refused["errors"][Block.CONNECT_MLFLOW_URL]
    refused = submit(**{Block.CONNECT_REPO_URL: "https://me:pw@git.example.com/x.git"})
    assert "credential" in refused["errors"][Block.CONNECT_REPO_URL]
    assert sources(ebot) == {}

    saved = submit(
        **{
            Block.CONNECT_MLFLOW_URL: MLFLOW_URL,
            Block.CONNECT_EXPERIMENTS: "fraud-",
            Block.CONNECT_REPO_URL: REPO_URL,
            Block.CONNECT_PATH: "ml/fraud",
        }
    )
    assert saved["response_action"] == "update"
    assert "connected the MLflow, connected the Git repository" in text_of(saved["view"])
    found = sources(ebot)
    assert found["mlflow"].options == {"experiments": "fraud-"}
    assert found["repo"].options == {"path": "ml/fraud"}

    # the modal opens with what is connected; emptying an address disconnects it
    owner.click(card, "Connect tools", reply=False)
    view = ebot.slack.wait_for("views.open", count=2)[-1].args["view"]
    assert MLFLOW_URL in json.dumps(view) and "ml/fraud" in json.dumps(view)
    saved = submit(**{Block.CONNECT_MLFLOW_URL: MLFLOW_URL, Block.CONNECT_EXPERIMENTS: "fraud-"})
    assert "disconnected the Git repository" in text_of(saved["view"])
    assert set(sources(ebot)) == {"mlflow"}


def test_a_stranger_cannot_open_or_submit_the_connect_modal(ebot):
    owner = Person(ebot, "U1", "C1")
    card = run_assessment(owner, "Fraud ML", L1)
    stranger = Person(ebot, "USTRANGER", "C1")
    refused = stranger.click(card, "Connect tools")
    assert "Only the owners of *Fraud ML*" in refused["text"]
    assert ebot.slack.calls_to("views.open") == []
    with ebot.session() as session:
        team_id = session.scalar(select(Team.id))
    response = ebot.client.view_submission(
        Callback.CONNECT_MODAL,
        {Block.CONNECT_MLFLOW_URL: {Action.CONNECT_MLFLOW_URL: MLFLOW_URL}},
        private_metadata=json.dumps({"team_id": team_id}),
        user_id="USTRANGER",
    )
    error = response.json()["errors"][Block.CONNECT_MLFLOW_URL]
    assert error.startswith("Only the team's owners and workspace admins") and "<@" not in error
    assert sources(ebot) == {}


# --------------------------------------------------------------------------- questions


def test_each_question_shows_what_the_tools_say(ebot):
    owner = connected_team(ebot)
    read_tools(ebot, mlflow=BUSY_MLFLOW, signals=L1_SIGNALS)
    question = owner.command("assess Fraud ML")
    seen = {}
    for _ in range(len(DEFAULT_CHECKLIST.capabilities)):
        if "Yes" not in buttons(question):
            break
        capability = json.loads(buttons(question)["Yes"]["value"])["capability_id"]
        seen[capability] = text_of(question)
        question = owner.answer(question, "Yes")
    assert (
        ":mag: MLflow: 142 runs in 30 days across 3 experiments, checked 2 h ago: "
        "this suggests Yes" in seen["experiment_tracking"]
    )
    assert "this suggests No" in seen["cicd"]
    assert "_(limited evidence)_" in seen["drift_monitoring"]


def test_questions_say_nothing_of_evidence_when_no_tool_is_connected(ebot):
    question = Person(ebot, "U1", "C1").command("assess Fraud ML")
    assert ":mag:" not in text_of(question)


# --------------------------------------------------------------------------- contradictions


def contradicted(bot) -> Person:
    """Answered Yes to every L1 capability, and the connected MLflow has nothing."""
    owner = connected_team(bot, repo=False)
    read_tools(bot, mlflow=EMPTY_MLFLOW)
    return owner


def test_a_contradiction_is_flagged_and_an_owner_dismisses_it_with_a_reason(ebot):
    owner = contradicted(ebot)
    card = owner.command("status Fraud ML")
    text = text_of(card)
    assert "2 answers contradicted by the tools" in text
    line = next(line for line in text.splitlines() if "Model registry" in line)
    assert ":red_circle: contradiction" in line
    assert {"Dismiss: Experiment tracking", "Dismiss: Model registry"} <= set(buttons(card))

    # a stranger may not dismiss
    stranger = Person(ebot, "USTRANGER", "C1")
    assert "Only the owners" in stranger.click(card, "Dismiss: Model registry")["text"]
    assert ebot.slack.calls_to("views.open") == []

    owner.click(card, "Dismiss: Model registry", reply=False)
    (opened,) = ebot.slack.wait_for("views.open")
    view = opened.args["view"]
    assert_valid_view(view)
    assert "MLflow: no registered model" in text_of(view)

    def submit(reason: str) -> dict:
        response = ebot.client.view_submission(
            view["callback_id"],
            {Block.DISMISS_REASON: {Action.DISMISS_REASON: reason}},
            private_metadata=view["private_metadata"],
            user_id="U1",
        )
        return response.json()

    assert "Please say why" in submit("   ")["errors"][Block.DISMISS_REASON]
    assert "at most 500" in submit("x" * 501)["errors"][Block.DISMISS_REASON]
    done = submit("Models are registered in the <b>platform</b> MLflow, not ours")
    assert done["response_action"] == "update"
    with ebot.session() as session:
        (dismissal,) = session.scalars(select(EvidenceDismissal))
        assert dismissal.capability_id == "model_registry" and dismissal.dismissed_by == "U1"

    text = text_of(owner.command("status Fraud ML"))
    assert "1 answer contradicted" in text
    line = next(line for line in text.splitlines() if "Model registry" in line)
    assert "contradiction (dismissed)" in line
    shown = text_of(owner.command("evidence Fraud ML"))
    assert "Dismissed by <@U1>" in shown and "&lt;b&gt;platform&lt;/b&gt;" in shown
    history = text_of(owner.command("history Fraud ML"))
    assert "*Dismissed contradictions*" in history
    assert "*Model registry*: contradiction dismissed by <@U1>" in history
    assert "MLflow: no registered model" in history

    # dismissing twice changes nothing; a stale button after the flag is gone is explained
    assert submit("again")["response_action"] == "update"
    with ebot.session() as session:
        assert session.scalar(select(func.count()).select_from(EvidenceDismissal)) == 1
    read_tools(ebot, mlflow=BUSY_MLFLOW)
    stale = owner.click(card, "Dismiss: Experiment tracking")
    assert "no contradiction to dismiss" in stale["text"]


def test_a_new_answer_brings_a_dismissed_contradiction_back(ebot):
    owner = contradicted(ebot)
    with ebot.runtime.session_factory.begin() as session:
        from bot.services import evidence_view

        team = find_team(session, WS, "Fraud ML")
        evidence_view.dismiss(session, team, "model_registry", "other server", "U1")
    assert "1 answer contradicted" in text_of(owner.command("status Fraud ML"))
    run_assessment(owner, "Fraud ML", L1)  # answered Yes again: judged afresh
    assert "2 answers contradicted" in text_of(owner.command("status Fraud ML"))
    assert "other server" in text_of(owner.command("history Fraud ML"))  # still kept


def test_a_repository_alone_never_contradicts(ebot):
    owner = Person(ebot, "U1", "C1")
    run_assessment(owner, "Fraud ML", {c.id: "yes" for c in DEFAULT_CHECKLIST.capabilities})
    say(owner, f"connect Fraud ML repo {REPO_URL}")
    read_tools(ebot, signals=[])
    text = text_of(owner.command("status Fraud ML"))
    assert "contradiction" not in text and "not found" in text


# --------------------------------------------------------------------------- digest, export


def test_export_has_an_evidence_row_per_capability_of_connected_teams(ebot):
    owner = contradicted(ebot)
    run_assessment(owner, "Search", L1)  # no tools: no evidence rows
    _, rows, _ = export_via_slack(owner)
    evidence_rows = [row for row in as_dicts(rows) if row["kind"] == "evidence"]
    assert len(evidence_rows) == len(DEFAULT_CHECKLIST.capabilities)
    assert {row["team"] for row in evidence_rows} == {"Fraud ML"}
    by_capability = {row["capability_id"]: row for row in evidence_rows}
    assert by_capability["model_registry"]["evidence_state"] == "contradiction"
    assert by_capability["model_registry"]["answer"] == "yes"
    assert by_capability["model_registry"]["evidence_summary"] == "MLflow: no registered model"
    assert by_capability["data_versioning"]["evidence_state"] == "unknown"
    assert by_capability["model_registry"]["when"]  # when checked
    assert all(MLFLOW_URL not in ",".join(row) for row in rows)


def test_the_digest_counts_verified_teams_and_contradicted_answers(ebot):
    from datetime import UTC, datetime

    from bot.services import digests
    from messages import render

    contradicted(ebot)
    other = Person(ebot, "U1", "C2")
    run_assessment(other, "Search", L1)
    say(other, f"connect Search mlflow {MLFLOW_URL}")
    say(other, f"connect Search repo {REPO_URL}")
    read_tools(ebot, "Search", mlflow=BUSY_MLFLOW, signals=L1_SIGNALS)
    run_assessment(other, "Vision", L1)  # nothing connected: not counted
    with ebot.session() as session:
        facts = digests.digest_context(
            session, WS, ebot.settings, datetime(2026, 1, 1, tzinfo=UTC), utcnow()
        )
    assert facts["evidence"] == {"connected_teams": 2, "verified_teams": 1, "contradictions": 2}
    message = render("digest", cadence="weekly", since="Mon 23 Nov", **facts)
    assert (
        ":mag: *Evidence*: 1 of 2 teams with connected tools has a level verified by them · "
        "2 answers contradict their tools" in text_of(message)
    )


# --------------------------------------------------------------------------- two workspaces


def test_two_workspaces_never_see_or_touch_each_others_tools(ebot):
    owner1 = connected_team(ebot)
    read_tools(ebot, mlflow=BUSY_MLFLOW, signals=L1_SIGNALS)
    other = ebot.client_for("T2")
    owner2 = Person(ebot, "U1", "C1", client=other)
    run_assessment(owner2, "Fraud ML", L1)
    shown = say(owner2, "evidence Fraud ML")
    assert "No tools connected yet" in shown and "142 runs" not in shown
    assert "verified by evidence" not in text_of(owner2.command("status Fraud ML"))
    # T1's buttons, forged from T2, show and change nothing
    t1_view = owner1.command("evidence Fraud ML")
    assert "That team no longer exists" in owner2.click(t1_view, "Refresh")["text"]
    assert "That team no longer exists" in owner2.click(t1_view, "Connect tools")["text"]
    with ebot.session() as session:
        t1_team = session.scalar(select(Team.id).where(Team.workspace_id == WS))
    response = other.view_submission(
        Callback.CONNECT_MODAL,
        {Block.CONNECT_MLFLOW_URL: {Action.CONNECT_MLFLOW_URL: ""}},
        private_metadata=json.dumps({"team_id": t1_team}),
        user_id="U1",
    )
    assert "no longer exists" in response.json()["errors"][Block.CONNECT_MLFLOW_URL]
    assert set(sources(ebot)) == {"mlflow", "repo"}  # T1's are still there
    # T2 connects its own: T1's stay as they were
    say(owner2, f"connect Fraud ML mlflow {MLFLOW_URL}/t2")
    with ebot.session() as session:
        urls = {(s.workspace_id, s.url) for s in session.scalars(select(EvidenceSource))}
    assert (WS, MLFLOW_URL) in urls and ("T2", f"{MLFLOW_URL}/t2") in urls
    assert "142 runs" in say(owner1, "evidence Fraud ML")
    assert "142 runs" not in say(owner2, "evidence Fraud ML")


def test_connect_tools_from_the_level_card_in_app_home_stacks_the_form_on_it(ebot):
    owner = Person(ebot, "U1", "C1")
    run_assessment(owner, "Fraud ML", L1)
    home = ebot.slack.wait_for("views.publish")[-1].args["view"]
    assert "Connect tools" in buttons(home)
    owner.click(home, "Level card", in_view={**home, "id": "VHOME"})
    card = ebot.slack.wait_for("views.open")[-1].args["view"]
    assert card["callback_id"] == Callback.STATUS_MODAL
    owner.click(card, "Connect tools", in_view={**card, "id": "VCARD"})
    (pushed,) = ebot.slack.wait_for("views.push")
    assert pushed.args["view"]["callback_id"] == Callback.CONNECT_MODAL
    assert not ebot.slack.refused


def test_evidence_from_the_level_card_in_app_home_opens_on_top_of_it(ebot):
    owner = connected_team(ebot)
    read_tools(ebot, mlflow=BUSY_MLFLOW, signals=L1_SIGNALS)
    home = ebot.slack.wait_for("views.publish")[-1].args["view"]
    owner.click(home, "Level card", in_view={**home, "id": "VHOME"})
    card = ebot.slack.wait_for("views.open")[-1].args["view"]
    owner.click(card, "Evidence", in_view={**card, "id": "VCARD"})
    (pushed,) = ebot.slack.wait_for("views.push")
    assert_valid_view(pushed.args["view"])
    assert "MLflow: 142 runs in 30 days" in text_of(pushed.args["view"])


def test_help_and_usage_show_placeholders_slack_will_not_read_as_links(ebot):
    person = Person(ebot, "U1", "C1")
    for shown in (say(person, "help"), say(person, "connect")):
        assert "connect &lt;team&gt; mlflow &lt;tracking-url&gt;" in shown
        assert "<team>" not in shown and "<tracking-url>" not in shown
    assert "`/mlops evidence [team]`" in say(person, "help")
