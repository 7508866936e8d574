"""The baseline for benchmarks/ack_latency.py: a Bolt app that acknowledges and does nothing.

Served by gunicorn (`benchmarks.bare_app:application`); it checks signatures like the bot.
"""

import os

from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_sdk import WebClient

# Bolt authorizes each request (auth.test, cached) against the same stand-in as the bot.
app = App(
    signing_secret=os.environ["SLACK_SIGNING_SECRET"],
    client=WebClient(token=os.environ["SLACK_BOT_TOKEN"], base_url=os.environ["SLACK_API_URL"]),
)
app.command("/mlops")(lambda ack: ack())
app.action("answer_yes")(lambda ack: ack())


def application(environ, start_response):
    """WSGI: /healthz for the start-up probe, everything else to Bolt."""
    if environ.get("PATH_INFO") == "/healthz":
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]
    return handler(environ, start_response)


handler = SlackRequestHandler(app)
