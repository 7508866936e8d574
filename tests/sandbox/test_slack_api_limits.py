"""The stand-in refuses what Slack refuses, with Slack's error names.

Why: the bot is tested against the stand-in, so wherever the stand-in is more lenient than
Slack, a bug passes here and fails in a workspace (a 3,001-character section, a 51st block,
an ephemeral into a channel the bot is not in, a response URL used after 30 minutes). Each
limit is probed on both sides: the largest thing Slack accepts goes through, one more is
refused with the error Slack gives.
"""

from __future__ import annotations

from typing import Any

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.webhook import WebhookClient

from bot.sandbox.slack_api import FakeSlack
from bot.sandbox.slack_api.limits import message_error, view_problems

TOKEN = "xoxb-test-token"


@pytest.fixture
def client(slack: FakeSlack) -> WebClient:
    """A bot client on the suite's `slack` stand-in (tests/conftest.py)."""
    return WebClient(token=TOKEN, base_url=slack.api_url)


def section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def button(**overrides: Any) -> dict[str, Any]:
    return {
        "type": "button",
        "action_id": "go",
        "text": {"type": "plain_text", "text": "Go"},
        "value": "1",
        **overrides,
    }


def option(text: str = "One", value: str = "1") -> dict[str, Any]:
    return {"text": {"type": "plain_text", "text": text}, "value": value}


def modal(blocks: list | None = None, **overrides: Any) -> dict[str, Any]:
    return {
        "type": "modal",
        "callback_id": "cb",
        "title": {"type": "plain_text", "text": "Title"},
        "blocks": blocks if blocks is not None else [section("hi")],
        **overrides,
    }


def refused(call) -> SlackApiError:
    with pytest.raises(SlackApiError) as excinfo:
        call()
    return excinfo.value


# ---------------------------------------------------------------- messages


def test_section_text_up_to_3000_characters_counted_after_escaping(client: WebClient) -> None:
    client.chat_postMessage(channel="C1", text="t", blocks=[section("x" * 3000)])
    error = refused(
        lambda: client.chat_postMessage(
            channel="C1", text="t", blocks=[section("x" * 2996 + "&amp;")]
        )
    )
    assert error.response["error"] == "invalid_blocks"
    assert error.response["response_metadata"]["messages"] == [
        "[ERROR] must be less than 3001 characters [json-pointer:/blocks/0/text/text]"
    ]


def test_at_most_50_blocks_in_a_message(client: WebClient, slack: FakeSlack) -> None:
    client.chat_postMessage(channel="C1", text="t", blocks=[section("b")] * 50)
    error = refused(
        lambda: client.chat_postMessage(channel="C1", text="t", blocks=[section("b")] * 51)
    )
    assert error.response["error"] == "invalid_blocks"
    assert "no more than 50 items allowed [json-pointer:/blocks]" in str(error.response)
    assert len(slack.messages["C1"]) == 1  # the refused one was not posted


def test_message_text_over_40000_characters_is_msg_too_long(client: WebClient) -> None:
    client.chat_postMessage(channel="C1", text="x" * 40_000)
    error = refused(lambda: client.chat_postMessage(channel="C1", text="x" * 40_001))
    assert error.response["error"] == "msg_too_long"


def test_blocks_that_are_not_a_list_of_objects_are_invalid_blocks_format(
    client: WebClient,
) -> None:
    error = refused(lambda: client.chat_postMessage(channel="C1", text="t", blocks="[oops"))
    assert error.response["error"] == "invalid_blocks_format"


TOO_BIG = {
    "header text 151": {
        "type": "header",
        "text": {"type": "plain_text", "text": "h" * 151},
    },
    "button label 76": {
        "type": "actions",
        "elements": [button(text={"type": "plain_text", "text": "b" * 76})],
    },
    "button value 2001": {"type": "actions", "elements": [button(value="v" * 2001)]},
    "action_id 256": {"type": "actions", "elements": [button(action_id="a" * 256)]},
    "block_id 256": {**section("s"), "block_id": "b" * 256},
    "11 fields": {"type": "section", "fields": [{"type": "mrkdwn", "text": "f"}] * 11},
    "field text 2001": {"type": "section", "fields": [{"type": "mrkdwn", "text": "f" * 2001}]},
    "26 actions": {"type": "actions", "elements": [button(action_id=f"a{i}") for i in range(26)]},
    "11 context elements": {"type": "context", "elements": [{"type": "mrkdwn", "text": "c"}] * 11},
    "101 options": {
        "type": "actions",
        "elements": [
            {
                "type": "static_select",
                "action_id": "s",
                "options": [option(value=str(i)) for i in range(101)],
            }
        ],
    },
    "option text 76": {
        "type": "actions",
        "elements": [{"type": "static_select", "action_id": "s", "options": [option("o" * 76)]}],
    },
    "option value 151": {
        "type": "actions",
        "elements": [
            {"type": "static_select", "action_id": "s", "options": [option(value="v" * 151)]}
        ],
    },
    "empty section text": section(""),
    "unknown block": {"type": "sparkles"},
}


@pytest.mark.parametrize("name", sorted(TOO_BIG))
def test_every_block_kit_limit_is_refused_as_invalid_blocks(
    client: WebClient, slack: FakeSlack, name: str
) -> None:
    error = refused(lambda: client.chat_postMessage(channel="C1", text="t", blocks=[TOO_BIG[name]]))
    assert error.response["error"] == "invalid_blocks", name
    assert error.response["response_metadata"]["messages"], name
    assert not slack.messages["C1"]


def test_exactly_at_the_limits_is_accepted() -> None:
    blocks = [
        {"type": "header", "text": {"type": "plain_text", "text": "h" * 150}},
        {"type": "section", "fields": [{"type": "mrkdwn", "text": "f" * 2000}] * 10},
        {
            "type": "actions",
            "elements": [
                button(
                    action_id=f"{i:0>255}",
                    value="v" * 2000,
                    text={"type": "plain_text", "text": "b" * 75},
                )
                for i in range(25)
            ],
        },
        {"type": "context", "elements": [{"type": "mrkdwn", "text": "c"}] * 10},
        {
            "type": "actions",
            "elements": [
                {
                    "type": "static_select",
                    "action_id": "s",
                    "options": [option("o" * 75, f"{i:0>150}") for i in range(100)],
                }
            ],
        },
    ]
    assert message_error({"text": "t", "blocks": blocks}) is None


def test_chat_update_and_ephemeral_are_checked_too(client: WebClient, slack: FakeSlack) -> None:
    ts = client.chat_postMessage(channel="C1", text="t", blocks=[section("ok")])["ts"]
    error = refused(
        lambda: client.chat_update(channel="C1", ts=ts, text="t", blocks=[section("x" * 3001)])
    )
    assert error.response["error"] == "invalid_blocks"
    assert slack.messages["C1"][0]["blocks"] == [section("ok")]
    error = refused(
        lambda: client.chat_postEphemeral(
            channel="C1", user="U1", text="t", blocks=[section("b")] * 51
        )
    )
    assert error.response["error"] == "invalid_blocks"


def test_a_response_url_refuses_invalid_blocks_and_changes_nothing(slack: FakeSlack) -> None:
    url = slack.response_url(channel="C1", user="U1")
    response = WebhookClient(url).send(text="t", blocks=[section("x" * 3001)])
    assert (response.status_code, response.body) == (400, "invalid_blocks")
    assert not slack.ephemeral[("C1", "U1")]
    assert WebhookClient(url).send(text="t", blocks=[section("fine")]).status_code == 200


# ---------------------------------------------------------------- views


def test_at_most_100_blocks_in_a_modal_or_home_tab(client: WebClient) -> None:
    client.views_open(trigger_id="t", view=modal([section("b")] * 100))
    client.views_publish(user_id="U1", view={"type": "home", "blocks": [section("b")] * 100})
    error = refused(lambda: client.views_open(trigger_id="t", view=modal([section("b")] * 101)))
    assert error.response["error"] == "invalid_arguments"
    assert "no more than 100 items allowed [json-pointer:/view/blocks]" in str(error.response)
    error = refused(
        lambda: client.views_publish(
            user_id="U1", view={"type": "home", "blocks": [section("b")] * 101}
        )
    )
    assert error.response["error"] == "invalid_arguments"


VIEW_TOO_BIG = {
    "title 25": modal(title={"type": "plain_text", "text": "t" * 25}),
    "submit 25": modal(submit={"type": "plain_text", "text": "s" * 25}),
    "close 25": modal(close={"type": "plain_text", "text": "c" * 25}),
    "private_metadata 3001": modal(private_metadata="m" * 3001),
    "callback_id 256": modal(callback_id="c" * 256),
    "section 3001": modal([section("x" * 3001)]),
    "input without submit": modal(
        [
            {
                "type": "input",
                "label": {"type": "plain_text", "text": "Note"},
                "element": {"type": "plain_text_input", "action_id": "n"},
            }
        ]
    ),
}


@pytest.mark.parametrize("name", sorted(VIEW_TOO_BIG))
def test_every_view_limit_is_refused_on_open_push_and_update(
    client: WebClient, slack: FakeSlack, name: str
) -> None:
    view = VIEW_TOO_BIG[name]
    for call in (
        lambda: client.views_open(trigger_id="t", view=view),
        lambda: client.views_push(trigger_id="t", view=view),
    ):
        assert refused(call).response["error"] == "invalid_arguments", name
    opened = client.views_open(trigger_id="t", view=modal())["view"]
    error = refused(lambda: client.views_update(view_id=opened["id"], view=view))
    assert error.response["error"] == "invalid_arguments", name
    assert slack.views[opened["id"]]["blocks"] == [section("hi")]


def test_view_problems_is_empty_for_a_view_at_its_limits() -> None:
    view = modal(
        [section("x" * 3000)] * 100,
        title={"type": "plain_text", "text": "t" * 24},
        submit={"type": "plain_text", "text": "s" * 24},
        close={"type": "plain_text", "text": "c" * 24},
        private_metadata="m" * 3000,
        callback_id="c" * 255,
    )
    assert view_problems(view) == []


# ---------------------------------------------------------------- membership


def test_history_needs_membership_even_where_the_bot_may_post(
    client: WebClient, slack: FakeSlack
) -> None:
    slack.add_channel("CPUBLIC", is_member=False)
    client.chat_postMessage(channel="CPUBLIC", text="chat:write.public lets me post")
    error = refused(lambda: client.conversations_history(channel="CPUBLIC"))
    assert error.response["error"] == "not_in_channel"
    client.conversations_join(channel="CPUBLIC")
    assert client.conversations_history(channel="CPUBLIC")["messages"]

    slack.add_channel("GPRIVATE", is_member=False, is_private=True)
    error = refused(lambda: client.conversations_history(channel="GPRIVATE"))
    assert error.response["error"] == "channel_not_found"


def test_channels_the_test_did_not_declare_are_public_and_not_joined(
    client: WebClient,
) -> None:
    client.chat_postMessage(channel="CNEW", text="posting works with chat:write.public")
    assert (
        refused(lambda: client.conversations_history(channel="CNEW")).response["error"]
        == "not_in_channel"
    )
    assert client.conversations_info(channel="CNEW")["channel"]["is_member"] is False


def test_ephemeral_messages_only_where_the_bot_is_a_member(
    client: WebClient, slack: FakeSlack
) -> None:
    slack.add_channel("CPUBLIC", is_member=False)
    slack.add_channel("GPRIVATE", is_member=False, is_private=True)
    slack.add_channel("GMPIM", is_member=False, is_private=True, is_mpim=True)
    slack.add_channel("DPEOPLE", is_member=False, is_private=True)
    expected = {
        "CPUBLIC": "not_in_channel",
        "GPRIVATE": "channel_not_found",
        "GMPIM": "channel_not_found",
        "DPEOPLE": "channel_not_found",
    }
    for channel, error_name in expected.items():
        error = refused(lambda c=channel: client.chat_postEphemeral(channel=c, user="U1", text="t"))
        assert error.response["error"] == error_name, channel
    slack.add_channel("CJOINED", is_member=True)
    client.chat_postEphemeral(channel="CJOINED", user="U1", text="t")
    client.chat_postEphemeral(channel=slack.dm_channel_id("U1"), user="U1", text="in our DM")


def test_private_channels_and_group_dms_refuse_posts_until_the_bot_is_invited(
    client: WebClient, slack: FakeSlack
) -> None:
    slack.add_channel("GPRIVATE", is_member=False, is_private=True)
    error = refused(lambda: client.chat_postMessage(channel="GPRIVATE", text="t"))
    assert error.response["error"] == "channel_not_found"
    error = refused(lambda: client.conversations_join(channel="GPRIVATE"))
    assert error.response["error"] == "channel_not_found"  # only an invitation lets it in
    assert (
        refused(lambda: client.conversations_info(channel="GPRIVATE")).response["error"]
        == "channel_not_found"
    )
    slack.invite("GPRIVATE")
    client.chat_postMessage(channel="GPRIVATE", text="t")
    assert client.conversations_info(channel="GPRIVATE")["channel"]["is_member"] is True


def test_a_bot_cannot_dm_another_bot(client: WebClient, slack: FakeSlack) -> None:
    slack.add_user("UOTHERBOT", is_bot=True)
    for call in (
        lambda: client.chat_postMessage(channel="UOTHERBOT", text="hi"),
        lambda: client.conversations_open(users="UOTHERBOT"),
    ):
        assert refused(call).response["error"] == "cannot_dm_bot"


def test_without_chat_write_public_a_public_channel_needs_joining_first() -> None:
    with FakeSlack(scopes={"chat:write", "channels:join"}) as slack:
        client = WebClient(token=TOKEN, base_url=slack.api_url)
        slack.add_channel("CPUBLIC", is_member=False)
        error = refused(lambda: client.chat_postMessage(channel="CPUBLIC", text="t"))
        assert error.response["error"] == "not_in_channel"
        client.conversations_join(channel="CPUBLIC")
        client.chat_postMessage(channel="CPUBLIC", text="t")


# ---------------------------------------------------------------- rate limits


def test_methods_are_rate_limited_per_workspace_by_their_tier(
    client: WebClient, slack: FakeSlack
) -> None:
    slack.add_channel("C1", is_member=True)
    for _ in range(50):  # Tier 3: 50 a minute
        client.conversations_info(channel="C1")
    error = refused(lambda: client.conversations_info(channel="C1"))
    assert error.response.status_code == 429
    assert error.response["error"] == "ratelimited"
    assert int(error.response.headers["Retry-After"]) >= 1
    slack.add_user("U1")
    for _ in range(100):  # Tier 4: 100 a minute, a budget of its own
        client.users_info(user="U1")
    assert refused(lambda: client.users_info(user="U1")).response.status_code == 429
    slack.advance(60)
    client.conversations_info(channel="C1")
    client.users_info(user="U1")


def test_rate_limits_can_be_switched_off_for_benchmarks() -> None:
    with FakeSlack(rate_limits=False) as slack:
        client = WebClient(token=TOKEN, base_url=slack.api_url)
        for _ in range(120):
            client.auth_test()


def test_strict_history_limit_for_new_commercial_apps(slack: FakeSlack) -> None:
    """Apps outside the Marketplace created after 2025-05-29: 1 read a minute, 15 messages."""
    slack.strict_history()
    client = WebClient(token=TOKEN, base_url=slack.api_url)
    slack.add_channel("C1", is_member=True)
    for i in range(40):
        slack.add_message("C1", f"m{i}")
    page = client.conversations_history(channel="C1", limit=200)
    assert len(page["messages"]) == 15
    assert page["has_more"] is True
    error = refused(lambda: client.conversations_history(channel="C1"))
    assert (error.response.status_code, error.response["error"]) == (429, "ratelimited")
    assert int(error.response.headers["Retry-After"]) > 1
    slack.add_channel("C2", is_member=True)  # per workspace, not per channel
    assert refused(lambda: client.conversations_history(channel="C2")).response.status_code == 429
    slack.advance(61)
    assert client.conversations_history(channel="C1")["ok"]


# ---------------------------------------------------------------- response URLs


def test_a_response_url_works_five_times(slack: FakeSlack) -> None:
    url = slack.response_url(channel="C1", user="U1")
    for i in range(5):
        assert WebhookClient(url).send(text=f"use {i}").status_code == 200
    assert WebhookClient(url).send(text="sixth").status_code == 404


def test_a_response_url_expires_after_30_minutes(slack: FakeSlack) -> None:
    url = slack.response_url(channel="C1", user="U1")
    slack.advance(29 * 60)
    assert WebhookClient(url).send(text="still fine").status_code == 200
    slack.advance(2 * 60)
    response = WebhookClient(url).send(text="too late")
    assert (response.status_code, response.body) == (404, "expired_url")
    assert [m["text"] for m in slack.ephemeral[("C1", "U1")]] == ["still fine"]


def test_workspace_pace_limits_posts_across_channels(client: WebClient, slack: FakeSlack) -> None:
    """benchmarks/fanout.py's workspace-wide limit, on top of the per-channel pace."""
    slack.pace_workspace(per_second=0.5, burst=2)
    client.chat_postMessage(channel="C1", text="1")
    client.chat_postMessage(channel="C2", text="2")
    error = refused(lambda: client.chat_postMessage(channel="C3", text="3"))
    assert (error.response.status_code, error.response["error"]) == (429, "ratelimited")
    assert error.response.headers["Retry-After"] == "2"
    slack.pace_workspace(None)
    client.chat_postMessage(channel="C3", text="3")
