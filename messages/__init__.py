"""Block Kit from Jinja2 templates: `render(name, **ctx)` is the only way messages are built.

Templates are JSON with every inserted value passed through `|tojson` (and `|mrkdwn` first
where the value lands in mrkdwn text), so a team called `Fraud "ML" <b>` can neither break
the JSON nor inject formatting or mentions. The rendered text is parsed with `json.loads`,
so a template bug fails loudly in tests instead of sending broken blocks to Slack.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from enum import Enum
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, pass_context

from bot.domain import (
    DEFAULT_CHECKLIST,
    PURPOSES,
    a_team_of,
    by_choice,
    in_production,
    level_label,
    purpose_label,
    teams_count,
)
from bot.mrkdwn import escape
from bot.services.privacy import FORGOTTEN

TEMPLATE_DIR = Path(__file__).parent


def clip(value: Any, limit: int) -> str:
    """Shorten text to `limit` characters with an ellipsis, so a long name cannot overflow."""
    text = str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


ANSWER_ICONS = {
    "yes": ":white_check_mark:",
    "partly": ":large_orange_diamond:",
    "no": ":x:",
    "not_sure": ":grey_question:",
    None: ":white_circle:",
}
ANSWER_LABELS = {"yes": "Yes", "partly": "Partly", "no": "No", "not_sure": "Not sure"}


def answer_icon(value: Any) -> str:
    return ANSWER_ICONS.get(str(value) if value is not None else None, ":white_circle:")


def answer_label(value: Any) -> str:
    return ANSWER_LABELS.get(str(value), "Not answered")


def plural(count: Any, noun: str, many: str | None = None) -> str:
    """A count with its noun in the right number: "1 question", "2 questions", "0 days"."""
    return f"{count} {noun if count == 1 else (many or noun + 's')}"


def step_headline(step: Any, left: Any = (), checklist: Any = None) -> str:
    """What a next step is about, in words: its title while none of it is done, else what is
    left of it ("A/B testing is what's left"), so a step never names work already done.
    `checklist` names the capabilities (the default checklist when not given)."""
    left = tuple(left or ())
    if not left or set(left) >= set(step.capability_ids):
        return step.title
    try:
        titles = [(checklist or DEFAULT_CHECKLIST).capability(cid).title for cid in left]
    except KeyError:  # a capability this checklist does not name: the step's title will do
        return step.title
    named = titles[0] if len(titles) == 1 else ", ".join(titles[:-1]) + " and " + titles[-1]
    return f"{named} {'is' if len(titles) == 1 else 'are'} what's left"


EVIDENCE_BADGES = {
    "verified": ":large_green_circle: verified",
    "partial": ":large_yellow_circle: partial",
    "not_found": ":white_circle: not found",
    "contradiction": ":red_circle: contradiction",
    "unknown": ":heavy_minus_sign: unknown",
}


def evidence_badge(state: Any) -> str:
    """An evidence state as a badge: a colour a person scans, and the word that says it."""
    return EVIDENCE_BADGES.get(str(state), EVIDENCE_BADGES["unknown"])


def ago(moment: datetime | None, now: datetime | None = None) -> str:
    """ "5 min ago", "2 h ago", "3 days ago": how old a check is, at a glance."""
    if moment is None:
        return "never"
    seconds = max(0, int(((now or datetime.now(UTC)) - moment).total_seconds()))
    if seconds < 3600:
        return f"{max(1, seconds // 60)} min ago"
    if seconds < 2 * 86400:
        return f"{seconds // 3600} h ago"
    return f"{seconds // 86400} days ago"


def progress_bar(done: int, total: int, width: int = 10) -> str:
    """A text bar such as `▰▰▰▰▱▱▱▱▱▱`, readable on every Slack client."""
    filled = round(width * done / total) if total else width
    return "▰" * filled + "▱" * (width - filled)


def slack_date(moment: datetime | None, fallback: str = "never") -> str:
    """A date Slack shows in the reader's own time zone (`<!date^...>`), with a UTC fallback."""
    if moment is None:
        return fallback
    stamp = int(moment.timestamp())
    return f"<!date^{stamp}^{{date_short_pretty}}|{moment:%Y-%m-%d}>"


_URL = re.compile(r"https?://(?:[^\s|<>&]|&amp;)+")
# A link typed in Slack's own syntax, after escaping: `&lt;https://…|label&gt;` or
# `&lt;https://…&gt;` (people paste these from Slack messages and docs).
_TYPED_LINK = re.compile(r"&lt;(https?://(?:[^\s|<>&]|&amp;)+)(?:\|((?:(?!&gt;)[^|<>\n])*))?&gt;")


def linkify(escaped: str) -> str:
    """Make the http(s) URLs in already-escaped mrkdwn clickable: evidence links in notes.

    Bare URLs become `<url>`, and a link typed in Slack's syntax (`<https://…|label>`, which
    arrives escaped) becomes that link again, as Slack shows it. Only http(s) URLs become
    links (no `<`, `>`, `|` or spaces can be inside one), so a note still cannot produce a
    mention or a `<!channel>`.
    """

    def link(match: re.Match) -> str:
        if match.group(1) is not None:  # typed as <url|label> or <url>
            url, label = match.group(1), match.group(2)
            return f"<{url}|{label.strip()}>" if label and label.strip() else f"<{url}>"
        url = match.group(3)
        kept = url.rstrip(".,;:!?)'\"")
        return f"<{kept}>{url[len(kept) :]}"

    return _LINKS.sub(link, escaped)


_LINKS = re.compile(f"{_TYPED_LINK.pattern}|({_URL.pattern})")


def chunks(items: list, size: int) -> list[list]:
    """Split a list into groups of at most `size` (pages of buttons, rows of a list)."""
    return [items[i : i + size] for i in range(0, len(items), size)] or [[]]


SECTION_TEXT = 3000  # Slack's limit for a section's text, counted as sent (after escaping)

_OPEN_ENTITY = re.compile(r"&[a-z]{0,3}$")


def fit(escaped: Any, limit: int) -> str:
    """Cut text that is already escaped mrkdwn to `limit` characters, with an ellipsis.

    Slack counts characters as sent, so the cut happens after escaping (an 80-character
    name of `&` is 400 characters by then), and never inside an entity (`&amp;`) or a
    `<...>` link or mention, which would show as broken markup.
    """
    text = str(escaped)
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    cut = _OPEN_ENTITY.sub("", cut)
    if cut.rfind("<") > cut.rfind(">"):
        cut = cut[: cut.rfind("<")]
    return cut + "…"


def pack(lines: list[str], limit: int = SECTION_TEXT, first: str = "") -> list[str]:
    """Join escaped lines into as few texts as fit `limit` each (one per section).

    `first` (a heading) starts the first text. A line longer than `limit` alone is cut with
    `fit`, so every text is within the limit whatever the input.
    """
    texts: list[str] = []
    current = first
    for line in lines:
        line = fit(line, limit)
        joined = f"{current}\n{line}" if current else line
        if len(joined) <= limit:
            current = joined
            continue
        texts.append(current)
        current = line
    if current or not texts:
        texts.append(current)
    return texts


def _tojson(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def mention(user_id: str) -> str:
    """A person as Slack shows them: <@U123>; one removed on request (bot.services.privacy)
    is "someone", and anything else that is not a user id is shown as plain text."""
    if re.fullmatch(r"[UW][A-Z0-9]{1,31}", user_id or ""):
        return f"<@{user_id}>"
    if user_id == FORGOTTEN:
        return "someone (removed on request)"
    return escape(user_id or "someone")


@cache
def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATE_DIR),
        undefined=StrictUndefined,
        autoescape=False,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
        auto_reload=False,  # templates ship with the code; no stat() per render
    )
    env.filters["tojson"] = _tojson
    env.filters["mrkdwn"] = escape
    env.filters["clip"] = clip
    env.filters["icon"] = answer_icon
    env.filters["answer_label"] = answer_label
    env.filters["slack_date"] = slack_date
    env.filters["chunks"] = chunks
    env.filters["fit"] = fit
    env.filters["pack"] = pack
    env.filters["linkify"] = linkify
    env.filters["merge"] = lambda base, extra: {**base, **extra}
    env.filters["mention"] = mention
    env.filters["plural"] = plural
    env.filters["badge"] = evidence_badge
    env.filters["ago"] = ago
    env.globals["progress_bar"] = progress_bar
    # in templates, the capabilities are named by the checklist the template is rendered with
    env.globals["step_headline"] = pass_context(
        lambda ctx, step, left=(): step_headline(step, left, ctx.get("checklist"))
    )
    env.globals["level_label"] = level_label
    env.globals["checklist"] = DEFAULT_CHECKLIST
    env.globals["purpose_label"] = purpose_label
    env.globals["teams_count"] = teams_count
    env.globals["by_choice"] = by_choice
    env.globals["a_team_of"] = a_team_of
    env.globals["in_production"] = in_production
    env.globals["PURPOSES"] = PURPOSES
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


def _model_in(context: dict[str, Any]) -> Any:
    """The maturity model a message is about: given as `model`, or the one its state carries."""
    if context.get("model") is not None:
        return context["model"]
    for key in ("state", "question", "data"):
        model = getattr(context.get(key), "model", None)
        if model is not None:
            return model
    return None


def render(name: str, /, **context: Any) -> Any:
    """Render `messages/<name>.json.j2` and return the parsed JSON (a dict or a list).

    Templates name levels and capabilities through `checklist` and `level_label`; they come
    from the workspace's model (`model=`, or a `state`/`question` that carries one), and are
    Google's only when a message names no model.
    """
    template = _environment().get_template(f"{name}.json.j2")
    model = _model_in(context)
    if model is not None:
        context = {"checklist": model, "level_label": model.level_label, **context}
        context["model"] = model
    text = template.render(**_ids(), **context)
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:  # a template bug, never user data
        raise ValueError(f"template {name} rendered invalid JSON: {error}") from error
