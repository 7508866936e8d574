"""The next step names what is left of it, never work already done.

Step 5 ("Add CI/CD for models") asks for CI/CD and A/B testing; with CI/CD in place, every
place that names the next step says "A/B testing is what's left".
"""

from __future__ import annotations

from bot.domain import DEFAULT_CHECKLIST
from tests.driver import Person, assert_valid_view, run_assessment, text_of

L1 = {c.id: "yes" for c in DEFAULT_CHECKLIST.capabilities if c.level == 1}
LEFT = "A/B testing is what's left"


def test_a_step_half_done_names_what_is_left_everywhere(bot):
    person = Person(bot)
    run_assessment(person, "Fraud ML", {**L1, "cicd": "yes"})

    card = text_of(person.command("status Fraud ML"))
    assert f"Next step 5: {LEFT}" in card
    assert "Add CI/CD for models" not in card

    detail = text_of(person.command("next Fraud ML"))
    assert f"Step 5 of 6: {LEFT}" in detail
    assert ":white_check_mark: *CI/CD for ML*" in detail  # what counts as done, ticked

    overview = text_of(person.command("teams"))
    assert f"next: {LEFT}" in overview

    bot.client.event({"type": "app_home_opened", "user": "U1", "tab": "home"})
    view = bot.slack.wait_for("views.publish", count=2)[-1].args["view"]  # finish, then open
    assert_valid_view(view)
    assert f"Next: *{LEFT}*" in text_of(view)


def test_a_step_not_started_keeps_its_title_and_two_left_are_named(bot):
    person = Person(bot)
    run_assessment(person, "Vision", {"data_versioning": "yes"})
    assert "Next step 2: Track experiments and register models" in text_of(
        person.command("status Vision")
    )
    run_assessment(person, "Search", {**L1, "cicd": "yes", "ab_testing": "yes"})
    assert "Next step 6: Enable continuous training" in text_of(person.command("status Search"))
    run_assessment(
        person, "Ads", {**L1, "cicd": "yes", "ab_testing": "yes", "drift_monitoring": "partly"}
    )
    assert "Next step 6: Enable continuous training" in text_of(person.command("status Ads"))
    run_assessment(
        person, "Ranking", {**L1, "cicd": "yes", "ab_testing": "yes", "automated_retraining": "yes"}
    )
    assert "Next step 6: Drift monitoring is what's left" in text_of(
        person.command("status Ranking")
    )
    bot.slack.wait_for("views.publish", count=4)  # each finish refreshes App Home: let it land
