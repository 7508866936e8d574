"""Details of the sandbox page a person notices (issue: polish what a person sees), in
Debian's Chromium: emoji, links and mentions as Slack shows them, the clock refusing to go
back, and a toast that covers nothing."""

from __future__ import annotations

import pytest

from tests.sandbox.conftest import shot
from tests.sandbox.test_browser import open_channel, type_command

pytestmark = pytest.mark.slow  # drives Chromium

sync_api = pytest.importorskip(
    "playwright.sync_api", reason="browser tests skipped: playwright is not installed"
)
expect = sync_api.expect


def overlap(a: dict, b: dict) -> bool:
    """Whether two bounding boxes share any area."""
    return (
        a["x"] < b["x"] + b["width"]
        and b["x"] < a["x"] + a["width"]
        and a["y"] < b["y"] + b["height"]
        and b["y"] < a["y"] + a["height"]
    )


def test_emoji_links_and_mentions_show_as_in_slack(page, sandbox):
    page.select_option("#user-switcher", "U0GRACE")
    open_channel(page, "general")
    # The demo's Fraud ML has a "Partly": its icon is a character, never ":name:" as text.
    type_command(page, "/mlops status Fraud ML")
    card = page.locator(".msg-ephemeral").last
    expect(card).to_contain_text("Fraud ML · L1")
    expect(card.locator('.bk-emoji[title=":large_orange_diamond:"]').first).to_have_text("🔶")
    expect(card).not_to_contain_text(":large_orange_diamond:")
    expect(page.locator("#messages")).not_to_contain_text(":white_check_mark:")

    type_command(
        page,
        "runs at https://mlflow.example/r?a=1&b=2 and <https://docs.example|the docs>, "
        "ask @alan in #ml-platform",
    )
    said = page.locator(".msg", has_text="runs at").last
    expect(said.locator('a[href="https://mlflow.example/r?a=1&b=2"]')).to_have_text(
        "https://mlflow.example/r?a=1&b=2"
    )
    expect(said.locator('a[href="https://docs.example"]')).to_have_text("the docs")
    expect(said.locator(".bk-mention")).to_have_text(["@Alan Turing", "#ml-platform"])
    expect(said).not_to_contain_text("<https://")
    expect(said).not_to_contain_text("&amp;")


def test_a_jump_back_is_refused_in_a_toast_that_hides_nothing(page, sandbox):
    open_channel(page, "general")
    label = page.locator("#clock-label").inner_text()
    page.locator("#clock-at").fill("2026-01-05T09:00")
    page.locator("#clock-go").click()
    toast = page.locator("#toast")
    expect(toast).to_be_visible()
    expect(toast).to_contain_text("The sandbox clock only moves forward: it is already")
    expect(toast).to_contain_text("Pick a later time.")
    expect(page.locator("#clock-label")).to_have_text(label)  # not moved
    shot(page, "toast-refused-jump")

    boxes = {
        name: page.locator(selector).bounding_box()
        for name, selector in {
            "toast": "#toast",
            "message box": "#composer",
            "messages": "#messages",
            "clock": ".clock",
            "sidebar": ".sidebar",
        }.items()
    }
    covered = [
        name for name, box in boxes.items() if name != "toast" and overlap(boxes["toast"], box)
    ]
    assert covered == [], f"the toast covers the {covered}: {boxes}"
    # The message box is still there to type in while the toast shows.
    page.locator("#composer-input").fill("still here")
    expect(page.locator("#composer-input")).to_have_value("still here")

    # A jump forward is reported in the same place.
    page.get_by_role("button", name="+1 day").click()
    expect(toast).to_contain_text("Ran the worker at")
    assert not overlap(toast.bounding_box(), page.locator("#composer").bounding_box())
