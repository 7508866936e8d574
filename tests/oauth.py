"""An OAuth deployment for tests: the stand-in answers oauth.v2.access, the bot installs
into a second workspace ("T2") through the real install pages and stores its token."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import parse_qs, urlsplit

from sqlalchemy import Engine

from bot.app import Runtime, create_app
from bot.web import Server, WebApp
from tests.conftest import make_settings
from tests.signed_client import SlackClient
from tests.slack_web_api import FakeSlack

CLIENT_ID, CLIENT_SECRET = "111.222", "client-secret"
NEW_TOKEN = "xoxb-installed-in-t2"


class OAuthSlack(FakeSlack):
    """The stand-in plus oauth.v2.access, which Slack authenticates with the client secret."""

    def _answer_api(self, method, args, token, parse_error):
        if method != "oauth.v2.access":
            return super()._answer_api(method, args, token, parse_error)
        self.oauth_calls.append(args)
        if args.get("code") != "good-code":
            return 200, {"ok": False, "error": "invalid_code"}, {}
        return (
            200,
            {
                "ok": True,
                "access_token": NEW_TOKEN,
                "token_type": "bot",
                "scope": "commands,chat:write",
                "bot_user_id": "UBOT2",
                "app_id": "A0TEST",
                "team": {"id": "T2", "name": "Second Org"},
                "enterprise": None,
                "is_enterprise_install": False,
                "authed_user": {"id": "U9"},
            },
            {},
        )


@contextmanager
def running_oauth_bot(
    engine: Engine, database_url: str, **overrides
) -> Iterator[tuple[SlackClient, OAuthSlack, Runtime]]:
    """The bot in OAuth mode on a loopback port; `overrides` change its settings."""
    with OAuthSlack() as slack:
        slack.oauth_calls = []
        slack.add_token(NEW_TOKEN, team_id="T2", team="Second Org", user_id="UBOT2", bot_id="B2")
        settings = make_settings(
            slack,
            database_url,
            slack_bot_token="",
            slack_client_id=CLIENT_ID,
            slack_client_secret=CLIENT_SECRET,
            **overrides,
        )
        runtime = Runtime.from_settings(settings, engine=engine)
        server = Server(WebApp(create_app(settings, runtime), runtime), "127.0.0.1", 0).start()
        client = SlackClient(server.url, settings.slack_signing_secret, fake_slack=slack)
        try:
            yield client, slack, runtime
        finally:
            server.stop()


def install(client: SlackClient) -> tuple[int, str]:
    """Click "Add to Slack" and come back from Slack with a good code, as a browser would."""
    page = client.get("/slack/install")
    assert page.status == 200
    link = re.search(r'href="(https://slack.com/oauth/v2/authorize[^"]+)"', page.body).group(1)
    query = parse_qs(urlsplit(link.replace("&amp;", "&")).query)
    assert query["client_id"] == [CLIENT_ID]
    assert "commands" in query["scope"][0] and "chat:write" in query["scope"][0]
    state = query["state"][0]
    cookie = page.headers["set-cookie"].split(";")[0]
    done = client.get(f"/slack/oauth_redirect?code=good-code&state={state}", {"Cookie": cookie})
    return done.status, done.body
