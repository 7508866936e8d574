"""Publishing App Home: the person's teams, the organisation's counts and its trend picture.

The picture is the one the latest digest shared (an uploaded file referenced by an image
block, so nothing needs a public URL). Slack refuses the whole view if the viewer cannot see
that file (a digest channel private to others): then Home is published without it.
"""

from __future__ import annotations

import dataclasses
import logging

from slack_sdk.errors import SlackApiError

from bot.domain import Purpose
from bot.services import home as home_service
from handlers.base import Req
from messages import render

log = logging.getLogger(__name__)


def publish_home(req: Req, user_id: str, purpose: Purpose | None = None) -> None:
    """Publish `user_id`'s App Home (their teams of `purpose`, if given); raises SlackApiError
    if Slack refuses it even bare."""
    data = home_service.home(req.session, req.team_id, user_id, purpose)
    view = render("home", command=req.settings.slash_command, **vars(data))
    try:
        req.client.views_publish(user_id=user_id, view=view)
        return
    except SlackApiError as error:
        if data.picture is None or error.response.get("error") != "invalid_arguments":
            raise
        log.info("App Home for %s: the trend picture was refused; publishing without it", user_id)
    bare = dataclasses.replace(data, picture=None)
    req.client.views_publish(
        user_id=user_id, view=render("home", command=req.settings.slash_command, **vars(bare))
    )
