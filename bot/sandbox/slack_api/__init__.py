"""A local stand-in for Slack's Web API, served over real HTTP on 127.0.0.1.

The tests use it to see what the bot sends, and the sandbox (`mlops-bot sandbox`) uses the
very same server as the Slack a person clicks around in, so what the tests check is what the
sandbox shows.

Why a server and not mocks: the app under test talks to Slack through slack_sdk's WebClient and
Bolt's ``respond()``, which build real requests (JSON for chat.* and views.*, forms for
conversations.* and users.*, Bearer tokens, multipart uploads) and read real responses (status,
``Retry-After``, ``ok``/``error``). Serving those over a socket exercises exactly the code that
runs against Slack, including retry handlers and error handling, while letting tests read what
the app sent (``slack.calls``) and the state it left behind (``slack.messages``,
``slack.home_views``).

One module per concern, so each stays small enough to read at once:

- ``http``: the server; parses requests (``parse_request_args``) and writes answers.
- ``state``: the workspace (users, channels, messages, views, tokens) and its rules.
- ``methods``: the Web API methods, response URLs and trigger ids over that state.
- ``faults``: injected errors, 429s, outages, delays and per-channel pacing.
- ``recorder``: every call received (``Call``) and the waits tests assert with.
- ``fake``: ``FakeSlack``, which wires them together.

Shapes follow Slack's documented responses closely enough for slack_sdk and Bolt; anything the
fake cannot know (channels, users) is configured by the test with ``add_channel``/``add_user``.
Unknown channels are treated leniently (they exist and the bot is a member); unknown users are
not (``users.info`` answers ``user_not_found``), because handling a missing user is app logic
worth testing.

Typical use::

    with FakeSlack() as slack:
        client = WebClient(token="xoxb-test-token", base_url=slack.api_url)
        client.chat_postMessage(channel="C1", text="hi")
        assert slack.last("chat.postMessage").args["text"] == "hi"
"""

from bot.sandbox.slack_api.fake import RESPONSE_URL_METHOD, UPLOAD_METHOD, FakeSlack
from bot.sandbox.slack_api.faults import TokenBucket
from bot.sandbox.slack_api.http import JSON_STRING_FIELDS, parse_request_args
from bot.sandbox.slack_api.recorder import Call
from bot.sandbox.slack_api.state import (
    APP_ID,
    BOT_ID,
    BOT_USER_ID,
    DEFAULT_TOKEN,
    TEAM_DOMAIN,
    TEAM_ID,
    TEAM_NAME,
    ApiError,
)

__all__ = [
    "APP_ID",
    "BOT_ID",
    "BOT_USER_ID",
    "DEFAULT_TOKEN",
    "JSON_STRING_FIELDS",
    "RESPONSE_URL_METHOD",
    "TEAM_DOMAIN",
    "TEAM_ID",
    "TEAM_NAME",
    "UPLOAD_METHOD",
    "ApiError",
    "Call",
    "FakeSlack",
    "TokenBucket",
    "parse_request_args",
]
