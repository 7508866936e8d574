"""Who may change a team: one rule, whatever the surface (the team form or its reminders).

A team's owners, Slack's workspace admins and owners, and the bot admins of BOT_ADMINS; a
stranger is refused with who to ask, and nothing changes.
"""

from sqlalchemy import select

from bot.models import Cadence, TeamReminder
from tests.driver import Person


def say(bot, text: str, user: str) -> str:
    before = len(bot.slack.calls_to("response_url"))
    response = bot.client.command(text, user_id=user, channel_id="C1")
    assert response.status == 200
    return bot.slack.wait_for("response_url", count=before + 1)[-1].args["text"]


def cadence_of(bot) -> Cadence:
    with bot.session() as session:
        return session.scalar(select(TeamReminder.cadence))


def test_a_workspace_admin_who_owns_nothing_may_change_a_teams_reminders(bot):
    Person(bot, "UOWNER").command("assess Fraud ML")
    bot.slack.add_user("UWSADMIN", is_admin=True)
    bot.slack.add_user("UWSOWNER", is_owner=True)
    bot.slack.add_user("USTRANGER")
    refused = say(bot, "remind off Fraud ML", user="USTRANGER")
    assert "Only the owners of *Fraud ML* (<@UOWNER>)" in refused
    assert cadence_of(bot) == Cadence.WEEKLY
    assert "monthly nudge" in say(bot, "remind monthly Fraud ML", user="UWSADMIN")
    assert cadence_of(bot) == Cadence.MONTHLY
    assert "No more nudges" in say(bot, "remind off Fraud ML", user="UWSOWNER")
    assert cadence_of(bot) == Cadence.OFF


def test_a_bot_admin_may_edit_a_team_and_change_its_reminders(make_bot):
    bot = make_bot(admin_user_ids=frozenset({"UBOTADMIN"}))
    Person(bot, "UOWNER").command("assess Fraud ML")
    bot.slack.add_user("UBOTADMIN")  # not a workspace admin: BOT_ADMINS is enough
    bot.slack.add_user("USTRANGER")
    assert "Only the team's owners (<@UOWNER>)" in say(bot, "team Fraud ML", user="USTRANGER")
    assert bot.slack.calls_to("views.open") == []
    bot.client.command("team Fraud ML", user_id="UBOTADMIN", channel_id="C1")
    (opened,) = bot.slack.wait_for("views.open")
    assert opened.args["view"]["callback_id"] == "team_modal"
    assert "biweekly nudge" in say(bot, "remind biweekly Fraud ML", user="UBOTADMIN")
    assert cadence_of(bot) == Cadence.BIWEEKLY
