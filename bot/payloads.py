"""Check the shape of a signed Slack request once, before Bolt or a listener reads it.

Slack never sends `payload=[]`, an action without an `action_id` or a `user` that is a
string, but a signed request can carry anything, and Bolt (which extracts ids from the body
while building the request) and the listeners assume Slack's shapes. Rather than guard every
read in every listener, the front door checks each payload kind the bot receives against the
shape Slack documents and refuses anything else with a 400 and one log line naming the
problem. The shapes here are what the bot and Bolt read, not everything Slack sends: extra
fields are always allowed, so a new field from Slack never turns into a refusal.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

# Slack's ids (T…, U…, C…, V…) are short upper-case words; the database keeps 32 characters.
_ID = re.compile(r"[A-Za-z0-9_.-]{1,32}")
# Bounds for the strings the bot stores or parses as names; free text is bounded only by
# the request body's cap (bot/web.py), as the listeners check their own limits on it.
NAME_MAX = 255

Check = Callable[[Any, str], "str | None"]


class Missing:
    """Marks an absent key, so that checks can tell "absent" from "null"."""


MISSING = Missing()


def _describe(value: Any) -> str:
    if value is MISSING:
        return "missing"
    if value is None:
        return "null"
    names = {str: "a string", bool: "a boolean", int: "a number", float: "a number"}
    names.update({list: "a list", dict: "an object"})
    return names.get(type(value), f"a {type(value).__name__}")


def ident(value: Any, where: str) -> str | None:
    if isinstance(value, str) and _ID.fullmatch(value):
        return None
    if isinstance(value, str):
        return f"{where} is not a Slack id"
    return f"{where} is {_describe(value)}, not a Slack id"


def text(limit: int | None = None, *, empty: bool = True) -> Check:
    def check(value: Any, where: str) -> str | None:
        if not isinstance(value, str):
            return f"{where} is {_describe(value)}, not text"
        if "\x00" in value:
            return f"{where} contains a NUL character"
        if limit is not None and len(value) > limit:
            return f"{where} is longer than {limit} characters"
        if not empty and not value:
            return f"{where} is empty"
        return None

    return check


def one_of(*allowed: str) -> Check:
    def check(value: Any, where: str) -> str | None:
        if value in allowed:
            return None
        shown = repr(value[:40]) if isinstance(value, str) else _describe(value)
        return f"{where} is {shown}, not one of {', '.join(allowed)}"

    return check


def boolean(value: Any, where: str) -> str | None:
    if isinstance(value, bool) or value in ("true", "false"):
        return None
    return f"{where} is {_describe(value)}, not true or false"


def integer(value: Any, where: str) -> str | None:
    if type(value) is int:
        return None
    return f"{where} is {_describe(value)}, not a whole number"


def url(value: Any, where: str) -> str | None:
    problem = text(2000, empty=False)(value, where)
    if problem is None and not value.startswith(("https://", "http://")):
        return f"{where} is not a URL"
    return problem


def optional(check: Check) -> Check:
    """Absent or null is fine; anything else must pass `check`."""

    def wrapped(value: Any, where: str) -> str | None:
        return None if value is None or value is MISSING else check(value, where)

    return wrapped


def absent_or(check: Check) -> Check:
    """Absent is fine; present (null too) must pass `check`."""

    def wrapped(value: Any, where: str) -> str | None:
        return None if value is MISSING else check(value, where)

    return wrapped


def obj(**fields: Check) -> Check:
    """A JSON object whose listed fields pass their checks (other fields are not looked at)."""

    def check(value: Any, where: str) -> str | None:
        if not isinstance(value, Mapping):
            return f"{where} is {_describe(value)}, not an object"
        for key, field_check in fields.items():
            problem = field_check(value.get(key, MISSING), f"{where}.{key}")
            if problem:
                return problem
        return None

    return check


def list_of(item: Check, *, min_items: int = 0, max_items: int = 1000) -> Check:
    def check(value: Any, where: str) -> str | None:
        if not isinstance(value, list):
            return f"{where} is {_describe(value)}, not a list"
        if not min_items <= len(value) <= max_items:
            return f"{where} has {len(value)} items"
        for index, element in enumerate(value):
            problem = item(element, f"{where}[{index}]")
            if problem:
                return problem
        return None

    return check


def map_of(item: Check) -> Check:
    """An object used as a dictionary: any keys (as text), every value passing `item`."""

    def check(value: Any, where: str) -> str | None:
        if not isinstance(value, Mapping):
            return f"{where} is {_describe(value)}, not an object"
        for key, element in value.items():
            problem = text(NAME_MAX)(key, f"{where} key") or item(element, f"{where}.{key}")
            if problem:
                return problem
        return None

    return check


def either(*checks: Check) -> Check:
    def check(value: Any, where: str) -> str | None:
        problems = [c(value, where) for c in checks]
        return None if None in problems else problems[0]

    return check


# --- the shapes ------------------------------------------------------------------------

_option = obj(value=text(2000))
_input_value = obj(
    type=text(NAME_MAX, empty=False),
    value=optional(text()),
    selected_option=optional(_option),
    selected_options=optional(list_of(_option)),
    selected_users=optional(list_of(ident)),
    selected_conversation=optional(ident),
    selected_channel=optional(ident),
    selected_user=optional(ident),
    selected_date=optional(text(NAME_MAX)),
)
_state = obj(values=map_of(map_of(_input_value)))
_view = obj(
    id=ident,
    type=optional(text(NAME_MAX)),
    callback_id=optional(text(NAME_MAX)),
    private_metadata=optional(text(3000)),
    team_id=optional(ident),
    app_installed_team_id=optional(ident),
    external_id=optional(text(NAME_MAX)),
    hash=optional(text(NAME_MAX)),
    state=optional(_state),
    blocks=optional(list_of(obj(), max_items=100)),
    notify_on_close=optional(boolean),
)
_action = obj(
    action_id=text(NAME_MAX, empty=False),
    block_id=optional(text(NAME_MAX)),
    type=text(NAME_MAX, empty=False),
    value=optional(text(2000)),
    selected_option=optional(_option),
    selected_date=optional(text(NAME_MAX)),
    selected_user=optional(ident),
    selected_conversation=optional(ident),
    action_ts=optional(text(NAME_MAX)),
)
_team = obj(id=ident, domain=optional(text(NAME_MAX)), enterprise_id=optional(ident))
_user = obj(
    id=ident,
    team_id=optional(ident),
    username=optional(text(NAME_MAX)),
    name=optional(text(NAME_MAX)),
)
_authorization = obj(
    enterprise_id=optional(ident),
    team_id=optional(ident),
    user_id=optional(ident),
    is_bot=optional(boolean),
    is_enterprise_install=optional(boolean),
)
_interaction_common = dict(
    team=optional(_team),  # null for org-wide installs; then user.team_id says
    user=_user,
    enterprise=optional(either(ident, obj(id=optional(ident)))),
    api_app_id=optional(ident),
    trigger_id=optional(text(NAME_MAX)),
    is_enterprise_install=optional(boolean),
    channel=optional(obj(id=ident, name=optional(text(NAME_MAX)))),
    container=absent_or(obj(type=text(NAME_MAX, empty=False))),
    message=optional(obj(ts=optional(text(NAME_MAX)), text=optional(text()))),
    view=optional(_view),
    state=optional(_state),
    response_url=optional(url),
)
INTERACTIONS: dict[str, Check] = {
    "block_actions": obj(
        **_interaction_common, actions=list_of(_action, min_items=1, max_items=50)
    ),
    "view_submission": obj(
        **{**_interaction_common, "view": _view},
        response_urls=optional(list_of(obj(response_url=url, channel_id=optional(ident)))),
    ),
    "view_closed": obj(**{**_interaction_common, "view": _view}, is_cleared=optional(boolean)),
    # Not used by the bot today; Bolt answers 404 for them, which needs these fields sane.
    "shortcut": obj(**_interaction_common, callback_id=text(NAME_MAX)),
    "message_action": obj(**_interaction_common, callback_id=text(NAME_MAX)),
    "block_suggestion": obj(**_interaction_common, action_id=text(NAME_MAX)),
}

EVENTS: dict[str, Check] = {
    "app_home_opened": obj(
        user=ident, channel=optional(ident), tab=optional(text(NAME_MAX)), view=optional(_view)
    ),
    "app_uninstalled": obj(),
    "tokens_revoked": obj(tokens=obj(oauth=optional(list_of(ident)), bot=optional(list_of(ident)))),
}
_event_common = obj(
    type=text(NAME_MAX, empty=False),
    user=optional(either(ident, obj(id=optional(ident)))),
    channel=optional(either(ident, obj(id=optional(ident)))),
    team=optional(either(ident, obj(id=optional(ident)))),
    user_team=optional(ident),
    event_ts=optional(text(NAME_MAX)),
    thread_ts=optional(text(NAME_MAX)),
)
_event_envelope = obj(
    team_id=ident,
    enterprise_id=optional(ident),
    api_app_id=optional(ident),
    event_id=text(64, empty=False),
    event_time=optional(either(integer, text(NAME_MAX))),
    authorizations=optional(list_of(_authorization, max_items=100)),
    is_ext_shared_channel=optional(boolean),
    event=_event_common,
)
COMMAND = obj(
    command=text(NAME_MAX, empty=False),
    text=text(),
    team_id=ident,
    user_id=ident,
    channel_id=ident,
    enterprise_id=optional(ident),
    response_url=url,
    trigger_id=text(NAME_MAX),
    user_name=optional(text(NAME_MAX)),
    channel_name=optional(text(NAME_MAX)),
    team_domain=optional(text(NAME_MAX)),
    api_app_id=optional(ident),
)


@dataclass
class Parsed:
    """A request body as Bolt will see it, and which kind of Slack request it is."""

    kind: str  # "command", "interaction" or "event"
    body: Any


def parse(raw: str, content_type: str | None) -> Parsed:
    """Parse like Bolt does; ValueError for a body that claims a format it does not have.

    A form body counts as an interaction only when it has a `payload` field (Bolt only looks
    for the substring, see web._fix_form_body).
    """
    if not raw:
        return Parsed("command", {})
    if content_type == "application/json" or raw.startswith("{"):
        return Parsed("event", json.loads(raw))
    fields = dict(parse_qsl(raw, keep_blank_values=True))
    if "payload" in fields:
        return Parsed("interaction", json.loads(fields["payload"]))
    return Parsed("command", fields)


def problem(parsed: Parsed) -> str | None:
    """What is wrong with the request's shape, in a few words; None when Bolt may have it."""
    body = parsed.body
    if not isinstance(body, dict):
        return f"the {parsed.kind} body is {_describe(body)}, not an object"
    if parsed.kind == "command":
        if not body or "ssl_check" in body:  # Bolt answers these itself
            return None
        return COMMAND(body, "command")
    kind = body.get("type", MISSING)
    if parsed.kind == "interaction":
        check = INTERACTIONS.get(kind) if isinstance(kind, str) else None
        if check is None:
            return one_of(*INTERACTIONS)(kind, "payload.type")
        return check(body, kind)
    if kind == "url_verification":
        return obj(challenge=text(NAME_MAX))(body, kind)
    if kind == "app_rate_limited":
        return None
    if kind != "event_callback":
        return one_of("event_callback", "url_verification", "app_rate_limited")(kind, "type")
    found = _event_envelope(body, "event_callback")
    if found:
        return found
    event = body["event"]
    check = EVENTS.get(event["type"])
    return check(event, f"event {event['type']}") if check else None
