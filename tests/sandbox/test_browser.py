"""The sandbox in a real browser (Debian's Chromium under Playwright), as a person uses it.

Why: the page is the product here. These tests type and click like a person, so they prove
that the whole chain works: page -> sandbox -> Slack's signed payloads -> the real bot ->
Web API stand-in -> rendered Block Kit. Screenshots land in artifacts/sandbox/.
"""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from bot.models import DigestSubscription, Team
from bot.sandbox.workspace import TEAM_ID
from bot.services.teams import name_key
from tests.driver import eventually
from tests.sandbox.conftest import ARTIFACTS, shot

pytestmark = pytest.mark.slow  # drives Chromium

sync_api = pytest.importorskip(
    "playwright.sync_api", reason="browser tests skipped: playwright is not installed"
)
expect = sync_api.expect


DIGEST = re.compile(r"MLOps maturity .*digest")
HOSTILE = "<script>alert(1)</script>"


def add_team(sandbox, name: str) -> None:
    """A team whose name is markup, written directly (a typed name would arrive escaped)."""
    with sandbox.runtime.session_factory.begin() as session:
        session.add(
            Team(workspace_id=TEAM_ID, name=name, name_key=name_key(name), created_by="U0ADA")
        )


def picture_remembered(sandbox) -> bool:
    with sandbox.runtime.session_factory() as session:
        return (
            session.scalar(
                select(DigestSubscription.id).where(DigestSubscription.picture_file_id.is_not(None))
            )
            is not None
        )


def open_channel(page, name: str) -> None:
    page.locator(".sidebar .side-item", has_text=name).first.click()
    expect(page.locator("#pane-title")).to_have_text(f"# {name}")


def type_command(page, text: str) -> None:
    composer = page.locator("#composer-input")
    composer.fill(text)
    composer.press("Enter")


@pytest.mark.parametrize("sandbox", ["http", "socket-mode"], indirect=True)
def test_assess_to_level_one_then_app_home_then_the_digest(page, sandbox):
    page.select_option("#user-switcher", "U0GRACE")
    open_channel(page, "ml-platform")
    type_command(page, "/mlops assess Sandbox")

    conversation = page.locator(".msg-ephemeral").last
    expect(conversation).to_contain_text("question 1 of 9")
    expect(conversation).to_contain_text("Only visible to you")
    expect(conversation).to_contain_text("Data versioning")

    answers = ["Yes"] * 5 + ["No"] * 4
    for number, answer in enumerate(answers, start=1):
        expect(conversation).to_contain_text(f"question {number} of 9")
        if number == 2:
            # Add note opens a modal; submitting without an answer shows the bot's error.
            conversation.get_by_role("button", name="Add note").click()
            modal = page.locator("#modal")
            expect(modal).to_be_visible()
            expect(page.locator("#modal-title")).to_have_text("Add a note")
            page.locator("#modal-submit").click()
            expect(modal).to_contain_text("Please pick an answer.")
            modal.get_by_label("Yes").check()
            modal.locator("textarea").fill("MLflow since March: <https://mlflow.example>")
            shot(page, "01-add-note-modal")
            page.locator("#modal-submit").click()
            expect(page.locator("#modal-backdrop")).to_be_hidden()
            continue
        if number == 4:
            shot(page, "02-assessment-in-progress")
        conversation.get_by_role("button", name=answer, exact=True).click()

    expect(conversation).to_contain_text("L1 · ML pipeline")
    expect(conversation).to_contain_text("5 of 9 for L2")
    # The note typed as <https://…> is a link on the card, not a link in literal brackets.
    expect(conversation.locator('a.bk-link[href="https://mlflow.example"]')).to_have_count(1)
    expect(conversation).not_to_contain_text("<https://")
    # The conversation updated one message in place; it never piled up new ones.
    expect(page.locator(".msg-ephemeral")).to_have_count(1)
    # The level change is announced to the digest channel within seconds, by the worker.
    expect(page.locator("#messages")).to_contain_text("Sandbox moved up to L1", timeout=15_000)
    shot(page, "03-level-card")

    page.locator("#app-home-link").click()
    home = page.locator("#home")
    expect(home).to_contain_text("Your teams")
    expect(home).to_contain_text("Sandbox")
    shot(page, "04-app-home")

    page.get_by_role("button", name="Jump to next Monday 09:00").click()
    expect(page.locator("#clock-label")).to_contain_text("Mon")
    expect(page.locator("#clock-label")).to_contain_text("09:0")
    open_channel(page, "ml-platform")
    digest = page.locator(".msg", has_text=DIGEST).last
    expect(digest).to_be_visible(timeout=15_000)
    expect(digest).to_contain_text("Sandbox")
    digest.scroll_into_view_if_needed()
    shot(page, "05-digest")
    if sandbox.socket_mode:  # every command, click, submission and event went over the socket
        kinds = {envelope.type for envelope in sandbox.socket.envelopes}
        assert kinds == {"slash_commands", "interactive", "events_api"}
        assert all(envelope.acked for envelope in sandbox.socket.envelopes)


def loaded(image) -> bool:
    """The picture arrived and decoded (an <img> that failed has no natural width)."""
    return image.evaluate("img => img.complete && img.naturalWidth > 0")


def test_the_digest_carries_its_picture_and_app_home_shows_it(page, sandbox):
    page.select_option("#user-switcher", "U0ADA")
    open_channel(page, "ml-platform")  # the page is up and showing its clock before the jump
    expect(page.locator("#clock-label")).to_contain_text("Sat")
    page.get_by_role("button", name="Jump to next Monday 09:00").click()
    expect(page.locator("#clock-label")).to_contain_text("Mon")
    open_channel(page, "ml-platform")
    digest = page.locator(".msg", has_text=DIGEST).last
    expect(digest).to_be_visible(timeout=15_000)
    picture = page.locator(".msg-image img").last
    expect(picture).to_be_visible(timeout=15_000)
    assert loaded(picture)
    expect(picture).to_have_attribute("alt", re.compile(r"^Teams per level, week by week"))
    box = picture.bounding_box()
    assert box and box["width"] >= 300  # readable at a glance, not a thumbnail
    page.locator(".msg-image").last.scroll_into_view_if_needed()
    shot(page, "06-digest-with-picture")

    # The channel shows the picture once Slack has it; the bot remembers it for App Home in
    # the transaction that records the send, a moment later. Open App Home after that, as a
    # person glancing at the channel first would.
    assert eventually(lambda: picture_remembered(sandbox), timeout=10), "picture not recorded"
    page.locator("#app-home-link").click()
    home = page.locator("#home")
    expect(home).to_contain_text("Your organisation")
    trend = home.locator("img")
    expect(trend).to_be_visible(timeout=15_000)
    assert loaded(trend)
    expect(trend).to_have_attribute("alt", re.compile(r"This week: \d+ at L0"))
    shot(page, "07-app-home-with-picture")

    # /mlops report: the heatmap and the trend arrive in the DM with the bot.
    open_channel(page, "general")
    type_command(page, "/mlops report")
    expect(page.locator(".msg-ephemeral").last).to_contain_text("I posted the maturity heatmap")
    page.locator("#app-home-link").click()
    page.locator(".tab[data-tab=messages]").click()
    pictures = page.locator(".msg-image img")
    expect(pictures).to_have_count(2, timeout=15_000)
    heatmap = pictures.first
    assert loaded(heatmap) and loaded(pictures.last)
    expect(heatmap).to_have_attribute("alt", re.compile(r"^Maturity heatmap: 12 teams by 9"))
    heatmap.scroll_into_view_if_needed()
    shot(page, "08-report-heatmap")
    # The pictures themselves, as Slack received them, for the README.
    for record in sandbox.slack.files.values():
        if record["name"] in ("maturity-heatmap.png", "maturity-trend.png"):
            (ARTIFACTS / record["name"]).write_bytes(record["content"])


def test_a_hostile_team_name_is_shown_as_text(page, sandbox):
    add_team(sandbox, HOSTILE)
    open_channel(page, "general")
    type_command(page, "/mlops teams")
    overview = page.locator(".msg-ephemeral").last
    expect(overview).to_contain_text(HOSTILE)
    # Only the page's own script exists; nothing the bot sent became markup.
    assert page.locator("script").count() == 1
    assert page.locator("#messages script").count() == 0


def test_switching_people_shows_each_their_own_ephemeral_messages(page, sandbox):
    open_channel(page, "general")
    page.locator("#composer-input").fill("/mlops as")
    hint = page.locator("#composer-hint")
    expect(hint).to_contain_text("/mlops assess [team]")
    expect(hint).not_to_contain_text("/mlops status")
    hint.locator(".hint-row").first.click()
    expect(page.locator("#composer-input")).to_have_value("/mlops assess ")
    type_command(page, "/mlops help")
    expect(hint).to_be_hidden()
    expect(page.locator(".msg-ephemeral")).to_contain_text("MLOps maturity bot")
    page.select_option("#user-switcher", "U0ALAN")
    expect(page.locator("#messages")).not_to_contain_text("Only visible to you")
    expect(page.locator("#messages")).to_contain_text("No messages yet")

    # Each person's DM with the bot is their own, too.
    page.locator("#dm-link").click()
    type_command(page, "/mlops help")
    expect(page.locator("#messages")).to_contain_text("MLOps maturity bot")
    page.select_option("#user-switcher", "U0KATHERINE")
    expect(page.locator("#pane-title")).to_have_text("MLOps maturity bot")
    expect(page.locator("#messages")).to_contain_text("No messages yet")


def test_permissions_and_the_team_modal_with_people_and_channel_pickers(page, sandbox):
    page.select_option("#user-switcher", "U0KATHERINE")
    open_channel(page, "general")
    type_command(page, "/mlops digest #general weekly monday 10:00")
    expect(page.locator(".msg-ephemeral").last).to_contain_text("Only workspace admins")

    page.select_option("#user-switcher", "U0ADA")  # the workspace admin
    type_command(page, "/mlops digest #general weekly monday 10:00")
    expect(page.locator(".msg-ephemeral").last).to_contain_text(
        "#general gets the digest weekly on Mondays at 10:00"
    )

    open_channel(page, "forecasting")
    type_command(page, "/mlops team Vision Two")
    modal = page.locator("#modal")
    expect(page.locator("#modal-title")).to_have_text("New team")
    expect(modal.locator("input").first).to_have_value("Vision Two")
    expect(modal.locator("select[data-input*='\"team_channel\"']")).to_have_value("C0FORECAST")
    # What the team's models are for: production unless someone says otherwise.
    expect(modal.locator("select[data-input*='\"team_purpose\"']")).to_have_value("production")
    modal.locator("select[multiple]").select_option(["U0ALAN", "U0KATHERINE"])
    shot(page, "06-team-modal")
    page.locator("#modal-submit").click()
    # The confirmation arrives in the modal itself: the bot may not be in the channel.
    expect(modal).to_contain_text("Created team Vision Two with home channel #forecasting.")
    shot(page, "07-team-saved")
    modal.get_by_role("button", name="Done").click()
    expect(page.locator("#modal-backdrop")).to_be_hidden()
    with sandbox.runtime.session_factory() as session:
        team = session.query(Team).filter_by(name="Vision Two").one()
        assert team.home_channel_id == "C0FORECAST"
        assert sorted(owner.user_id for owner in team.owners) == ["U0ALAN", "U0KATHERINE"]


def test_nudges_reach_the_owners_dm_and_pickers_in_a_message_act(page, sandbox):
    page.select_option("#user-switcher", "U0GRACE")
    page.get_by_role("button", name="Jump to next Monday 09:00").click()
    expect(page.locator("#dm-link .badge")).to_be_visible(timeout=15_000)
    page.locator("#dm-link").click()
    nudge = page.locator(".msg", has_text="Fraud ML is at L1").last
    expect(nudge).to_contain_text("Done, update my answers")
    nudge.locator("select").select_option(index=1)
    expect(page.locator("#messages")).to_contain_text("Snoozed: no nudges about Fraud ML")

    pricing = page.locator(".msg", has_text="Pricing is at L0").last
    pricing.locator("input[type=date]").fill("2027-01-15")
    expect(page.locator("#messages")).to_contain_text("Snoozed: no nudges about Pricing")
