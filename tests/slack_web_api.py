"""The Web API stand-in now lives in `bot.sandbox.slack_api`, where the sandbox uses it too.

Kept as a thin re-export so every test that imports it from here keeps working unchanged.
"""

from bot.sandbox.slack_api import *  # noqa: F403
from bot.sandbox.slack_api import Call, FakeSlack, parse_request_args

__all__ = ["Call", "FakeSlack", "parse_request_args"]
