"""`mlops-bot person forget`: one person's id and name leave a workspace's data on request.

Through the front door: the person and a colleague use the bot in Slack (assessments, notes
that mention them), the operator runs the real command against the same database, and then
every row of every table is read back, as a reviewer checking the request would; the team's
history still renders in Slack, with "someone" in the person's place.
"""

from __future__ import annotations

import re
import subprocess
import sys

from sqlalchemy import select

from bot.models import Base, SlackUser, TeamOwner
from bot.services.privacy import ACTOR_COLUMNS, FORGOTTEN
from tests.driver import Person, run_assessment, text_of
from tests.test_export import answer_with_note

FORGET = "U2FORGET"


def every_value(engine, workspace_id: str | None = None) -> list[str]:
    """Every value of every table (of one workspace, if given), as text."""
    values = []
    with engine.connect() as connection:
        for table in Base.metadata.sorted_tables:
            query = select(table)
            if workspace_id and "workspace_id" in table.c:
                query = query.where(table.c.workspace_id == workspace_id)
            for row in connection.execute(query):
                values.extend(str(value) for value in row)
    return values


def mentions_of(values: list[str], *words: str) -> list[str]:
    pattern = re.compile("|".join(re.escape(w) for w in words), re.IGNORECASE)
    return [v for v in values if pattern.search(v)]


def forget(bot, database_url, tmp_path, *extra: str):
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", "person", "forget", *extra],
        env={"DATABASE_URL": database_url, "PATH": "/usr/bin:/bin"},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_forget_removes_a_person_from_notes_and_history(bot, database_url, tmp_path):
    jane = Person(bot, user_id=FORGET)
    colleague = Person(bot, user_id="U1")
    # Jane creates and assesses a team, leaving a note; a colleague's note mentions her.
    message = jane.command("assess Search")
    answer_with_note(jane, message, "Yes", "I (Jane Doe) set this up")
    run_assessment(jane, "Search", {})  # resumes and finishes her run
    message = colleague.command("assess Ranking")
    answer_with_note(colleague, message, "Partly", f"ask <@{FORGET}> or jane doe about it")
    run_assessment(colleague, "Ranking", {})
    # the same user id in another workspace is another person's business
    bot.client.team_id = "T2"
    run_assessment(Person(bot, user_id=FORGET), "Other Org Team", {})
    bot.client.team_id = "T0TEST"
    workspace_values = every_value(bot.runtime.engine, "T0TEST")
    assert mentions_of(workspace_values, FORGET, "Jane Doe")  # the test sees what it checks

    result = forget(
        bot, database_url, tmp_path, "--workspace", "T0TEST", "--user", FORGET, "--name", "Jane Doe"
    )
    assert result.returncode == 0, result.stderr
    assert f"forgot {FORGET} in workspace T0TEST" in result.stdout
    assert "answers" in result.stdout and "team_owners 1" in result.stdout

    assert mentions_of(every_value(bot.runtime.engine, "T0TEST"), FORGET, "Jane Doe") == []
    with bot.session() as session:
        assert session.scalar(select(TeamOwner.user_id).where(TeamOwner.workspace_id == "T2"))
        assert session.get(SlackUser, ("T0TEST", FORGET)) is None
    assert mentions_of(every_value(bot.runtime.engine, "T2"), FORGET)  # untouched

    # Slack still shows the history, with "someone" where Jane was.
    history = text_of(colleague.command("history Search"))
    assert "someone (removed on request)" in history
    assert FORGET not in history and FORGOTTEN not in history.replace("removed on request", "")
    notes = text_of(colleague.command("history Ranking"))
    assert "ask [removed] or [removed] about it" in notes

    again = forget(bot, database_url, tmp_path, "--workspace", "T0TEST", "--user", FORGET)
    assert again.returncode == 0 and "nothing to change" in again.stdout


def test_forget_checks_its_arguments(bot, database_url, tmp_path):
    result = forget(bot, database_url, tmp_path, "--workspace", "T0TEST", "--user", "not an id")
    assert result.returncode == 2 and "--user must be a Slack user id" in result.stderr
    result = forget(bot, database_url, tmp_path, "--workspace", "TNOPE", "--user", FORGET)
    assert result.returncode == 1 and "no workspace TNOPE" in result.stderr


def test_every_user_column_is_covered():
    """A new column holding a user id must be added to ACTOR_COLUMNS (or handled) on purpose."""
    covered = {(model.__tablename__, column.key) for model, column in ACTOR_COLUMNS} | {
        ("team_owners", "user_id"),
        ("slack_users", "user_id"),
        ("installations", "installer_user_id"),
        ("installations", "bot_user_id"),  # the bot's own user, not a person
    }
    user_columns = {
        (table.name, column.name)
        for table in Base.metadata.sorted_tables
        for column in table.c
        if column.name.endswith(("_by", "user_id"))
    }
    assert user_columns <= covered, user_columns - covered


def test_docs_data_describes_every_table():
    """docs/data.md answers "what is stored": a new table must be described there."""
    from pathlib import Path

    text = (Path(__file__).parent.parent / "docs" / "data.md").read_text()
    missing = [t.name for t in Base.metadata.sorted_tables if f"| `{t.name}` |" not in text]
    assert missing == []
