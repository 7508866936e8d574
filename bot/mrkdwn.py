"""Slack mrkdwn escaping, shared by templates and by the error texts services write."""


def escape(value: object) -> str:
    """Escape the three characters Slack's mrkdwn treats as control characters."""
    return str(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
