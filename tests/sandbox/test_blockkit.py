"""The sandbox's Block Kit renderer: each block type the bot uses, mrkdwn, and escaping.

Why: the page is only trustworthy if it shows what Slack would show, and only safe if no text
the bot sends (a team name typed by anyone) can become markup. The assertions read the HTML
the way a browser would: what text is visible, which elements exist, what a click sends.
"""

from __future__ import annotations

import html
import json
import re
from html.parser import HTMLParser

import pytest

from bot.sandbox.blockkit import (
    Directory,
    mrkdwn,
    plain_text,
    render_blocks,
    render_message,
    render_view,
)

HOSTILE = "<script>alert(1)</script>"


def escape_mrkdwn(text: str) -> str:
    """What a careful template does to a value before it lands in mrkdwn."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


DIRECTORY = Directory(
    users={"U1": "Ada Lovelace", "U2": "Grace Hopper"}, channels={"C1": "ml-platform"}
)


class _Page(HTMLParser):
    """Collects the tags, visible text and data attributes of a rendered fragment."""

    def __init__(self, fragment: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.text: list[str] = []
        self.attrs: list[dict[str, str | None]] = []
        self.feed(fragment)

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attrs.append(dict(attrs))

    def handle_data(self, data):
        self.text.append(data)

    @property
    def visible(self) -> str:
        return "".join(self.text)

    def data(self, name: str) -> list[dict]:
        return [json.loads(a[name]) for a in self.attrs if a.get(name)]


def section(text: str, **extra) -> dict:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}, **extra}


# ---------------------------------------------------------------------------- escaping


@pytest.mark.parametrize(
    "block",
    [
        section(escape_mrkdwn(HOSTILE)),
        section(HOSTILE),  # even unescaped by a careless template
        {"type": "header", "text": {"type": "plain_text", "text": HOSTILE}},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": escape_mrkdwn(HOSTILE)}]},
        {"type": "section", "fields": [{"type": "plain_text", "text": HOSTILE}]},
        {
            "type": "actions",
            "elements": [
                {"type": "button", "text": {"type": "plain_text", "text": HOSTILE}, "value": "x"}
            ],
        },
        {
            "type": "rich_text",
            "elements": [
                {"type": "rich_text_section", "elements": [{"type": "text", "text": HOSTILE}]}
            ],
        },
    ],
    ids=["mrkdwn", "raw-mrkdwn", "header", "context", "fields", "button", "rich_text"],
)
def test_a_team_named_like_a_script_renders_as_text(block):
    page = _Page(render_blocks([block]))
    assert "script" not in page.tags
    assert HOSTILE in page.visible


def test_links_only_for_web_urls_and_attributes_cannot_be_broken_out_of():
    page = _Page(
        mrkdwn(
            "<javascript:alert(1)|click> <https://x.example/?a=1&amp;b=2|ok> "
            '<https://x.example/" onmouseover="alert(1)|x>'
        )
    )
    hrefs = [a["href"] for a in page.attrs if "href" in a]
    assert hrefs == ["https://x.example/?a=1&b=2"]
    assert "<javascript:alert(1)|click>" in page.visible
    assert not any("onmouseover" in a for a in page.attrs)


def test_entities_are_decoded_once_so_escaped_text_reads_as_typed():
    assert _Page(mrkdwn("Fraud &amp; Risk &lt;ML&gt; &amp;lt;")).visible == "Fraud & Risk <ML> &lt;"
    assert _Page(plain_text("A &amp; B")).visible == "A & B"


def test_button_values_travel_as_data_not_markup():
    value = json.dumps({"a": 1, "c": "x'\"<>"})
    block = {
        "type": "actions",
        "block_id": "answers",
        "elements": [
            {
                "type": "button",
                "action_id": "answer_yes",
                "text": {"type": "plain_text", "text": "Yes"},
                "value": value,
            }
        ],
    }
    (action,) = _Page(render_blocks([block])).data("data-action")
    assert action == {
        "type": "button",
        "action_id": "answer_yes",
        "block_id": "answers",
        "value": value,
    }


# ---------------------------------------------------------------------------- mrkdwn


def test_mrkdwn_formatting():
    out = mrkdwn("*bold* _italic_ ~strike~ `code` snake_case_name 2*3*4")
    assert "<b>bold</b>" in out
    assert "<i>italic</i>" in out
    assert "<s>strike</s>" in out
    assert '<code class="bk-code">code</code>' in out
    assert "snake_case_name" in out and "2*3*4" in out


def test_code_blocks_keep_their_text_unformatted():
    out = mrkdwn("before\n```*not bold* <@U1>\nline two```after")
    page = _Page(out)
    assert "pre" in page.tags
    assert "*not bold* <@U1>\nline two" in page.visible
    assert "<b>" not in out


def test_mentions_links_and_special_mentions():
    out = _Page(
        mrkdwn(
            "<@U1> <@U9|someone> <#C1> <#C7|fraud-ml> <!here> "
            "<https://mlflow.org|MLflow> <!date^1795761223^{date_short}|2026-11-27>",
            DIRECTORY,
        )
    )
    assert out.visible == ("@Ada Lovelace @someone #ml-platform #fraud-ml @here MLflow 2026-11-27")
    assert {"class": "bk-link", "href": "https://mlflow.org"}.items() <= out.attrs[-1].items()


def test_emoji_shortcodes_and_quotes_and_newlines():
    out = mrkdwn(":tada: :white_check_mark: :no_such_emoji: 09:00:30\n&gt; quoted\nafter")
    page = _Page(out)
    assert "🎉" in page.visible and "✅" in page.visible
    assert ":no_such_emoji:" in page.visible and "09:00:30" in page.visible
    assert re.search(r'<blockquote class="bk-quote">quoted</blockquote>after', out)


def test_plain_text_emoji_can_be_switched_off():
    assert "👋" in plain_text(":wave:")
    assert plain_text(":wave:", emoji_shortcodes=False) == ":wave:"


# ---------------------------------------------------------------------------- blocks


def test_header_divider_and_context():
    out = render_blocks(
        [
            {"type": "header", "text": {"type": "plain_text", "text": "Fraud ML :rocket:"}},
            {"type": "divider"},
            {
                "type": "context",
                "elements": [
                    {"type": "mrkdwn", "text": "Last assessed by <@U2>"},
                    {"type": "image", "image_url": "https://x.example/a.png", "alt_text": "logo"},
                ],
            },
        ],
        DIRECTORY,
    )
    page = _Page(out)
    assert "Fraud ML 🚀" in page.visible
    assert "hr" in page.tags
    assert "Last assessed by @Grace Hopper" in page.visible
    assert any(a.get("alt") == "logo" for a in page.attrs)


def test_section_with_fields_and_each_accessory_kind():
    fields = [{"type": "mrkdwn", "text": f"*L{i}*\n{i} teams"} for i in range(3)]
    accessories = [
        {"type": "button", "action_id": "b", "text": {"type": "plain_text", "text": "Go"}},
        {
            "type": "overflow",
            "action_id": "o",
            "options": [
                {"text": {"type": "plain_text", "text": "Snooze 2 weeks"}, "value": "2w"},
            ],
        },
        {
            "type": "static_select",
            "action_id": "s",
            "placeholder": {"type": "plain_text", "text": "Pick a cadence"},
            "options": [
                {"text": {"type": "plain_text", "text": "Weekly"}, "value": "weekly"},
                {"text": {"type": "plain_text", "text": "Monthly"}, "value": "monthly"},
            ],
            "initial_option": {
                "text": {"type": "plain_text", "text": "Monthly"},
                "value": "monthly",
            },
        },
        {"type": "image", "image_url": "https://x.example/i.png", "alt_text": "chart"},
    ]
    blocks = [
        section("text", block_id=f"s{i}", fields=fields, accessory=accessory)
        for i, accessory in enumerate(accessories)
    ]
    out = render_blocks(blocks)
    page = _Page(out)
    assert page.visible.count("L2") == 4 and "2 teams" in page.visible
    actions = page.data("data-action")
    assert actions[0] == {"type": "button", "action_id": "b", "block_id": "s0"}
    assert actions[1]["selected_option"] == {
        "text": {"type": "plain_text", "text": "Snooze 2 weeks"},
        "value": "2w",
    }
    assert actions[2] == {"type": "static_select", "action_id": "s", "block_id": "s2"}
    assert re.search(r'<option value="monthly" data-text="Monthly" selected>', out)
    assert "Pick a cadence" in page.visible
    assert any(a.get("src") == "https://x.example/i.png" for a in page.attrs)


def test_actions_buttons_keep_slack_styles():
    block = {
        "type": "actions",
        "elements": [
            {"type": "button", "text": {"type": "plain_text", "text": t}, "style": s, "value": t}
            for t, s in (("Yes", "primary"), ("Delete", "danger"))
        ]
        + [{"type": "button", "text": {"type": "plain_text", "text": "Back"}}],
    }
    page = _Page(render_blocks([block]))
    classes = [a["class"] for a in page.attrs if a.get("class", "").startswith("bk-button")]
    assert classes == ["bk-button bk-primary", "bk-button bk-danger", "bk-button"]
    assert page.visible == "YesDeleteBack"


def test_input_blocks_carry_what_the_page_collects_into_view_state():
    blocks = [
        {
            "type": "input",
            "block_id": "name",
            "label": {"type": "plain_text", "text": "Team name"},
            "hint": {"type": "plain_text", "text": "Unique in the workspace"},
            "element": {
                "type": "plain_text_input",
                "action_id": "value",
                "initial_value": 'Fraud "ML"',
            },
        },
        {
            "type": "input",
            "block_id": "owners",
            "optional": True,
            "label": {"type": "plain_text", "text": "Owners"},
            "element": {"type": "multi_users_select", "action_id": "u", "initial_users": ["U2"]},
        },
        {
            "type": "input",
            "block_id": "channel",
            "label": {"type": "plain_text", "text": "Home channel"},
            "element": {
                "type": "conversations_select",
                "action_id": "c",
                "initial_conversation": "C1",
            },
        },
        {
            "type": "input",
            "block_id": "answer",
            "label": {"type": "plain_text", "text": "Answer"},
            "element": {
                "type": "radio_buttons",
                "action_id": "r",
                "options": [
                    {"text": {"type": "plain_text", "text": "Yes"}, "value": "yes"},
                    {"text": {"type": "plain_text", "text": "No"}, "value": "no"},
                ],
                "initial_option": {"text": {"type": "plain_text", "text": "No"}, "value": "no"},
            },
        },
        {
            "type": "input",
            "block_id": "note",
            "label": {"type": "plain_text", "text": "Note"},
            "element": {"type": "plain_text_input", "action_id": "n", "multiline": True},
        },
    ]
    out = render_blocks(blocks, DIRECTORY)
    page = _Page(out)
    inputs = page.data("data-input")
    assert [(i["block_id"], i["type"]) for i in inputs] == [
        ("name", "plain_text_input"),
        ("owners", "multi_users_select"),
        ("channel", "conversations_select"),
        ("answer", "radio_buttons"),
        ("note", "plain_text_input"),
    ]
    assert any(a.get("value") == 'Fraud "ML"' for a in page.attrs)
    assert "Team name" in page.visible and "(optional)" in page.visible
    assert "Unique in the workspace" in page.visible
    assert re.search(r'<option value="U2" data-text="Grace Hopper" selected>', out)
    assert re.search(r'<option value="C1" data-text="ml-platform" selected>#ml-platform', out)
    assert re.search(r'value="no" data-text="No" checked', out)
    assert "textarea" in page.tags


def test_rich_text_sections_lists_quotes_and_preformatted():
    block = {
        "type": "rich_text",
        "elements": [
            {
                "type": "rich_text_section",
                "elements": [
                    {"type": "text", "text": "Hi ", "style": {"bold": True}},
                    {"type": "user", "user_id": "U1"},
                    {"type": "emoji", "name": "wave"},
                    {"type": "link", "url": "https://dvc.org", "text": "DVC"},
                ],
            },
            {
                "type": "rich_text_list",
                "style": "ordered",
                "elements": [
                    {"type": "rich_text_section", "elements": [{"type": "text", "text": "one"}]},
                    {"type": "rich_text_section", "elements": [{"type": "text", "text": "two"}]},
                ],
            },
            {"type": "rich_text_quote", "elements": [{"type": "text", "text": "quoted"}]},
            {"type": "rich_text_preformatted", "elements": [{"type": "text", "text": "x = 1"}]},
        ],
    }
    out = render_blocks([block], DIRECTORY)
    page = _Page(out)
    assert "<b>Hi </b>" in out
    assert page.visible == "Hi @Ada Lovelace👋DVConetwoquotedx = 1"
    assert {"ol", "li", "blockquote", "pre", "a"} <= set(page.tags)


def test_image_block_and_unknown_blocks_are_shown_not_dropped():
    out = render_blocks(
        [
            {
                "type": "image",
                "image_url": "https://x.example/p.png",
                "alt_text": "progress",
                "title": {"type": "plain_text", "text": "Progress"},
            },
            {"type": "video", "title": {"type": "plain_text", "text": "x"}},
            {"type": "image", "image_url": "javascript:alert(1)", "alt_text": "bad"},
        ]
    )
    page = _Page(out)
    assert "Progress" in page.visible
    assert "[video is not shown in the sandbox]" in page.visible
    assert [a["src"] for a in page.attrs if "src" in a] == ["https://x.example/p.png"]


def test_messages_mark_ephemeral_ones_and_fall_back_to_text():
    bot = {"type": "message", "text": "*hi* <@U1>", "bot_id": "B1", "ts": "1795761223.000100"}
    out = _Page(render_message(bot, DIRECTORY, ephemeral=True))
    assert "Only visible to you" in out.visible
    assert "MLOps maturity bot" in out.visible and "hi @Ada Lovelace" in out.visible
    person = {"type": "message", "text": "thanks", "user": "U2", "ts": "1795761223.000200"}
    out = _Page(render_message(person, DIRECTORY))
    assert "Only visible to you" not in out.visible
    assert "Grace Hopper" in out.visible


def test_views_render_title_submit_close_and_blocks():
    view = {
        "id": "V1",
        "type": "modal",
        "title": {"type": "plain_text", "text": HOSTILE[:24]},
        "submit": {"type": "plain_text", "text": "Save answer"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [section("*Question*")],
    }
    shown = render_view(view)
    assert shown["id"] == "V1"
    assert shown["title"] == html.escape(HOSTILE[:24], quote=True)
    assert (shown["submit"], shown["close"]) == ("Save answer", "Cancel")
    assert "<b>Question</b>" in shown["blocks"]
    home = render_view({"id": "V2", "type": "home", "blocks": []})
    assert home["submit"] == "" and home["type"] == "home"


def test_user_pickers_offer_people_not_bots():
    directory = Directory(
        users={"U1": "Ada Lovelace", "UBOT": "MLOps maturity bot"}, people={"U1": "Ada Lovelace"}
    )
    block = {
        "type": "input",
        "block_id": "owners",
        "label": {"type": "plain_text", "text": "Owners"},
        "element": {"type": "multi_users_select", "action_id": "u"},
    }
    assert _Page(render_blocks([block], directory)).visible == "OwnersAda Lovelace"


def test_shared_files_show_as_a_card_with_a_download_link():
    message = {
        "type": "message",
        "bot_id": "B1",
        "ts": "1795761223.000100",
        "text": "Your export",
        "files": [{"id": "F1/../x", "name": HOSTILE, "title": "teams.csv", "length": 12}],
    }
    out = render_message(message)
    page = _Page(out)
    assert "Your export" in page.visible and "teams.csv" in page.visible
    assert f"{HOSTILE} · 12 bytes" in page.visible
    assert "script" not in page.tags
    assert any(a.get("href") == "/sandbox/files/F1%2F..%2Fx" for a in page.attrs)


def test_shared_images_and_image_blocks_show_the_uploaded_picture_inline():
    message = {
        "type": "message",
        "bot_id": "B1",
        "ts": "1795761223.000100",
        "text": "Teams per level",
        "files": [
            {
                "id": "F123",
                "name": "maturity-trend.png",
                "title": "Teams per level",
                "filetype": "png",
                "alt_txt": 'This week: 3 at L1 "<b>"',
            }
        ],
    }
    page = _Page(render_message(message))
    (image,) = [a for a in page.attrs if a.get("src")]
    assert image["src"] == "/sandbox/files/F123"
    assert image["alt"] == 'This week: 3 at L1 "<b>"'  # escaped in the HTML, read back as typed
    assert "b" not in page.tags
    view = {
        "type": "home",
        "blocks": [{"type": "image", "slack_file": {"id": "F9"}, "alt_text": "trend"}],
    }
    home = _Page(render_view(view)["blocks"])
    assert [a["src"] for a in home.attrs if a.get("src")] == ["/sandbox/files/F9"]
