"""Block Kit from Jinja2 templates: `render(name, **ctx)` is the only way messages are built.

Templates are JSON with every inserted value passed through `|tojson` (and `|mrkdwn` first
where the value lands in mrkdwn text), so a team called `Fraud "ML" <b>` can neither break
the JSON nor inject formatting or mentions. The rendered text is parsed with `json.loads`,
so a template bug fails loudly in tests instead of sending broken blocks to Slack.
"""

from __future__ import annotations

import json
from enum import Enum
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined

TEMPLATE_DIR = Path(__file__).parent

SECTION_TEXT_LIMIT = 3000
BUTTON_TEXT_LIMIT = 75
HEADER_TEXT_LIMIT = 150


def escape_mrkdwn(value: Any) -> str:
    """Escape the three characters Slack's mrkdwn treats as control characters."""
    return str(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def clip(value: Any, limit: int) -> str:
    """Shorten text to `limit` characters with an ellipsis, so a long name cannot overflow."""
    text = str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _tojson(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


@cache
def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATE_DIR),
        undefined=StrictUndefined,
        autoescape=False,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
    )
    env.filters["tojson"] = _tojson
    env.filters["mrkdwn"] = escape_mrkdwn
    env.filters["clip"] = clip
    return env


@cache
def _ids() -> dict[str, type[Enum]]:
    """Every id enum of handlers/ids.py, by class name, for use inside templates."""
    import handlers.ids  # the ids the registrations use too

    return {
        name: value
        for name, value in vars(handlers.ids).items()
        if isinstance(value, type)
        and issubclass(value, Enum)
        and value.__module__ == "handlers.ids"
    }


def render(name: str, **context: Any) -> Any:
    """Render `messages/<name>.json.j2` and return the parsed JSON (a dict or a list)."""
    template = _environment().get_template(f"{name}.json.j2")
    text = template.render(**_ids(), **context)
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:  # a template bug, never user data
        raise ValueError(f"template {name} rendered invalid JSON: {error}") from error
