"""What the bot sends on its own under Microsoft's model: announcement, nudge and digest.

The assessment is a person's clicks through signed requests; time is driven by the tick's
`now`. A switch of model afterwards changes a level without anybody moving, so the next
digest counts no move and nothing is announced.
"""

from __future__ import annotations

from datetime import UTC, datetime

from bot.domain import builtin_model
from bot.services import maturity
from tests.delivery.conftest import WS, assert_valid_message, key_of, posts
from tests.driver import Person, run_assessment

MS_L2 = {
    cid: "yes"
    for cid in (
        "source_control",
        "app_ci",
        "data_versioning",
        "experiment_tracking",
        "automated_training",
        "model_registry",
    )
}
MONDAY_0905_UTC = datetime(2026, 11, 30, 9, 5, tzinfo=UTC)  # 10:05 in Berlin
TUESDAY_0905_UTC = datetime(2026, 12, 1, 9, 5, tzinfo=UTC)


def test_announcement_nudge_and_digest_speak_microsofts_levels(bot, org, run_tick):
    with bot.session() as session:
        maturity.install(session, WS, builtin_model("microsoft"), None)
        maturity.use(session, WS, "microsoft", "UOPERATOR")
        session.commit()
    bot.slack.add_user("UOWNER", tz="Europe/Berlin")
    bot.slack.add_user("UADMIN", tz="Europe/Berlin", is_admin=True)
    org.joined("C0FRAUD")
    org.subscribe("C0DIGEST", cadence="daily", at="09:00", tz="UTC")

    owner = Person(bot, user_id="UOWNER", channel_id="C0FRAUD")
    card = run_assessment(owner, "Fraud ML", MS_L2)
    assert "L2 · Automated training" in card["text"]

    counts = run_tick(MONDAY_0905_UTC)
    assert counts["digest"] == 1 and counts["nudge"] == 1

    (announced,) = [c for c in posts(bot.slack, "C0FRAUD") if key_of(c).startswith("level:")]
    assert "moved up to *L2 · Automated training*" in announced.args["blocks"][0]["text"]["text"]

    (nudge,) = [c for c in posts(bot.slack, "UOWNER") if key_of(c).startswith("nudge:")]
    assert_valid_message(nudge.args)
    text = str(nudge.args["blocks"])
    assert "Release models automatically" in text and "L2 · Automated training" in text

    (digest,) = [c for c in posts(bot.slack, "C0DIGEST") if key_of(c).startswith("digest:")]
    assert_valid_message(digest.args)
    fields = [f["text"] for f in digest.args["blocks"][1]["fields"]]
    assert [f.split("\n")[0] for f in fields] == [
        "*L0 · No MLOps*",
        "*L1 · DevOps but no MLOps*",
        "*L2 · Automated training*",
        "*L3 · Automated model deployment*",
        "*L4 · Full MLOps automated operations*",
        "*Not assessed yet*",
    ]
    assert "1 moved up" in digest.args["text"]
    assert "Release models automatically" in str(digest.args["blocks"])

    # Back to Google's model: the team is L0 there (no feature store), but nobody moved.
    admin = Person(bot, user_id="UADMIN", channel_id="C0FRAUD")
    assert "1 team has a different level" in str(admin.command("model use google"))
    run_tick(TUESDAY_0905_UTC)
    digests = [c for c in posts(bot.slack, "C0DIGEST") if key_of(c).startswith("digest:")]
    assert len(digests) == 2
    assert "0 moved up, 0 moved down" in digests[-1].args["text"]
    assert "*L2 · CI/CD + continuous training*" in str(digests[-1].args["blocks"])
    announcements = [c for c in posts(bot.slack) if key_of(c).startswith("level:")]
    assert len(announcements) == 2  # the first assessment's, in C0FRAUD and C0DIGEST only
