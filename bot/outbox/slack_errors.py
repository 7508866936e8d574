"""How the sender reads Slack's answers: which errors no retry can fix, and Retry-After."""

from __future__ import annotations

from slack_sdk.errors import SlackApiError

PERMANENT_ERRORS = frozenset(
    {
        "channel_not_found",
        "is_archived",
        "account_inactive",
        "cannot_dm_bot",
        "not_in_channel",
        "user_not_found",
        "user_disabled",
        "messages_tab_disabled",
        "invalid_blocks",
        "invalid_metadata_format",
        "msg_too_long",
        "restricted_action",
        "restricted_action_read_only_channel",
        "restricted_action_thread_only_channel",
        "ekm_access_denied",
        "team_access_not_granted",
        "missing_scope",
        "no_permission",
        "invalid_auth",
        "not_authed",
        "token_revoked",
        "token_expired",
    }
)
"""Errors that no retry can fix; anything else is treated as transient and retried."""

UNREPORTABLE = frozenset({"invalid_auth", "not_authed", "token_revoked", "token_expired"})
"""With these the bot cannot reach anyone, an admin included; they are only logged."""

UNCERTAIN_ERRORS = frozenset({"internal_error", "fatal_error", "request_timeout"})
"""Slack may have posted the message before answering with these: check before re-posting."""


def reason(error: SlackApiError) -> str:
    """Slack's error name (`channel_not_found`), or "" when the answer had none."""
    response = error.response
    if response is None:
        return ""
    try:
        return str(response.get("error") or "")
    except Exception:  # a non-JSON body (an HTML 502 page) has no error field
        return ""


def status(error: SlackApiError) -> int:
    """The HTTP status of Slack's answer (0 when there was none)."""
    return error.response.status_code if error.response is not None else 0


def is_rate_limited(error: SlackApiError) -> bool:
    """HTTP 429 (`ratelimited`), or chat.postMessage's own `rate_limited` ("posted too many
    messages") in an HTTP 200 answer: both ask us to wait, neither is a failure."""
    return status(error) == 429 or reason(error) in ("ratelimited", "rate_limited")


def retry_after(error: SlackApiError, default: int = 30) -> int:
    """Seconds Slack asked us to wait (Retry-After), at least 1; `default` without one."""
    headers = getattr(error.response, "headers", None) or {}
    for name, value in headers.items():
        if name.lower() == "retry-after":
            try:
                return max(1, int(float(value if isinstance(value, str) else value[0])))
            except (TypeError, ValueError):
                break
    return default
