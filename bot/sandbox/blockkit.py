"""Block Kit to HTML for the sandbox page, close enough to Slack that what you see is what
Slack would show.

Rendered on the server in Python, not in the page's JavaScript, so the rules (mrkdwn, mentions,
escaping) are unit-tested like the rest of the code and the page stays a thin shell. Every
piece of text the bot sends goes through `html.escape` after Slack's own entities (`&amp;`,
`&lt;`, `&gt;`) are decoded, so a team named `<script>alert(1)</script>` shows as those
characters and never as markup; links are only made for http(s) and mailto URLs.

Interactive elements carry their Slack identity in `data-action` (a click becomes a
`block_actions` payload) or `data-input` (collected into `view.state.values` on submit) as
JSON, which the page reads back without interpreting it.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from bot.sandbox.emoji import emoji

__all__ = [
    "Directory",
    "mrkdwn",
    "plain_text",
    "render_blocks",
    "render_message",
    "render_view",
    "text_object",
]


@dataclass(frozen=True)
class Directory:
    """Names for the ids that appear in messages (`<@U1>`, `<#C1>`) and in user/channel pickers."""

    users: Mapping[str, str] = field(default_factory=dict)
    channels: Mapping[str, str] = field(default_factory=dict)
    bot_name: str = "MLOps maturity bot"
    # Who a user picker offers (people, not bots); None offers everyone in `users`.
    people: Mapping[str, str] | None = None

    @property
    def pickable_users(self) -> Mapping[str, str]:
        return self.users if self.people is None else self.people

    def user(self, user_id: str) -> str:
        return self.users.get(user_id, user_id)

    def channel(self, channel_id: str) -> str:
        return self.channels.get(channel_id, channel_id)


def _esc(text: Any) -> str:
    return html.escape(str(text), quote=True)


def _unslack(text: str) -> str:
    """Decode the three entities Slack asks senders to escape (in this order, so `&amp;lt;`
    stays a literal `&lt;`)."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _attr_json(data: Mapping[str, Any]) -> str:
    return _esc(json.dumps(data, ensure_ascii=False, separators=(",", ":")))


# ---------------------------------------------------------------------------- text

_EMOJI_RE = re.compile(r":([a-z][a-z0-9_+\-]*|\+1|-1|100):", re.IGNORECASE)
_CODE_BLOCK_RE = re.compile(r"```\n?(.*?)```", re.DOTALL)
_CODE_RE = re.compile(r"`([^`\n]+)`")
_ANGLE_RE = re.compile(r"<([^<>\n]+)>")
_BOLD_RE = re.compile(r"(?<![\w*])\*(?=\S)([^*\n]+?)(?<=\S)\*(?![\w*])")
_ITALIC_RE = re.compile(r"(?<![\w_])_(?=\S)([^_\n]+?)(?<=\S)_(?![\w_])")
_STRIKE_RE = re.compile(r"(?<![\w~])~(?=\S)([^~\n]+?)(?<=\S)~(?![\w~])")
_SAFE_URL_RE = re.compile(r"^(https?://|mailto:)[^\s\"'<>]+$", re.IGNORECASE)
_HOLE = "\x00{}\x01"
_HOLE_RE = re.compile("\x00(\\d+)\x01")


def _emojify(escaped: str) -> str:
    def swap(match: re.Match[str]) -> str:
        char = emoji(match.group(1))
        if char is None:
            return match.group(0)
        return f'<span class="bk-emoji" title=":{_esc(match.group(1))}:">{char}</span>'

    return _EMOJI_RE.sub(swap, escaped)


def plain_text(text: Any, *, emoji_shortcodes: bool = True) -> str:
    """A plain_text object's text as HTML: no formatting, only emoji when asked for."""
    escaped = _esc(_unslack(str(text or "")))
    return _emojify(escaped) if emoji_shortcodes else escaped


def _angle(token: str, directory: Directory) -> str:
    """One `<...>` control sequence: a mention, a special mention or a link."""
    target, _, label = token.partition("|")
    if target.startswith("@"):
        name = directory.users.get(target[1:]) or label or target[1:]
        return f'<span class="bk-mention">@{_esc(_unslack(name))}</span>'
    if target.startswith("#"):
        name = directory.channels.get(target[1:]) or label or target[1:]
        return f'<span class="bk-mention">#{_esc(_unslack(name))}</span>'
    if target.startswith("!"):
        word = target[1:].split("^", 1)[0]
        if word in ("here", "channel", "everyone"):
            return f'<span class="bk-mention">@{word}</span>'
        if word == "date":
            return _esc(_unslack(label or target))
        return f'<span class="bk-mention">{_esc(_unslack(label or "@" + word))}</span>'
    url = _unslack(target)
    if _SAFE_URL_RE.match(url):
        shown = _esc(_unslack(label)) if label else _esc(url)
        return (
            f'<a class="bk-link" href="{_esc(url)}" target="_blank" '
            f'rel="noopener noreferrer">{shown}</a>'
        )
    return _esc("<" + _unslack(token) + ">")


def mrkdwn(text: Any, directory: Directory | None = None) -> str:
    """Slack's mrkdwn as HTML: *bold*, _italic_, ~strike~, `code`, ```blocks```, > quotes,
    links `<url|text>`, mentions `<@U1>`/`<#C1|name>`, emoji shortcodes and line breaks."""
    directory = directory or Directory()
    holes: list[str] = []

    def hole(rendered: str) -> str:
        holes.append(rendered)
        return _HOLE.format(len(holes) - 1)

    source = str(text or "").replace("\x00", "").replace("\x01", "")
    source = _CODE_BLOCK_RE.sub(
        lambda m: hole(f'<pre class="bk-pre">{_esc(_unslack(m.group(1)))}</pre>'), source
    )
    source = _CODE_RE.sub(
        lambda m: hole(f'<code class="bk-code">{_esc(_unslack(m.group(1)))}</code>'), source
    )
    source = _ANGLE_RE.sub(lambda m: hole(_angle(m.group(1), directory)), source)

    escaped = _esc(_unslack(source))
    escaped = _BOLD_RE.sub(r"<b>\1</b>", escaped)
    escaped = _ITALIC_RE.sub(r"<i>\1</i>", escaped)
    escaped = _STRIKE_RE.sub(r"<s>\1</s>", escaped)
    escaped = _emojify(escaped)

    lines: list[str] = []
    quote: list[str] = []
    for line in escaped.split("\n"):
        if line.startswith("&gt;"):
            quote.append(line[4:].removeprefix(" "))
            continue
        if quote:
            lines.append('<blockquote class="bk-quote">' + "<br>".join(quote) + "</blockquote>")
            quote = []
        lines.append(line)
    if quote:
        lines.append('<blockquote class="bk-quote">' + "<br>".join(quote) + "</blockquote>")
    joined = "<br>".join(lines).replace("</blockquote><br>", "</blockquote>")
    return _HOLE_RE.sub(lambda m: holes[int(m.group(1))], joined)


def text_object(obj: Any, directory: Directory | None = None) -> str:
    """A text object (`{"type": "mrkdwn"|"plain_text", "text": ...}`) or a bare string."""
    if obj is None:
        return ""
    if isinstance(obj, str):
        return plain_text(obj)
    if obj.get("type") == "mrkdwn":
        if obj.get("verbatim"):
            return _emojify(_esc(_unslack(str(obj.get("text") or "")))).replace("\n", "<br>")
        return mrkdwn(obj.get("text"), directory)
    return plain_text(obj.get("text"), emoji_shortcodes=obj.get("emoji", True) is not False)


def _plain(obj: Any) -> str:
    """The raw string of a plain_text object, for option labels the page sends back."""
    if isinstance(obj, Mapping):
        return str(obj.get("text") or "")
    return str(obj or "")


# ---------------------------------------------------------------------------- elements


@dataclass
class _Ctx:
    directory: Directory
    block_id: str
    in_input: bool = False


def _identity(element: Mapping[str, Any], ctx: _Ctx) -> dict[str, Any]:
    return {
        "type": element.get("type"),
        "action_id": element.get("action_id") or "",
        "block_id": ctx.block_id,
    }


def _button(element: Mapping[str, Any], ctx: _Ctx) -> str:
    style = element.get("style")
    classes = "bk-button" + (f" bk-{style}" if style in ("primary", "danger") else "")
    data = _identity(element, ctx)
    if element.get("value") is not None:
        data["value"] = element["value"]
    if element.get("url"):
        data["url"] = element["url"]
    confirm = element.get("confirm")
    if confirm:
        data["confirm"] = _plain(confirm.get("text")) or _plain(confirm.get("title"))
    label = plain_text(_plain(element.get("text")))
    return (
        f'<button type="button" class="{classes}" data-action="{_attr_json(data)}">{label}</button>'
    )


def _options(element: Mapping[str, Any]) -> list[tuple[str | None, list[Mapping[str, Any]]]]:
    groups = element.get("option_groups")
    if groups:
        return [(_plain(g.get("label")), list(g.get("options") or [])) for g in groups]
    return [(None, list(element.get("options") or []))]


def _option_tags(element: Mapping[str, Any], selected: Iterable[str]) -> str:
    chosen = set(selected)
    parts = []
    for label, options in _options(element):
        tags = "".join(
            f'<option value="{_esc(o.get("value", ""))}" data-text="{_esc(_plain(o.get("text")))}"'
            f"{' selected' if o.get('value') in chosen else ''}>"
            f"{_esc(_unslack(_plain(o.get('text'))))}</option>"
            for o in options
        )
        parts.append(f'<optgroup label="{_esc(label)}">{tags}</optgroup>' if label else tags)
    return "".join(parts)


def _directory_options(
    entries: Mapping[str, str], selected: Iterable[str], prefix: str = ""
) -> str:
    chosen = set(selected)
    return "".join(
        f'<option value="{_esc(key)}" data-text="{_esc(name)}"'
        f"{' selected' if key in chosen else ''}>{_esc(prefix + name)}</option>"
        for key, name in sorted(entries.items(), key=lambda item: item[1].lower())
    )


def _select(element: Mapping[str, Any], ctx: _Ctx) -> str:
    kind = str(element.get("type"))
    multi = kind.startswith("multi_")
    base = kind.removeprefix("multi_")
    data = _identity(element, ctx)
    placeholder = _plain(element.get("placeholder")) or "Select an item"
    if base == "static_select":
        initial = (
            [o.get("value") for o in element.get("initial_options") or []]
            if multi
            else [(element.get("initial_option") or {}).get("value")]
        )
        options = _option_tags(element, [v for v in initial if v is not None])
    elif base == "users_select":
        initial = element.get("initial_users") if multi else [element.get("initial_user")]
        options = _directory_options(ctx.directory.pickable_users, [u for u in initial or [] if u])
    elif base in ("conversations_select", "channels_select"):
        key = "initial_conversation" if base == "conversations_select" else "initial_channel"
        initial = element.get(key + "s") if multi else [element.get(key)]
        options = _directory_options(
            ctx.directory.channels, [c for c in initial or [] if c], prefix="#"
        )
    else:
        return _unsupported(kind)
    attr = "data-input" if ctx.in_input else "data-action"
    chosen = "" if " selected>" in options else " selected"
    empty = "" if multi else f'<option value="" disabled{chosen}>{_esc(placeholder)}</option>'
    size = ' size="4"' if multi else ""
    return (
        f'<select class="bk-select"{" multiple" if multi else ""}{size} '
        f'{attr}="{_attr_json(data)}" aria-label="{_esc(placeholder)}">{empty}{options}</select>'
    )


def _overflow(element: Mapping[str, Any], ctx: _Ctx) -> str:
    items = []
    for option in element.get("options") or []:
        data = _identity(element, ctx)
        data["selected_option"] = {
            "text": {"type": "plain_text", "text": _plain(option.get("text"))},
            "value": option.get("value", ""),
        }
        items.append(
            f'<button type="button" class="bk-menu-item" data-action="{_attr_json(data)}">'
            f"{plain_text(_plain(option.get('text')))}</button>"
        )
    return (
        '<details class="bk-overflow"><summary aria-label="More actions">⋯</summary>'
        f'<div class="bk-menu">{"".join(items)}</div></details>'
    )


def _text_input(element: Mapping[str, Any], ctx: _Ctx) -> str:
    kind = element.get("type")
    data = _identity(element, ctx)
    placeholder = _esc(_plain(element.get("placeholder")))
    initial = element.get("initial_value")
    if kind == "plain_text_input" and element.get("multiline"):
        return (
            f'<textarea class="bk-input" rows="4" placeholder="{placeholder}" '
            f'data-input="{_attr_json(data)}">{_esc(initial or "")}</textarea>'
        )
    html_type = {
        "number_input": "number",
        "email_text_input": "email",
        "url_text_input": "url",
        "datepicker": "date",
        "timepicker": "time",
    }.get(str(kind), "text")
    if kind == "datepicker":
        initial = element.get("initial_date")
    if kind == "timepicker":
        initial = element.get("initial_time")
    limit = element.get("max_length")
    maxlength = f' maxlength="{int(limit)}"' if isinstance(limit, int) else ""
    value = f' value="{_esc(initial)}"' if initial is not None else ""
    # Outside an input block (a date picker in a message) a change is an action at once.
    attr = "data-input" if ctx.in_input else "data-action"
    field = (
        f'<input class="bk-input bk-{html_type}" type="{html_type}" placeholder="{placeholder}"'
        f'{value}{maxlength} {attr}="{_attr_json(data)}" aria-label="{placeholder or kind}">'
    )
    if ctx.in_input or not placeholder or html_type == "text":
        return field
    # A browser's date box cannot show a placeholder; Slack's does, so show it beside it.
    return f'<label class="bk-picker"><span>{placeholder}</span>{field}</label>'


def _choices(element: Mapping[str, Any], ctx: _Ctx) -> str:
    kind = element.get("type")
    html_type = "checkbox" if kind == "checkboxes" else "radio"
    data = _identity(element, ctx)
    initial = (
        {o.get("value") for o in element.get("initial_options") or []}
        if kind == "checkboxes"
        else {(element.get("initial_option") or {}).get("value")}
    )
    name = _esc(f"{ctx.block_id}/{element.get('action_id')}")
    rows = []
    for option in element.get("options") or []:
        value = option.get("value", "")
        description = option.get("description")
        rows.append(
            f'<label class="bk-choice"><input type="{html_type}" name="{name}" '
            f'value="{_esc(value)}" data-text="{_esc(_plain(option.get("text")))}"'
            f"{' checked' if value in initial else ''}> "
            f"<span>{text_object(option.get('text'), ctx.directory)}"
            + (
                f'<span class="bk-choice-hint">{text_object(description, ctx.directory)}</span>'
                if description
                else ""
            )
            + "</span></label>"
        )
    attr = "data-input" if ctx.in_input else "data-action"
    return f'<div class="bk-choices" {attr}="{_attr_json(data)}">{"".join(rows)}</div>'


def _file_url(file_id: str) -> str:
    """Where the sandbox serves an uploaded file (Slack would host it on files.slack.com)."""
    return "/sandbox/files/" + quote(file_id, safe="")


def _image(element: Mapping[str, Any], css: str) -> str:
    url = str(element.get("image_url") or "")
    slack_file = element.get("slack_file")
    if isinstance(slack_file, Mapping) and slack_file.get("id"):
        url = _file_url(str(slack_file["id"]))
    alt = _esc(element.get("alt_text") or "")
    if not _SAFE_URL_RE.match(url) and not url.startswith(("data:image/", "/sandbox/files/")):
        return f'<span class="{css} bk-image-missing" title="{alt}">{alt}</span>'
    return f'<img class="{css}" src="{_esc(url)}" alt="{alt}" title="{alt}" loading="lazy">'


def _unsupported(kind: str) -> str:
    return f'<span class="bk-unsupported">[{_esc(kind)} is not shown in the sandbox]</span>'


def _element(element: Mapping[str, Any], ctx: _Ctx) -> str:
    kind = str(element.get("type"))
    if kind == "button":
        return _button(element, ctx)
    if kind.endswith("_select"):
        return _select(element, ctx)
    if kind == "overflow":
        return _overflow(element, ctx)
    if kind == "image":
        return _image(element, "bk-accessory-image")
    if kind in (
        "plain_text_input",
        "number_input",
        "email_text_input",
        "url_text_input",
        "datepicker",
        "timepicker",
    ):
        return _text_input(element, ctx)
    if kind in ("checkboxes", "radio_buttons"):
        return _choices(element, ctx)
    return _unsupported(kind)


# ---------------------------------------------------------------------------- rich text


def _rich_inline(element: Mapping[str, Any], directory: Directory) -> str:
    kind = element.get("type")
    style = element.get("style") or {}
    if kind == "text":
        out = _esc(element.get("text") or "").replace("\n", "<br>")
    elif kind == "link":
        url = str(element.get("url") or "")
        shown = _esc(element.get("text") or url)
        out = (
            f'<a class="bk-link" href="{_esc(url)}" target="_blank" rel="noopener noreferrer">'
            f"{shown}</a>"
            if _SAFE_URL_RE.match(url)
            else shown
        )
    elif kind == "emoji":
        name = str(element.get("name") or "")
        out = emoji(name) or _esc(f":{name}:")
    elif kind == "user":
        out = (
            f'<span class="bk-mention">@{_esc(directory.user(str(element.get("user_id"))))}</span>'
        )
    elif kind == "channel":
        channel = directory.channel(str(element.get("channel_id")))
        out = f'<span class="bk-mention">#{_esc(channel)}</span>'
    elif kind == "broadcast":
        out = f'<span class="bk-mention">@{_esc(element.get("range") or "here")}</span>'
    else:
        out = _unsupported(str(kind))
    if style.get("code"):
        out = f'<code class="bk-code">{out}</code>'
    if style.get("bold"):
        out = f"<b>{out}</b>"
    if style.get("italic"):
        out = f"<i>{out}</i>"
    if style.get("strike"):
        out = f"<s>{out}</s>"
    return out


def _rich_part(part: Mapping[str, Any], directory: Directory) -> str:
    kind = part.get("type")
    inner = "".join(_rich_inline(e, directory) for e in part.get("elements") or [])
    if kind == "rich_text_section":
        return f'<div class="bk-rich-section">{inner}</div>'
    if kind == "rich_text_quote":
        return f'<blockquote class="bk-quote">{inner}</blockquote>'
    if kind == "rich_text_preformatted":
        return f'<pre class="bk-pre">{inner}</pre>'
    if kind == "rich_text_list":
        tag = "ol" if part.get("style") == "ordered" else "ul"
        items = "".join(
            f"<li>{''.join(_rich_inline(e, directory) for e in item.get('elements') or [])}</li>"
            for item in part.get("elements") or []
        )
        indent = int(part.get("indent") or 0)
        return f'<{tag} class="bk-list" style="margin-left:{indent * 1.5}em">{items}</{tag}>'
    return _unsupported(str(kind))


# ---------------------------------------------------------------------------- blocks


def _section(block: Mapping[str, Any], ctx: _Ctx) -> str:
    body = ""
    if block.get("text"):
        body += f'<div class="bk-text">{text_object(block["text"], ctx.directory)}</div>'
    if block.get("fields"):
        cells = "".join(
            f'<div class="bk-field">{text_object(f, ctx.directory)}</div>' for f in block["fields"]
        )
        body += f'<div class="bk-fields">{cells}</div>'
    accessory = block.get("accessory")
    side = f'<div class="bk-accessory">{_element(accessory, ctx)}</div>' if accessory else ""
    return f'<div class="bk-section"><div class="bk-section-body">{body}</div>{side}</div>'


def _context(block: Mapping[str, Any], ctx: _Ctx) -> str:
    parts = []
    for element in block.get("elements") or []:
        if element.get("type") == "image":
            parts.append(_image(element, "bk-context-image"))
        else:
            parts.append(f"<span>{text_object(element, ctx.directory)}</span>")
    return f'<div class="bk-context">{"".join(parts)}</div>'


def _input(block: Mapping[str, Any], ctx: _Ctx) -> str:
    label = plain_text(_plain(block.get("label")))
    optional = ' <span class="bk-optional">(optional)</span>' if block.get("optional") else ""
    hint = block.get("hint")
    hint_html = f'<div class="bk-hint">{text_object(hint, ctx.directory)}</div>' if hint else ""
    element = _element(block.get("element") or {}, _Ctx(ctx.directory, ctx.block_id, True))
    return (
        f'<div class="bk-input-block"><label class="bk-label">{label}{optional}</label>'
        f'{element}{hint_html}<div class="bk-error" hidden></div></div>'
    )


def _image_block(block: Mapping[str, Any], ctx: _Ctx) -> str:
    title = block.get("title")
    caption = f'<div class="bk-image-title">{text_object(title, ctx.directory)}</div>'
    return (caption if title else "") + _image(block, "bk-image")


_BLOCKS: dict[str, Callable[[Mapping[str, Any], _Ctx], str]] = {
    "section": _section,
    "context": _context,
    "input": _input,
    "image": _image_block,
    "header": lambda b, c: f'<div class="bk-header">{plain_text(_plain(b.get("text")))}</div>',
    "divider": lambda b, c: '<hr class="bk-divider">',
    "actions": lambda b, c: (
        ('<div class="bk-actions">' + "".join(_element(e, c) for e in b.get("elements") or []))
        + "</div>"
    ),
    "rich_text": lambda b, c: (
        '<div class="bk-rich">'
        + "".join(_rich_part(p, c.directory) for p in b.get("elements") or [])
        + "</div>"
    ),
}


def render_blocks(blocks: Iterable[Mapping[str, Any]], directory: Directory | None = None) -> str:
    """A list of blocks as HTML, one `div.bk-block` each, carrying its block_id."""
    directory = directory or Directory()
    out = []
    for index, block in enumerate(blocks or []):
        if not isinstance(block, Mapping):
            continue
        kind = str(block.get("type"))
        # Slack gives blocks without an id a generated one; a stable one per position will do.
        block_id = str(block.get("block_id") or f"b{index}")
        render = _BLOCKS.get(kind)
        inner = render(block, _Ctx(directory, block_id)) if render else _unsupported(kind)
        out.append(
            f'<div class="bk-block bk-{_esc(kind)}-block" data-block-id="{_esc(block_id)}">'
            f"{inner}</div>"
        )
    return "".join(out)


def _time(ts: str) -> str:
    try:
        return datetime.fromtimestamp(float(ts), UTC).strftime("%a %H:%M")
    except (TypeError, ValueError, OverflowError):
        return ""


IMAGE_TYPES = ("png", "jpg", "gif")
"""What Slack shows inline as a picture (and what the sandbox serves as one)."""


def _file_card(shared: Mapping[str, Any]) -> str:
    """A shared file, as a card with a link the sandbox serves (Slack would host the file);
    an image is shown inline, with its title and alt text, as Slack shows it."""
    file_id = str(shared.get("id") or "")
    name = str(shared.get("name") or "file")
    title = str(shared.get("title") or name)
    size = shared.get("length")
    detail = f"{name} · {size} bytes" if isinstance(size, int) else name
    href = _file_url(file_id)
    if shared.get("filetype") in IMAGE_TYPES:
        alt = _esc(shared.get("alt_txt") or title)
        return (
            f'<figure class="msg-image"><figcaption>{_esc(title)}</figcaption>'
            f'<a href="{_esc(href)}" target="_blank" rel="noopener">'
            f'<img src="{_esc(href)}" alt="{alt}" title="{alt}" loading="lazy"></a></figure>'
        )
    return (
        f'<div class="msg-file"><span class="msg-file-icon">📄</span><div>'
        f'<a class="bk-link" href="{_esc(href)}" download="{_esc(name)}">{_esc(title)}</a>'
        f'<div class="msg-file-detail">{_esc(detail)}</div></div></div>'
    )


def render_message(
    message: Mapping[str, Any],
    directory: Directory | None = None,
    *,
    ephemeral: bool = False,
) -> str:
    """One chat message: author, time, body (blocks, else text as mrkdwn), attachments."""
    directory = directory or Directory()
    from_bot = bool(message.get("bot_id")) or message.get("user") == "UBOT"
    author = directory.bot_name if from_bot else directory.user(str(message.get("user") or ""))
    badge = '<span class="msg-badge">APP</span>' if from_bot else ""
    blocks = message.get("blocks")
    body = (
        render_blocks(blocks, directory)
        if blocks
        else f'<div class="bk-text">{mrkdwn(message.get("text"), directory)}</div>'
    )
    for attachment in message.get("attachments") or []:
        color = str(attachment.get("color") or "#dddddd")
        if not re.fullmatch(r"#?[0-9a-fA-F]{3,8}|good|warning|danger", color):
            color = "#dddddd"
        color = {"good": "#2eb67d", "warning": "#ecb22e", "danger": "#e01e5a"}.get(color, color)
        inner = (
            render_blocks(attachment["blocks"], directory)
            if attachment.get("blocks")
            else mrkdwn(attachment.get("text") or attachment.get("fallback"), directory)
        )
        if color[0] != "#":
            color = "#" + color
        body += f'<div class="msg-attachment" style="border-color:{_esc(color)}">{inner}</div>'
    for shared in message.get("files") or []:
        body += _file_card(shared)
    note = '<div class="msg-ephemeral-note">👁 Only visible to you</div>' if ephemeral else ""
    edited = ' <span class="msg-edited">(edited)</span>' if message.get("edited") else ""
    avatar = "🤖" if from_bot else _esc((author or "?")[:1].upper())
    classes = "msg" + (" msg-ephemeral" if ephemeral else "") + (" msg-bot" if from_bot else "")
    ts = str(message.get("ts") or "")
    return (
        f'<div class="{classes}" data-ts="{_esc(ts)}" data-ephemeral="{str(ephemeral).lower()}">'
        f'<div class="msg-avatar">{avatar}</div><div class="msg-main">{note}'
        f'<div class="msg-head"><span class="msg-author">{_esc(author)}</span>{badge}'
        f'<span class="msg-time">{_time(ts)}</span>{edited}</div>'
        f'<div class="msg-body">{body}</div></div></div>'
    )


def render_view(view: Mapping[str, Any], directory: Directory | None = None) -> dict[str, str]:
    """A modal or Home view: its id, title, submit and close labels, and blocks, as HTML."""
    directory = directory or Directory()
    has_input = any(b.get("type") == "input" for b in view.get("blocks") or [])
    submit = view.get("submit")
    return {
        "id": str(view.get("id") or ""),
        "type": str(view.get("type") or "modal"),
        "title": plain_text(_plain(view.get("title"))),
        "submit": plain_text(_plain(submit)) if submit or has_input else "",
        "close": plain_text(_plain(view.get("close")) or ("Cancel" if submit else "Close")),
        "blocks": render_blocks(view.get("blocks") or [], directory),
    }
