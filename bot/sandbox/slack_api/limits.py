"""Block Kit's limits, checked the way Slack checks them, with Slack's error names.

Slack refuses a message whose blocks break a limit with ``invalid_blocks`` (a malformed
``blocks`` argument with ``invalid_blocks_format``, text over 40,000 characters with
``msg_too_long``) and a view with ``invalid_arguments``; the details come back in
``response_metadata.messages`` as ``[ERROR] ... [json-pointer:/blocks/0/text/text]``. The
stand-in runs every message and view the bot sends through here, so no test can forget to
validate, and the template tests call the same functions for their worst cases.

Lengths count the text as sent, after escaping (``&`` is already ``&amp;`` by then). The
numbers are Slack's published ones (Block Kit reference, "Limits" of each block, element and
composition object); slack_sdk's own classes miss several of them (blocks per message,
modal labels), which is why this is not ``Block.parse_all``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

MESSAGE_BLOCKS = 50
VIEW_BLOCKS = 100
MESSAGE_TEXT = 40_000
ATTACHMENTS = 100

SECTION_TEXT = 3_000
SECTION_FIELDS = 10
SECTION_FIELD_TEXT = 2_000
HEADER_TEXT = 150
BUTTON_TEXT = 75
BUTTON_VALUE = 2_000
URL = 3_000
ID = 255  # action_id, block_id, callback_id, external_id
PRIVATE_METADATA = 3_000
ACTIONS_ELEMENTS = 25
CONTEXT_ELEMENTS = 10
VIEW_LABEL = 24  # modal title, submit and close
SELECT_OPTIONS = 100
OPTION_TEXT = 75
OPTION_VALUE = 150
OPTION_DESCRIPTION = 75
PLACEHOLDER = 150
INPUT_LABEL = 2_000
INPUT_HINT = 2_000
TEXT_INPUT_MAX = 3_000
RADIO_OPTIONS = 10
CHECKBOX_OPTIONS = 10
OVERFLOW_OPTIONS = 5
CONFIRM_TITLE, CONFIRM_TEXT, CONFIRM_BUTTON = 100, 300, 30
IMAGE_ALT = 2_000

TEXT_TYPES = ("plain_text", "mrkdwn")
SELECT_TYPES = (
    "static_select",
    "multi_static_select",
    "external_select",
    "multi_external_select",
    "users_select",
    "multi_users_select",
    "conversations_select",
    "multi_conversations_select",
    "channels_select",
    "multi_channels_select",
)
PICKER_TYPES = ("datepicker", "timepicker", "datetimepicker")
KNOWN_BLOCKS = (
    "section",
    "header",
    "divider",
    "context",
    "actions",
    "input",
    "image",
    "rich_text",
    "video",
    "file",
)


class _Check:
    """Collects problems as Slack words them, each with the JSON pointer of its place."""

    def __init__(self) -> None:
        self.problems: list[str] = []

    def add(self, path: str, what: str) -> None:
        self.problems.append(f"[ERROR] {what} [json-pointer:{path}]")

    def length(self, path: str, value: Any, limit: int) -> None:
        if isinstance(value, str) and len(value) > limit:
            self.add(path, f"must be less than {limit + 1} characters")

    def image_source(self, path: str, image: dict) -> None:
        """An image shows a public URL or an uploaded Slack file: exactly one of the two."""
        if ("image_url" in image) == ("slack_file" in image):
            self.add(path, "must provide either image_url or slack_file")
        self.length(f"{path}/image_url", image.get("image_url"), URL)

    def count(self, path: str, items: Any, limit: int, minimum: int = 0) -> list:
        if not isinstance(items, list):
            self.add(path, "must be an array")
            return []
        if len(items) > limit:
            self.add(path, f"no more than {limit} items allowed")
        if len(items) < minimum:
            self.add(path, f"must provide at least {minimum} items")
        return items

    def obj(self, path: str, value: Any) -> Mapping[str, Any] | None:
        if not isinstance(value, Mapping):
            self.add(path, "must be an object")
            return None
        return value

    # -- composition objects

    def text(
        self, path: str, value: Any, limit: int, *, plain: bool = False, required: bool = True
    ) -> None:
        if value is None and not required:
            return
        text = self.obj(path, value)
        if text is None:
            return
        kinds = ("plain_text",) if plain else TEXT_TYPES
        if text.get("type") not in kinds:
            self.add(f"{path}/type", f"must be one of {', '.join(kinds)}")
        body = text.get("text")
        if not isinstance(body, str) or not body:
            self.add(f"{path}/text", "must be more than 0 characters")
            return
        self.length(f"{path}/text", body, limit)

    def option(self, path: str, value: Any) -> None:
        option = self.obj(path, value)
        if option is None:
            return
        self.text(f"{path}/text", option.get("text"), OPTION_TEXT)
        self.length(f"{path}/value", option.get("value"), OPTION_VALUE)
        self.text(
            f"{path}/description", option.get("description"), OPTION_DESCRIPTION, required=False
        )

    def confirm(self, path: str, value: Any) -> None:
        confirm = self.obj(path, value)
        if confirm is None:
            return
        self.text(f"{path}/title", confirm.get("title"), CONFIRM_TITLE, plain=True)
        self.text(f"{path}/text", confirm.get("text"), CONFIRM_TEXT)
        self.text(f"{path}/confirm", confirm.get("confirm"), CONFIRM_BUTTON, plain=True)
        self.text(f"{path}/deny", confirm.get("deny"), CONFIRM_BUTTON, plain=True)

    # -- elements

    def element(self, path: str, value: Any) -> None:
        element = self.obj(path, value)
        if element is None:
            return
        kind = element.get("type")
        self.length(f"{path}/action_id", element.get("action_id"), ID)
        if "confirm" in element:
            self.confirm(f"{path}/confirm", element["confirm"])
        if "placeholder" in element:
            self.text(f"{path}/placeholder", element["placeholder"], PLACEHOLDER, plain=True)
        if kind == "button":
            self.text(f"{path}/text", element.get("text"), BUTTON_TEXT, plain=True)
            self.length(f"{path}/value", element.get("value"), BUTTON_VALUE)
            self.length(f"{path}/url", element.get("url"), URL)
            if element.get("style") not in (None, "primary", "danger"):
                self.add(f"{path}/style", "must be one of primary, danger")
        elif kind in SELECT_TYPES:
            if "options" in element:
                for i, option in enumerate(
                    self.count(f"{path}/options", element["options"], SELECT_OPTIONS, 1)
                ):
                    self.option(f"{path}/options/{i}", option)
            if "option_groups" in element:
                groups = self.count(f"{path}/option_groups", element["option_groups"], 100, 1)
                for g, group in enumerate(groups):
                    group_path = f"{path}/option_groups/{g}"
                    if (group := self.obj(group_path, group)) is not None:
                        self.text(f"{group_path}/label", group.get("label"), 75, plain=True)
                        for i, option in enumerate(
                            self.count(f"{group_path}/options", group.get("options"), 100, 1)
                        ):
                            self.option(f"{group_path}/options/{i}", option)
            if (
                kind == "static_select"
                and "options" not in element
                and ("option_groups" not in element)
            ):
                self.add(f"{path}/options", "must provide options or option_groups")
        elif kind == "overflow":
            options = self.count(f"{path}/options", element.get("options"), OVERFLOW_OPTIONS, 1)
            for i, option in enumerate(options):
                self.option(f"{path}/options/{i}", option)
        elif kind in ("radio_buttons", "checkboxes"):
            limit = RADIO_OPTIONS if kind == "radio_buttons" else CHECKBOX_OPTIONS
            for i, option in enumerate(
                self.count(f"{path}/options", element.get("options"), limit, 1)
            ):
                self.option(f"{path}/options/{i}", option)
        elif kind == "plain_text_input":
            max_length = element.get("max_length")
            if max_length is not None and not (
                isinstance(max_length, int) and 1 <= max_length <= TEXT_INPUT_MAX
            ):
                self.add(f"{path}/max_length", f"must be between 1 and {TEXT_INPUT_MAX}")
            initial = element.get("initial_value")
            if (
                isinstance(initial, str)
                and isinstance(max_length, int)
                and (len(initial) > max_length)
            ):
                self.add(f"{path}/initial_value", f"must be less than {max_length + 1} characters")
        elif kind == "image":
            self.image_source(path, element)
            self.length(f"{path}/alt_text", element.get("alt_text"), IMAGE_ALT)
        elif kind in TEXT_TYPES:
            self.text(path, element, SECTION_TEXT)
        elif kind in PICKER_TYPES or kind in (
            "email_text_input",
            "url_text_input",
            "number_input",
            "rich_text_input",
            "file_input",
            "workflow_button",
        ):
            pass
        else:
            self.add(f"{path}/type", f"unknown element type {kind!r}")

    # -- blocks

    def block(self, path: str, value: Any, *, in_view: bool) -> None:
        block = self.obj(path, value)
        if block is None:
            return
        kind = block.get("type")
        self.length(f"{path}/block_id", block.get("block_id"), ID)
        if kind == "section":
            if "text" not in block and "fields" not in block:
                self.add(path, "must provide text or fields")
            if "text" in block:
                self.text(f"{path}/text", block["text"], SECTION_TEXT)
            if "fields" in block:
                fields = self.count(f"{path}/fields", block["fields"], SECTION_FIELDS, 1)
                for i, item in enumerate(fields):
                    self.text(f"{path}/fields/{i}", item, SECTION_FIELD_TEXT)
            if "accessory" in block:
                self.element(f"{path}/accessory", block["accessory"])
        elif kind == "header":
            self.text(f"{path}/text", block.get("text"), HEADER_TEXT, plain=True)
        elif kind == "context":
            elements = self.count(f"{path}/elements", block.get("elements"), CONTEXT_ELEMENTS, 1)
            for i, element in enumerate(elements):
                self.element(f"{path}/elements/{i}", element)
        elif kind == "actions":
            elements = self.count(f"{path}/elements", block.get("elements"), ACTIONS_ELEMENTS, 1)
            for i, element in enumerate(elements):
                self.element(f"{path}/elements/{i}", element)
        elif kind == "input":
            self.text(f"{path}/label", block.get("label"), INPUT_LABEL, plain=True)
            self.text(f"{path}/hint", block.get("hint"), INPUT_HINT, plain=True, required=False)
            self.element(f"{path}/element", block.get("element"))
            if not in_view and not block.get("dispatch_action"):
                self.add(path, "input blocks in messages need dispatch_action")
        elif kind == "image":
            self.image_source(path, block)
            if not block.get("alt_text"):
                self.add(f"{path}/alt_text", "missing required field: alt_text")
            self.length(f"{path}/alt_text", block.get("alt_text"), IMAGE_ALT)
            self.text(f"{path}/title", block.get("title"), IMAGE_ALT, plain=True, required=False)
        elif kind not in KNOWN_BLOCKS:
            self.add(f"{path}/type", f"unknown block type {kind!r}")

    def blocks(self, path: str, value: Any, limit: int, *, in_view: bool) -> None:
        for i, block in enumerate(self.count(path, value, limit)):
            self.block(f"{path}/{i}", block, in_view=in_view)


def message_error(args: Mapping[str, Any]) -> tuple[str, list[str]] | None:
    """Why Slack would refuse this message (chat.* or a response URL), or None.

    Returns Slack's error name and the ``response_metadata.messages`` that explain it.
    """
    text = args.get("text")
    if isinstance(text, str) and len(text) > MESSAGE_TEXT:
        return "msg_too_long", [f"[ERROR] must be less than {MESSAGE_TEXT + 1} characters"]
    attachments = args.get("attachments")
    if isinstance(attachments, list) and len(attachments) > ATTACHMENTS:
        return "too_many_attachments", []
    blocks = args.get("blocks")
    if blocks is None:
        return None
    if not isinstance(blocks, list) or not all(isinstance(b, Mapping) for b in blocks):
        return "invalid_blocks_format", ["[ERROR] must be an array of objects"]
    check = _Check()
    check.blocks("/blocks", blocks, MESSAGE_BLOCKS, in_view=False)
    return ("invalid_blocks", check.problems) if check.problems else None


def view_problems(view: Any) -> list[str]:
    """What Slack would say is wrong with a modal or Home tab view (empty when nothing)."""
    check = _Check()
    if (root := check.obj("/view", view)) is None:
        return check.problems
    kind = root.get("type")
    if kind not in ("modal", "home"):
        check.add("/view/type", "must be one of modal, home")
    check.blocks("/view/blocks", root.get("blocks"), VIEW_BLOCKS, in_view=True)
    check.length("/view/private_metadata", root.get("private_metadata"), PRIVATE_METADATA)
    check.length("/view/callback_id", root.get("callback_id"), ID)
    check.length("/view/external_id", root.get("external_id"), ID)
    if kind == "modal":
        check.text("/view/title", root.get("title"), VIEW_LABEL, plain=True)
        for label in ("submit", "close"):
            check.text(f"/view/{label}", root.get(label), VIEW_LABEL, plain=True, required=False)
        has_input = any(
            isinstance(b, Mapping) and b.get("type") == "input" for b in root.get("blocks") or []
        )
        if has_input and not root.get("submit"):
            check.add("/view/submit", "is required when the view has input blocks")
    return check.problems
