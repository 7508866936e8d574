"""Slack's emoji shortcodes, so `:tada:` and `:large_orange_diamond:` look as they do in Slack.

The names come from the `emoji` package (its Unicode data, with the GitHub/Slack aliases such
as `white_check_mark` and `+1`), kept up to date by its maintainers rather than by hand here.
`SLACK_ONLY` adds the few names Slack knows that the package does not. An unknown shortcode
is shown as typed, which is also what Slack does for a custom emoji it lacks.
"""

from __future__ import annotations

from functools import cache

import emoji as emoji_data

# Slack's names for emoji the package knows under other names only.
SLACK_ONLY: dict[str, str] = {
    "medal": "🏅",
    "first_place_medal": "🥇",
    "second_place_medal": "🥈",
    "third_place_medal": "🥉",
    "large_green_circle": "🟢",
    "large_yellow_circle": "🟡",
    "large_orange_circle": "🟠",
    "large_purple_circle": "🟣",
    "large_brown_circle": "🟤",
    "large_green_square": "🟩",
    "large_yellow_square": "🟨",
    "large_orange_square": "🟧",
    "large_red_square": "🟥",
    "large_blue_square": "🟦",
    "large_purple_square": "🟪",
    "simple_smile": "🙂",
}


@cache
def _table() -> dict[str, str]:
    """Shortcode (without colons, lower case) -> character, built once from the package."""
    table: dict[str, str] = {}
    # Fully qualified forms first (status 2), so `:heart:` is "❤️" rather than a bare "❤".
    entries = sorted(emoji_data.EMOJI_DATA.items(), key=lambda item: item[1].get("status", 9))
    for char, data in entries:
        for name in [data.get("en", ""), *data.get("alias", [])]:
            key = name.strip(":").lower()
            if key:
                table.setdefault(key, char)
    for key, char in SLACK_ONLY.items():
        table.setdefault(key, char)
    return table


def emoji(name: str) -> str | None:
    """The character for shortcode `name` (without colons), or None if unknown."""
    return _table().get(name.lower())
