"""Slack mrkdwn escaping, shared by templates and by the error texts services write."""

import re


def escape(value: object) -> str:
    """Escape the three characters Slack's mrkdwn treats as control characters."""
    return str(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


# "(<@U1>, <@U2>)" after a noun that already says who ("the team's owners"): left out.
_MENTION_LIST = re.compile(r"\s*\((?:<@[UW][A-Z0-9]+(?:\|[^<>]*)?>(?:, )?)+\)")
_LINK = re.compile(r"<([^<>|]*)(?:\|([^<>]*))?>")
_CODE = re.compile(r"`([^`]*)`")
_EMPHASIS = re.compile(r"(?<![\w*_~])([*_~])(?=\S)([^*_~\n]+?)(?<=\S)\1(?![\w*_~])")


def plain(text: object) -> str:
    """mrkdwn as plain text, for the places Slack shows text unformatted (a modal's input
    errors): `code` in quotes, no *bold*/_italic_/~strike~ marks, links and mentions as their
    labels, entities decoded. Errors are written once, in mrkdwn, for messages; this makes the
    same words right in a form."""

    def link(match: re.Match) -> str:
        target, label = match.group(1), match.group(2)
        if label:
            return label if target[:1] not in "@#" else target[0] + label.lstrip("@#")
        if target.startswith("@"):
            return "someone" if target[1:2] in ("U", "W") else target
        if target.startswith("#"):
            return "that channel"
        if target.startswith("!"):
            return "@" + target[1:].split("^", 1)[0]
        return target

    out = _LINK.sub(link, _MENTION_LIST.sub("", str(text)))
    out = _CODE.sub(r'"\1"', out)
    out = _EMPHASIS.sub(r"\2", out)
    return out.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
