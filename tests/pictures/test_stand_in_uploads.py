"""The stand-in's file uploads refuse what Slack refuses, so the bot's tests cannot pass on
an upload real Slack would turn down: files_upload_v2's three steps, straight from slack_sdk.
"""

from __future__ import annotations

import json
import urllib.request

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.pictures import TrendWeek, render_trend
from tests.slack_web_api import FakeSlack

TOKEN = "xoxb-test-token"


@pytest.fixture
def slack():
    with FakeSlack() as fake:
        yield fake


@pytest.fixture
def client(slack):
    return WebClient(token=TOKEN, base_url=slack.api_url)


def png() -> bytes:
    from datetime import date

    return render_trend([TrendWeek(date(2026, 11, 30), {0: 1})]).data


def error_of(call) -> str:
    with pytest.raises(SlackApiError) as caught:
        call()
    return caught.value.response["error"]


def test_an_image_shared_into_a_channel_keeps_its_alt_text_and_size(client, slack):
    slack.add_channel("C1")
    result = client.files_upload_v2(
        channel="C1",
        content=png(),
        filename="trend.png",
        title="Trend",
        alt_txt="3 teams at L0",
        initial_comment="This week",
    )
    record = slack.files[result["file"]["id"]]
    assert record["alt_txt"] == "3 teams at L0"
    assert (record["filetype"], record["mimetype"]) == ("png", "image/png")
    assert (record["original_w"], record["original_h"]) == (800, 420)
    assert record["channels"] == ["C1"]
    (message,) = slack.messages["C1"]
    assert message["text"] == "This week" and message["files"][0]["id"] == record["id"]


def test_no_files_write_scope_no_upload(client, slack):
    slack.add_channel("C1")
    slack.scopes.discard("files:write")
    assert error_of(
        lambda: client.files_upload_v2(channel="C1", content=b"x", filename="a.png")
    ) == ("missing_scope")
    assert slack.files == {}


@pytest.mark.parametrize(
    ("channel", "kwargs", "error"),
    [
        ("CPUBLIC", {}, "not_in_channel"),  # chat:write.public does not cover files
        ("GPRIVATE", {"is_private": True}, "channel_not_found"),
        ("CARCHIVED", {"is_archived": True, "is_member": True}, "is_archived"),
    ],
)
def test_sharing_where_the_bot_cannot_post_is_refused_and_nothing_is_shared(
    client, slack, channel, kwargs, error
):
    slack.add_channel(channel, is_member=kwargs.pop("is_member", False), **kwargs)
    assert (
        error_of(lambda: client.files_upload_v2(channel=channel, content=png(), filename="t.png"))
        == error
    )
    assert all(not f["channels"] for f in slack.files.values())
    assert not slack.messages.get(channel)


def test_unknown_and_already_completed_files_are_not_found(client, slack):
    slack.add_channel("C1")
    assert (
        error_of(
            lambda: client.files_completeUploadExternal(
                files=[{"id": "F000000999"}], channel_id="C1"
            )
        )
        == "file_not_found"
    )
    started = client.files_getUploadURLExternal(filename="a.png", length=3)
    request = urllib.request.Request(started["upload_url"], data=b"abc", method="POST")
    with urllib.request.urlopen(request) as answer:
        assert answer.status == 200
    client.files_completeUploadExternal(files=[{"id": started["file_id"]}], channel_id="C1")
    assert (
        error_of(lambda: client.files_completeUploadExternal(files=[{"id": started["file_id"]}]))
        == "file_not_found"
    )
    assert error_of(lambda: client.files_getUploadURLExternal(filename="a.png", length=0)) == (
        "invalid_arguments"
    )


def test_an_image_block_may_show_only_an_image_its_viewers_can_see(client, slack):
    slack.add_channel("C1")
    shared = client.files_upload_v2(channel="C1", content=png(), filename="t.png")["file"]["id"]
    private = client.files_upload_v2(content=png(), filename="p.png")["file"]["id"]
    csv = client.files_upload_v2(channel="C1", content=b"a,b", filename="a.csv")["file"]["id"]
    assert slack.slack_file_problem({"id": shared}) is None
    assert slack.slack_file_problem({"id": shared}, viewer="U1") is None  # a public channel
    assert slack.slack_file_problem({"id": private}) == "invalid slack file"  # the bot's alone
    assert "png, jpg or gif" in slack.slack_file_problem({"id": csv})
    assert slack.slack_file_problem({"id": "F404"}) == "invalid slack file"
    assert slack.slack_file_problem({"id": shared, "url": "x"}) == "invalid slack file"
    in_dm = client.files_upload_v2(channel="DU1", content=png(), filename="d.png")["file"]["id"]
    assert slack.slack_file_problem({"id": in_dm}, viewer="U1") is None
    assert slack.slack_file_problem({"id": in_dm}, viewer="U2") == "invalid slack file"
    json.dumps(slack.files[shared], default=str)  # what the sandbox page serves is JSON


def test_a_message_or_home_showing_a_file_nobody_may_see_is_refused(client, slack):
    slack.add_channel("C1")
    shared = client.files_upload_v2(channel="C1", content=png(), filename="t.png")["file"]["id"]
    private = client.files_upload_v2(content=png(), filename="p.png")["file"]["id"]

    def image(file_id):
        return [{"type": "image", "slack_file": {"id": file_id}, "alt_text": "trend"}]

    client.chat_postMessage(channel="C1", text="ok", blocks=image(shared))
    with pytest.raises(SlackApiError) as caught:
        client.chat_postMessage(channel="C1", text="no", blocks=image(private))
    assert caught.value.response["error"] == "invalid_blocks"
    assert "invalid slack file [json-pointer:/blocks/0/slack_file]" in str(
        caught.value.response["response_metadata"]
    )
    home = {"type": "home", "blocks": image(shared)}
    client.views_publish(user_id="U1", view=home)
    with pytest.raises(SlackApiError):
        client.views_publish(user_id="U1", view={"type": "home", "blocks": image(private)})
    with pytest.raises(SlackApiError) as caught:  # neither a URL nor a file
        client.chat_postMessage(channel="C1", text="x", blocks=[{"type": "image", "alt_text": "a"}])
    assert caught.value.response["error"] == "invalid_blocks"
    slack.refused.clear()  # refused on purpose
