"""Every template stays inside Block Kit's limits for the worst input the bot accepts.

Why: Slack refuses a whole message when one section is 3,001 characters or a message has 51
blocks, and the person then sees nothing at all (not even the DM fallback, which carries the
same blocks). Limits count text as sent, after escaping: a name of 80 `&` is 400 characters
by then. So each template is rendered here with the largest input the bot lets in (80-char
names of `&`, notes of the longest length the note field takes, 500 teams, the longest
history the bot keeps) and checked with the same rules the Slack stand-in applies.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

from sqlalchemy import select

from bot.config import Settings
from bot.domain import DEFAULT_CHECKLIST, level_label
from bot.domain.evidence import CapabilityEvidence, EvidenceState
from bot.models import EvidenceDismissal, Team, utcnow
from bot.sandbox.slack_api.limits import message_error, view_problems
from bot.services import assessments, digests, evidence_view, history, home, overview
from bot.services import teams as team_service
from bot.services.assessments import NOTE_MAX
from bot.services.teams import NAME_MAX
from handlers.commands import help_message
from messages import fit, pack, render

WS = "T0TEST"
NAME = "&" * NAME_MAX
# `&` escapes to five characters, and the URLs become <links> a cut must not split.
NOTE = (("&" * 60 + " https://runs.example/?a=1&b=2 ") * NOTE_MAX)[:NOTE_MAX]
SETTINGS = Settings(slack_bot_token="xoxb-x", slack_signing_secret="s", database_url="sqlite://")


def valid_message(message: dict) -> dict:
    assert message.get("text"), "a message needs fallback text"
    refused = message_error(message)
    assert refused is None, refused
    return message


def valid_view(view: dict) -> dict:
    problems = view_problems(view)
    assert not problems, problems
    return view


def longest_text(message: dict) -> int:
    return max(len(b["text"]["text"]) for b in message["blocks"] if "text" in b)


def worst_team(session, name: str = NAME, runs: int = 1):
    """A team answered `runs` times over, every answer with the longest note, alternating
    all-yes and all-no so each run changes the level (the longest history)."""
    team = team_service.create_team(session, WS, name, "U1")
    for run in range(runs):
        question, _ = assessments.start_or_resume(session, team, "U1")
        value = "yes" if run % 2 == 0 else "no"
        while question is not None:
            outcome = assessments.answer(
                session,
                WS,
                question.assessment.id,
                question.capability.id,
                value,
                "U1",
                note=f"{run}{NOTE}"[:NOTE_MAX],
            )
            question = outcome.question
    session.flush()
    return team


def many_teams(session, count: int = 500) -> None:
    for number in range(count):
        team_service.create_team(session, WS, f"{'&' * (NAME_MAX - 4)}{number:04d}", "U1")
    session.flush()


# ---------------------------------------------------------------- the helpers themselves


def test_fit_cuts_after_escaping_and_never_inside_an_entity_or_link():
    assert fit("&amp;" * 10, 13) == "&amp;&amp;…"
    assert fit("see <https://a.example/x> now", 12) == "see …"
    assert fit("short", 10) == "short"
    for limit in range(2, 40):
        cut = fit("&amp;&lt;<https://x.example/&amp;>" * 3, limit)
        assert len(cut) <= limit
        assert cut.count("<") == cut.count(">")


def test_pack_keeps_every_text_within_the_limit_and_loses_no_line():
    lines = [f"line {i} " + "x" * (i * 37 % 700) for i in range(100)] + ["y" * 5000]
    texts = pack(lines, 3000, first="*Heading*")
    assert all(len(text) <= 3000 for text in texts)
    assert texts[0].startswith("*Heading*")
    assert sum(text.count("line ") for text in texts) == 100


# ---------------------------------------------------------------- conversation and read-back


def test_history_with_the_longest_history_and_notes(session):
    team = worst_team(session, runs=overview_changes_kept() + 1)
    data = history.history(session, team)
    assert data.changes and data.edits and data.more_edits
    message = valid_message(render("history", command="/mlops", **vars(data)))
    assert len(message["blocks"]) <= 50


def overview_changes_kept() -> int:
    return 20  # history.history keeps the latest 20 level changes


def test_level_card_and_status_modal_with_a_note_on_every_answer(session):
    team = worst_team(session)
    state = team_service.team_states(session, WS, [team])[0]
    message = valid_message(render("level_card", state=state, change=None, notice="x" * 500))
    valid_view(render("status_modal", blocks=message["blocks"]))


def test_next_step_for_the_worst_name(session):
    team = team_service.create_team(session, WS, NAME, "U1")
    state = team_service.team_states(session, WS, [team])[0]
    valid_message(render("next_step", state=state))


def test_question_with_a_draft_note_and_the_last_runs_note(session):
    team = worst_team(session)  # a finished run: every question shows "Last time" + note
    question, _ = assessments.start_or_resume(session, team, "U1")
    valid_message(render("question", question=question, notice="Resuming where you left off."))
    outcome = assessments.answer(
        session, WS, question.assessment.id, question.capability.id, "no", "U1", note=NOTE
    )
    back = assessments.back(session, WS, question.assessment.id, outcome.question.capability.id)
    assert back.question.draft is not None and back.question.draft.note
    valid_message(render("question", question=back.question, notice=None))


def test_note_modal_with_the_longest_note_and_response_url(session):
    team = worst_team(session)
    question, _ = assessments.start_or_resume(session, team, "U1")
    outcome = assessments.answer(
        session, WS, question.assessment.id, question.capability.id, "no", "U1", note=NOTE
    )
    back = assessments.back(session, WS, question.assessment.id, outcome.question.capability.id)
    response_url = "https://hooks.slack.com/actions/T0TEST/" + "1" * 20 + "/" + "a" * 40
    metadata = json.dumps(
        {"assessment_id": 1, "capability_id": "x" * 64, "response_url": response_url}
    )
    view = valid_view(
        render("note_modal", question=back.question, metadata=metadata, note_max=NOTE_MAX)
    )
    text_input = view["blocks"][-1]["element"]
    assert len(text_input["initial_value"]) <= text_input["max_length"]


def test_team_modal_with_the_worst_name(session):
    team = team_service.create_team(session, WS, NAME, "U1")
    metadata = json.dumps({"team_id": team.id, "channel_id": "C" * 20})
    valid_view(
        render(
            "team_modal",
            team=team,
            name=team.name,
            channel_id="C0123456789",
            owners=[f"U{i:010d}" for i in range(20)],
            purpose="proof_of_concept",  # the longest option, and the checkbox ticked
            nudges_anyway=True,
            metadata=metadata,
        )
    )


def test_teams_overview_with_500_teams_on_every_page(session):
    many_teams(session)
    first = overview.teams_overview(session, WS, 1)
    assert first.pages > 1
    for page in range(1, first.pages + 1):
        data = overview.teams_overview(session, WS, page)
        valid_message(render("teams", command="/mlops", **vars(data)))


def test_app_home_of_someone_owning_500_teams(session):
    many_teams(session)
    data = home.home(session, WS, "U1")
    valid_view(render("home", command="/mlops", **vars(data)))


def test_help_for_the_longest_unknown_word():
    valid_message(help_message("/" + "&" * 31, unknown="&" * 3000))


def test_notice_and_notice_modal_with_the_longest_text():
    text = "&amp;" * 1000
    assert longest_text(valid_message(render("notice", text=text))) <= 3000
    valid_view(render("notice_modal", title="Team created and saved", text=text))


# ---------------------------------------------------------------- what the bot sends on its own


def test_digest_with_500_teams_moving_and_stale(bot):
    """On the app's own sessions: the digest caches its summary per database URL."""
    session = bot.session()
    many_teams(session)
    for team in session.scalars(select(Team).limit(30)):
        team.level = 1
        team.last_assessed_at = datetime(2020, 1, 1, tzinfo=UTC)
    session.flush()
    now = datetime.now(UTC)
    context = digests.digest_context(session, WS, SETTINGS, now - timedelta(days=7), now)
    valid_message(render("digest", **context, cadence="weekly", since="Mon 23 Nov"))
    session.close()


def owner_context(team_id: int = 1) -> dict:
    return {
        "team": NAME,
        "team_id": team_id,
        "cadence": "weekly",
        "command": "/mlops",
        "team_value": json.dumps({"team_id": team_id}),
        "snooze_options": [
            {"label": f"{weeks} weeks", "value": json.dumps({"team_id": team_id, "days": weeks})}
            for weeks in (1, 2, 4)
        ],
        "min_date": "2026-12-01",
    }


def test_nudge_and_reminder_for_the_worst_name():
    """Both include delivery_snooze_elements, whose confirm text is limited to 300."""
    step = DEFAULT_CHECKLIST.steps[-1]
    valid_message(
        render(
            "nudge",
            **owner_context(),
            level=level_label(0),
            progress="0 of 9",
            step={
                "number": step.number,
                "title": step.title,
                "headline": step.title,
                "why": step.why,
                "tools": ", ".join(step.tools),
            },
            done_value=json.dumps({"team_id": 1, "step": step.number}),
        )
    )
    valid_message(
        render("reminder", **owner_context(), days=999, last_assessed="01 Jan 2020", level="L0")
    )


def test_level_change_announcement_for_the_worst_name():
    for up, from_label in ((True, None), (True, level_label(0)), (False, level_label(2))):
        valid_message(
            render(
                "announcement_level_change",
                team=NAME,
                up=up,
                from_label=from_label,
                to_label=level_label(1),
                changed_by="U1",
                next_step={
                    "number": 9,
                    "title": DEFAULT_CHECKLIST.steps[-1].title,
                    "headline": DEFAULT_CHECKLIST.steps[-1].title,
                },
                team_id=1,
                command="/mlops",
            )
        )


def test_delivery_alert_and_notice_with_the_longest_values():
    valid_message(
        render(
            "delivery_alert",
            target="<#C0123456789>",
            reason="&" * 3000,
            hint="h" * 300,
            key="level:" + "9" * 300,
        )
    )
    valid_message(render("delivery_notice", text="&amp;" * 1000, hint="&amp;" * 1000))


def test_export_messages_for_the_worst_name(session):
    team = team_service.create_team(session, WS, NAME, "U1")
    valid_message(render("export_empty", team=team, command="/mlops"))
    valid_message(render("export_empty", team=None, command="/mlops"))
    data = SimpleNamespace(
        team=NAME,
        team_count=500,
        answers=[{}] * 10_000,
        level_changes=[{}] * 500,
        exported_at="2026-11-30T09:00:00+00:00",
        filename="mlops-maturity.csv",
    )
    valid_message(render("export_sent", data=data))
    assert isinstance(render("export_comment", data=data), str)


# ---------------------------------------------------------------- the largest maturity models


def worst_model(name: str, prefix: str, count: int, levels: int = 6):
    """A model at every limit of a model file: 6 levels, `count` capabilities, 15 steps,
    titles, questions, help and level names of the longest length, all `&`."""
    from bot.domain import Capability, Checklist, Step
    from bot.domain import model_file as mf

    steps = min(mf.MAX_STEPS, count)
    caps = tuple(
        Capability(
            id=f"{prefix}_{i:02d}",
            title="&" * mf.TITLE_MAX_CHARS,
            question="&" * mf.QUESTION_MAX_CHARS,
            help="&" * 199,
            tools=tuple("&" * mf.TOOL_MAX_CHARS for _ in range(mf.MAX_TOOLS)),
            level=1 + i % (levels - 1),
            step=1 + i * steps // count,
        )
        for i in range(count)
    )
    return Checklist(
        version="&" * mf.VERSION_MAX_CHARS,
        name=name,
        title="&" * mf.MODEL_TITLE_MAX_CHARS,
        level_names=tuple("&" * mf.LEVEL_NAME_MAX_CHARS for _ in range(levels)),
        capabilities=caps,
        steps=tuple(
            Step(
                number=n,
                title="&" * mf.TITLE_MAX_CHARS,
                why="&" * 600,
                tools=tuple("&" * mf.TOOL_MAX_CHARS for _ in range(mf.MAX_TOOLS)),
                capability_ids=tuple(c.id for c in caps if c.step == n),
            )
            for n in range(1, steps + 1)
        ),
    )


def install_worst_models(session):
    """Four models (the most a workspace takes: Google's, installed first as the default was,
    and three of the largest) asking 40 questions (the most they may)."""
    from bot.domain import model_to_yaml
    from bot.services import maturity

    primary = worst_model("a" * 32, "p", 25)
    others = [worst_model("b" * 31 + str(n), f"o{n}", 3, levels=4) for n in range(2)]
    for model in (primary, *others):
        maturity.install(session, WS, model, model_to_yaml(model))
    maturity.use(session, WS, primary.name, "U1")
    models = maturity.for_workspace(session, WS)
    assert (len(models.all), len(models.ids)) == (maturity.MAX_MODELS, maturity.MAX_ASKED)
    return primary


def test_level_card_next_step_and_question_under_the_largest_models(session):
    install_worst_models(session)
    team = worst_team(session)
    state = team_service.team_states(session, WS, [team])[0]
    assert len(state.other_levels) == 3
    card = valid_message(render("level_card", state=state, change=None, notice="x" * 500))
    valid_view(render("status_modal", blocks=card["blocks"]))
    valid_message(render("next_step", state=state))
    question, _ = assessments.start_or_resume(session, team, "U1")
    valid_message(render("question", question=question, notice="Resuming where you left off."))


def test_model_message_with_four_models_for_an_admin(session):
    from bot.services import maturity
    from handlers.maturity import ModelRow

    install_worst_models(session)
    models = maturity.for_workspace(session, WS)
    rows = [ModelRow(m.name, m is models.primary, maturity.describe(m)) for m in models.all]
    rows.append(ModelRow("microsoft", False, "&" * 120, installed=False))  # a built-in to pick
    notice = "&amp;" * 600
    for admin in (True, False):
        valid_message(
            render("model", model=models, rows=rows, admin=admin, notice=notice, command=NAME)
        )


def test_history_teams_home_and_digest_under_the_largest_models(bot):
    session = bot.session()
    install_worst_models(session)
    team = worst_team(session, runs=overview_changes_kept() + 1)
    data = history.history(session, team)
    valid_message(render("history", command="/mlops", **vars(data)))
    many_teams(session)
    valid_message(render("teams", command="/mlops", **vars(overview.teams_overview(session, WS))))
    valid_view(render("home", command="/mlops", **vars(home.home(session, WS, "U1"))))
    now = datetime.now(UTC)
    context = digests.digest_context(session, WS, SETTINGS, now - timedelta(days=7), now)
    valid_message(render("digest", **context, cadence="weekly", since="Mon 23 Nov"))
    session.close()


# ---------------------------------------------------------------- evidence


def worst_evidence(session):
    """A team at its worst for every evidence surface: the longest names, notes, addresses,
    options, summaries, facts with links, and a long dismissal on every capability (and the
    same without dismissals, every contradiction open with its Dismiss button)."""
    team = worst_team(session)
    state = team_service.team_states(session, WS, [team])[0]
    link = "https://git.example.com/" + "a" * (evidence_view.LINK_MAX - 24)
    signals = [
        {"what": "&" * 300, "path": "&/" * 150, "line": 10**6, "link": link} for _ in range(10)
    ]
    details = (
        {"source": "repo", "summary": "&" * 500, "commit": "f" * 64, "signals": signals},
        {
            "source": "mlflow",
            "summary": "&" * 500,
            "url": link,
            "models": [{"name": "&" * 200, "versions": 99, "aliases": ["&" * 100] * 5}] * 3,
            "experiments_with_runs": [{"name": "&" * 200, "runs": 10**6, "link": link}] * 3,
        },
    )
    now = utcnow()
    rows = []
    for capability in DEFAULT_CHECKLIST.capabilities:
        item = CapabilityEvidence(
            capability.id, EvidenceState.CONTRADICTION, "&" * 500, details, now, True
        )
        dismissal = EvidenceDismissal(
            capability_id=capability.id,
            reason="&" * evidence_view.REASON_MAX,
            summary="&" * 1000,
            dismissed_by="U" + "1" * 20,
            dismissed_at=now,
        )
        record = state.answers.get(capability.id)
        facts = evidence_view.fact_lines(item)
        rows.append(evidence_view.EvidenceRow(capability, record, item, facts, dismissal))
    sources = tuple(
        evidence_view.SourceLine(
            kind,
            kind,
            "https://" + "&" * 492,
            {"experiments": "&" * 200, "models": "&" * 200},
            now,
            "&" * 500,
        )
        for kind in ("mlflow", "repo")
    )
    view = evidence_view.TeamEvidence(team, sources, tuple(rows), 2, 1, now)
    open_view = evidence_view.TeamEvidence(
        team,
        sources,
        tuple(evidence_view.EvidenceRow(r.capability, r.answer, r.evidence, r.facts) for r in rows),
        2,
        0,
        now,
    )
    return team, state, view, open_view


def test_evidence_view_with_the_longest_everything(session):
    _, _, view, open_view = worst_evidence(session)
    for shown in (view, open_view):
        message = valid_message(
            render("evidence", view=shown, notice="&amp;" * 600, command="/" + "&" * 31)
        )
        assert len(message["blocks"]) <= 50
        valid_view(render("evidence_modal", blocks=message["blocks"]))


def test_level_card_with_evidence_and_every_answer_contradicted(session):
    _, state, view, open_view = worst_evidence(session)
    for shown in (view, open_view):
        message = valid_message(
            render("level_card", state=state, change=None, notice="x" * 500, evidence=shown)
        )
        valid_view(render("status_modal", blocks=message["blocks"]))


def test_question_with_the_longest_evidence(session):
    team = worst_team(session)
    question, _ = assessments.start_or_resume(session, team, "U1")
    found = CapabilityEvidence(
        question.capability.id, EvidenceState.VERIFIED, "&" * 500, (), utcnow(), True
    )
    valid_message(render("question", question=question, notice="Resuming.", evidence=found))


def test_connect_and_dismiss_modals_with_the_longest_values(session):
    team = team_service.create_team(session, WS, NAME, "U1")
    source = evidence_view.SourceLine(
        "mlflow",
        "MLflow",
        "&" * 2000,
        {"experiments": "&" * 300, "models": "&" * 300, "branch": "&" * 300, "path": "&" * 300},
        None,
        None,
    )
    metadata = json.dumps({"team_id": 10**9})
    valid_view(render("connect_modal", team=team, mlflow=source, repo=source, metadata=metadata))
    valid_view(
        render(
            "dismiss_modal",
            team=team,
            capability=DEFAULT_CHECKLIST.capabilities[0],
            summary="&" * 2000,
            metadata=json.dumps({"team_id": 10**9, "capability_id": "x" * 64}),
            reason_max=evidence_view.REASON_MAX,
        )
    )


def test_history_with_the_most_dismissals_kept(session):
    team = worst_team(session, runs=overview_changes_kept() + 1)
    data = history.history(session, team)
    dismissals = [
        EvidenceDismissal(
            capability_id=DEFAULT_CHECKLIST.capabilities[i % 9].id,
            reason="&" * evidence_view.REASON_MAX,
            summary="&" * 1000,
            dismissed_by="U1",
            dismissed_at=utcnow(),
        )
        for i in range(history.HISTORY_DISMISSALS)
    ]
    message = valid_message(
        render("history", command="/mlops", **{**vars(data), "dismissals": dismissals})
    )
    assert len(message["blocks"]) <= 50


# ---------------------------------------------------------------- pictures


def test_picture_messages_for_the_worst_case(session):
    import dataclasses

    from bot.services.digests import SharedPicture
    from bot.services.pictures import Report

    team = worst_team(session, runs=overview_changes_kept() + 1)
    data = history.history(session, team)
    note = "I could not send you the timeline picture (Slack said `" + "x" * 200 + "`)."
    message = valid_message(render("history", command="/mlops", note=note, **vars(data)))
    assert len(message["blocks"]) <= 50
    report = Report(heatmap=[object()] * 10, trend=object(), teams=500)
    valid_message(render("report_sent", report=report, where="<#C0123456789>"))
    assert isinstance(render("report_comment", report=report), str)
    assert isinstance(render("timeline_comment", team=team), str)
    assert isinstance(render("digest_picture_comment", command="/" + "&" * 31), str)
    many_teams(session)
    home_data = home.home(session, WS, "U1")
    picture = SharedPicture("F0123456789", "&" * 5000, datetime(2026, 11, 30, tzinfo=UTC))
    view = render("home", command="/mlops", **vars(dataclasses.replace(home_data, picture=picture)))
    valid_view(view)
    (image,) = [b for b in view["blocks"] if b["type"] == "image"]
    assert len(image["alt_text"]) <= 2000


# ---------------------------------------------------------------- purposes (issue 15)


def mixed_purposes(session, count: int = 500) -> list[Team]:
    """`count` worst-named teams: every other one at L0 in production, the rest spread over
    the other purposes, each moved to production and back (the longest purpose history)."""
    from bot.domain import PURPOSES
    from bot.models import AnswerRecord, Assessment, AssessmentStatus
    from bot.services import purposes

    many_teams(session, count)
    teams = list(session.scalars(select(Team).where(Team.workspace_id == WS)))
    runs = [
        Assessment(
            workspace_id=WS,
            team_id=team.id,
            started_by="U1",
            status=AssessmentStatus.COMPLETED,
            checklist_version=DEFAULT_CHECKLIST.version,
        )
        for team in teams
    ]
    session.add_all(runs)
    session.flush()
    session.add_all(
        AnswerRecord(
            workspace_id=WS,
            team_id=run.team_id,
            assessment_id=run.id,
            capability_id="data_versioning",
            value="no",
            answered_by="U1",
        )
        for run in runs
    )
    for index, team in enumerate(teams):
        team.level = 0
        team.last_assessed_at = datetime(2020, 1, 1, tzinfo=UTC)
        if index % 2:
            purposes.set_purpose(session, team, PURPOSES[1 + index % 3], "U1")
            purposes.set_purpose(session, team, PURPOSES[0], "U1")
            purposes.set_purpose(session, team, PURPOSES[1 + index % 3], "U1")
    session.flush()
    return teams


def test_digest_with_500_teams_of_every_purpose_and_moves_to_production(bot):
    session = bot.session()
    teams = mixed_purposes(session)
    from bot.domain import Purpose
    from bot.services import purposes

    for team in teams[1:60:2]:  # thirty moved to production since the last digest
        purposes.set_purpose(session, team, Purpose.PRODUCTION, "U1")
    session.flush()
    now = datetime.now(UTC)
    context = digests.digest_context(session, WS, SETTINGS, now - timedelta(days=7), now)
    assert context["focus_more"] and context["apart"] and context["to_production_more"]
    valid_message(render("digest", **context, cadence="weekly", since="Mon 23 Nov"))
    session.close()


def test_teams_overview_of_every_purpose_on_every_page_and_filtered(session):
    from bot.domain import PURPOSES

    mixed_purposes(session)
    for purpose in (None, *PURPOSES):
        first = overview.teams_overview(session, WS, 1, purpose)
        for page in range(1, first.pages + 1):
            data = overview.teams_overview(session, WS, page, purpose)
            valid_message(render("teams", command="/" + "&" * 31, **vars(data)))


def test_app_home_filtered_by_purpose_with_every_purpose_counted(session):
    from bot.domain import PURPOSES

    mixed_purposes(session)
    for purpose in (None, *PURPOSES):
        valid_view(render("home", command="/mlops", **vars(home.home(session, WS, "U1", purpose))))


def test_purpose_question_level_card_and_history_of_a_research_team(session):
    from bot.domain import Purpose
    from bot.services import purposes

    team = worst_team(session, runs=overview_changes_kept() + 1)
    question, _ = assessments.start_or_resume(session, team, "U1")
    assert question.ask_purpose
    valid_message(render("question", question=question, notice="x" * 500))
    for number in range(30):  # the longest purpose history, newest 20 shown
        purposes.set_purpose(
            session, team, (Purpose.RESEARCH, Purpose.PRODUCTION)[number % 2], "U1"
        )
    purposes.set_purpose(session, team, Purpose.PROOF_OF_CONCEPT, "U1", nudges_anyway=True)
    session.query(Team).filter(Team.id == team.id).update({"level": 0})
    state = team_service.team_states(session, WS, [team])[0]
    valid_message(render("level_card", state=state, change=None, notice="x" * 500))
    data = history.history(session, team)
    assert len(data.purposes) == 20
    valid_message(render("history", command="/mlops", **vars(data)))


def test_move_to_production_announcement_for_the_worst_name():
    for level_text in (None, level_label(0)):
        for next_step in (None, {"number": 9, "title": DEFAULT_CHECKLIST.steps[-1].title}):
            valid_message(
                render(
                    "announcement_production",
                    team=NAME,
                    from_purpose="proof of concept",
                    level_text=level_text,
                    changed_by="U1",
                    next_step=next_step,
                    command="/" + "&" * 31,
                )
            )
