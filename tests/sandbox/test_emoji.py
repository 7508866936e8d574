"""Every emoji the bot writes renders in the sandbox as a real character, as Slack shows it."""

from __future__ import annotations

import re
from pathlib import Path

import emoji as emoji_data

from bot.sandbox.blockkit import mrkdwn
from bot.sandbox.emoji import emoji

ROOT = Path(__file__).resolve().parents[2]
# Where the bot's words live: the templates, and the Python that writes message text.
SOURCES = [
    *sorted((ROOT / "messages").glob("*.j2")),
    *sorted((ROOT / "messages").glob("*.py")),
    *sorted((ROOT / "handlers").glob("*.py")),
    *sorted((ROOT / "bot" / "services").glob("*.py")),
]
SHORTCODE = re.compile(r"(?<![\w:/]):([a-z][a-z0-9_+-]*):(?![\w])")


def shortcodes() -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for path in SOURCES:
        for name in SHORTCODE.findall(path.read_text(encoding="utf-8")):
            found.setdefault(name, []).append(str(path.relative_to(ROOT)))
    return found


def test_the_sources_are_read_and_the_partly_icon_is_among_them():
    found = shortcodes()
    assert len(SOURCES) > 20
    # The icons of the level card, history and nudges, and some of the rest.
    for name in ("large_orange_diamond", "white_check_mark", "x", "grey_question", "trophy"):
        assert name in found, name


def test_every_emoji_the_bot_uses_renders_as_a_character():
    unknown = []
    for name, where in sorted(shortcodes().items()):
        char = emoji(name)
        html = mrkdwn(f":{name}:")
        if (
            char is None
            or f":{name}:" not in html  # the title keeps the name; the text is the character
            or char not in html
            or not emoji_data.is_emoji(char)  # a real emoji character, not text
        ):
            unknown.append(f":{name}: in {', '.join(sorted(set(where)))}")
    assert not unknown, "emoji the sandbox cannot show:\n" + "\n".join(unknown)


def test_slack_aliases_and_names_the_package_lacks_render():
    for name, char in [
        ("+1", "👍"),
        ("thumbsup", "👍"),
        ("large_orange_diamond", "🔶"),
        ("small_red_triangle_down", "🔻"),
        ("large_green_circle", "🟢"),
        ("100", "💯"),
    ]:
        assert emoji(name) == char, name
    assert emoji("no_such_emoji_here") is None
    assert mrkdwn(":no_such_emoji_here:") == ":no_such_emoji_here:"
