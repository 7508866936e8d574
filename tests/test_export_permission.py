"""Who may export: EXPORT_PERMISSION (owners by default, admins, everyone), through signed
`/mlops export` requests, and the operator's `mlops-bot export --no-notes`.

A refused export names who may export, sends no file and changes nothing; an allowed one
holds only the teams the asker may export, notes included.
"""

from __future__ import annotations

import pytest

from tests.driver import Person, text_of
from tests.test_export import answer_with_note, as_dicts, export_via_slack

OWNER, ADMIN, MEMBER = "U0OWNER", "U0ADMIN", "U0MEMBER"
NOTE = "candid: the feature store is held together with cron"


@pytest.fixture(params=["owners", "admins", "everyone"])
def permission(request) -> str:
    return request.param


@pytest.fixture
def org(make_bot, permission):
    """Two teams, each owned by its creator, with a note; ADMIN is a bot admin."""
    bot = make_bot(export_permission=permission, admin_user_ids=frozenset({ADMIN}))
    owner = Person(bot, user_id=OWNER)
    answer_with_note(owner, owner.command("assess Fraud ML"), "Partly", NOTE)
    other = Person(bot, user_id="U0OTHER")
    answer_with_note(other, other.command("assess Vision"), "Yes", "fine")
    return bot


def refused(person: Person, text: str) -> str:
    uploads = len(person.bot.slack.calls_to("files.getUploadURLExternal"))
    message = person.command(text)
    reply = message.get("text", "") + text_of(message)
    assert len(person.bot.slack.calls_to("files.getUploadURLExternal")) == uploads, reply
    return reply


def exported_teams(person: Person, text: str) -> tuple[set[str], list[str]]:
    _, rows, _ = export_via_slack(person, text)
    records = as_dicts(rows)
    return {r["team"] for r in records}, [r["note"] for r in records if r["note"]]


def test_a_member_who_owns_nothing(org, permission):
    member = Person(org, user_id=MEMBER)
    if permission == "everyone":
        teams, notes = exported_teams(member, "export")
        assert teams == {"Fraud ML", "Vision"} and NOTE in notes
        return
    reply = refused(member, "export Fraud ML")
    if permission == "owners":
        assert f"Only the owners of *Fraud ML* (<@{OWNER}>) and workspace admins" in reply
        assert "you don't own a team" in refused(member, "export")
    else:
        assert "Only workspace admins and the bot's admins can export" in reply
        assert "Only workspace admins" in refused(member, "export")


def test_an_owner(org, permission):
    owner = Person(org, user_id=OWNER)
    if permission == "admins":
        assert "Only workspace admins" in refused(owner, "export Fraud ML")
        return
    teams, notes = exported_teams(owner, "export Fraud ML")
    assert teams == {"Fraud ML"} and notes == [NOTE]
    teams, notes = exported_teams(owner, "export")
    if permission == "owners":  # a workspace export holds only the teams they own
        assert teams == {"Fraud ML"} and notes == [NOTE]
        assert "the teams you own (1)" in text_of(org.slack.calls_to("response_url")[-1].args)
        assert "Only the owners of *Vision*" in refused(owner, "export Vision")
    else:
        assert teams == {"Fraud ML", "Vision"}


def test_an_admin_exports_everything(org, permission):
    teams, notes = exported_teams(Person(org, user_id=ADMIN), "export")
    assert teams == {"Fraud ML", "Vision"} and NOTE in notes


def test_the_default_is_owners_and_bad_values_are_refused():
    from bot.config import ConfigError, load_settings

    base = {"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s"}
    assert load_settings(base).export_permission == "owners"
    assert load_settings({**base, "EXPORT_PERMISSION": "Admins"}).export_permission == "admins"
    with pytest.raises(ConfigError, match="EXPORT_PERMISSION must be one of owners, admins"):
        load_settings({**base, "EXPORT_PERMISSION": "anyone"})


def test_the_cli_exports_everything_and_can_leave_notes_out(bot, database_url, tmp_path):
    import json
    import subprocess
    import sys

    owner = Person(bot, user_id=OWNER)
    answer_with_note(owner, owner.command("assess Fraud ML"), "Partly", NOTE)
    run = [sys.executable, "-m", "bot.cli", "export", "--workspace", "T0TEST", "--format", "json"]
    env = {"DATABASE_URL": database_url, "PATH": "/usr/bin:/bin"}

    def answers(*extra: str) -> list[dict]:
        result = subprocess.run(
            [*run, *extra], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60
        )
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)["answers"]

    assert [a["note"] for a in answers() if a["note"]] == [NOTE]
    without = answers("--no-notes")
    assert without and all(a["note"] is None for a in without)
