"""The workspace the stand-in plays: its people, channels, messages, views and tokens.

Everything here is state and the rules for changing it that do not depend on which Web API
method asked (who may post where, what a bot message looks like, how a view is stored).
Tests and the sandbox configure it directly (``add_user``, ``add_channel``,
``add_message``); the Web API methods in ``methods`` read and change it. One re-entrant lock
guards it all, and a condition on that lock wakes whoever waits for a change.
"""

from __future__ import annotations

import copy
import itertools
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.config import DEFAULT_SCOPES
from bot.sandbox.lifecycle import wait_on

DEFAULT_TOKEN = "xoxb-test-token"
TEAM_ID = "T0TEST"
TEAM_NAME = "Test Team"
TEAM_DOMAIN = "test"
BOT_USER_ID = "UBOT"
BOT_ID = "BBOT"
APP_ID = "A0TEST"

ApiResult = dict[str, Any]


class ApiError(Exception):
    """Raised by a method handler to answer ``{"ok": false, "error": ...}``.

    ``messages`` become ``response_metadata.messages``, where Slack explains
    ``invalid_blocks`` and ``invalid_arguments`` (``[ERROR] ... [json-pointer:...]``).
    """

    def __init__(self, error: str, messages: list[str] | None = None) -> None:
        super().__init__(error)
        self.error = error
        self.messages = messages or []

    def answer(self) -> ApiResult:
        """The ``ok: false`` body Slack sends for this error."""
        result: ApiResult = {"ok": False, "error": self.error}
        if self.messages:
            result["errors"] = [m.removeprefix("[ERROR] ") for m in self.messages]
            result["response_metadata"] = {"messages": list(self.messages)}
        return result


def truthy(value: Any) -> bool:
    """Slack booleans arrive as JSON booleans or as "true"/"1" strings in forms."""
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1", "yes")
    return bool(value)


def ts_key(ts: Any) -> Decimal:
    """A message ts as a number, so that "10.0" sorts after "9.5"."""
    try:
        return Decimal(str(ts))
    except InvalidOperation:
        return Decimal(0)


def _tz_fields(tz: str) -> tuple[int, str]:
    """Offset in seconds and a label for an IANA zone, as Slack's users.info reports them."""
    try:
        now = datetime.now(ZoneInfo(tz))
    except (ZoneInfoNotFoundError, ValueError):
        return 0, tz
    offset = now.utcoffset()
    return int(offset.total_seconds()) if offset else 0, now.tzname() or tz


class WorkspaceState:
    """One workspace's state, as Slack would hold it for the bot's token."""

    def __init__(
        self,
        *,
        valid_tokens: Iterable[str] | None = None,
        team_id: str = TEAM_ID,
        team: str = TEAM_NAME,
        team_domain: str = TEAM_DOMAIN,
        bot_user_id: str = BOT_USER_ID,
        bot_id: str = BOT_ID,
        app_id: str = APP_ID,
        default_is_member: bool = False,
        real_timestamps: bool = False,
        clock: Callable[[], float] | None = None,
        scopes: Iterable[str] | None = None,
    ) -> None:
        self.valid_tokens: set[str] = (
            set(valid_tokens) if valid_tokens is not None else {DEFAULT_TOKEN}
        )
        self.token_identities: dict[str, dict[str, str]] = {}
        self.revoked_tokens: set[str] = set()
        self.team_id = team_id
        self.team = team
        self.team_domain = team_domain
        self.bot_user_id = bot_user_id
        self.bot_id = bot_id
        self.app_id = app_id
        # Like Slack, the bot is in no channel it was not added to or did not join;
        # DMs with the bot are the exception.
        self.default_is_member = default_is_member
        # The bot token's scopes; by default those of the app's manifest.
        self.scopes: set[str] = set(DEFAULT_SCOPES if scopes is None else scopes)
        self.token_scopes: dict[str, set[str]] = {}
        # Tests want predictable message ts values; the sandbox wants the time of day.
        self.real_timestamps = real_timestamps or clock is not None
        self._clock = clock or time.time
        self._offset = 0.0
        self._last_ts = 0.0

        self.users: dict[str, dict[str, Any]] = {}
        self.channels: dict[str, dict[str, Any]] = {}
        self.messages: defaultdict[str, list[dict[str, Any]]] = defaultdict(list)
        self.ephemeral: defaultdict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
        self.home_views: dict[str, dict[str, Any]] = {}
        self.views: dict[str, dict[str, Any]] = {}
        self.files: dict[str, dict[str, Any]] = {}
        # user id -> the stack of modal view ids open for that user (the sandbox shows the top)
        self.modal_stacks: dict[str, list[str]] = {}

        self._lock = threading.RLock()
        self._changed = threading.Condition(self._lock)
        self._version = 0
        self._ids = itertools.count(1)
        self._ts_counter = itertools.count(1)

    # ------------------------------------------------------------------ time

    def now(self) -> float:
        """The stand-in's "now" (epoch seconds): its clock plus what ``advance`` added.

        Everything in the stand-in that expires or refills (response URLs, trigger ids,
        rate limits) reads this, so a test can move time instead of waiting.
        """
        with self._lock:
            return self._clock() + self._offset

    def advance(self, seconds: float) -> None:
        """Move the stand-in's clock forward by ``seconds`` (never backwards)."""
        if seconds < 0:
            raise ValueError("the stand-in's clock only moves forward")
        with self._lock:
            self._offset += seconds

    # ------------------------------------------------------------------ change notification

    @property
    def lock(self) -> threading.RLock:
        """Hold this to read several parts of the state as one consistent picture."""
        return self._lock

    @property
    def version(self) -> int:
        """A counter that grows with every change, so a page can poll for "anything new?"."""
        with self._lock:
            return self._version

    def touch(self) -> None:
        """Note a change made outside a Web API call (the sandbox's own edits) and wake waiters."""
        with self._lock:
            self._version += 1
            self._changed.notify_all()

    def wait_for_change(self, since: int, timeout: float) -> int:
        """Block while ``version`` still equals ``since`` (at most ``timeout``); return it.

        A ``since`` from before a restart (higher than ``version``) returns at once.
        """
        wait_on(self._changed, lambda: self._version != since, timeout, poll=0.5)
        return self._version

    # ------------------------------------------------------------------ configuration

    def add_user(
        self,
        user_id: str,
        *,
        tz: str = "Europe/Berlin",
        is_admin: bool = False,
        is_owner: bool = False,
        deleted: bool = False,
        name: str | None = None,
        real_name: str | None = None,
        display_name: str | None = None,
        email: str | None = None,
        team_id: str | None = None,
        is_bot: bool = False,
        tz_label: str | None = None,
    ) -> dict[str, Any]:
        """Register a user for users.info / users.lookupByEmail and return its record.

        ``tz_offset`` is computed from the IANA zone for today; ``tz_label`` defaults to the
        zone's abbreviation (Slack shows a long name such as "Central European Time").
        """
        offset, label = _tz_fields(tz)
        name = name or user_id.lower()
        real_name = real_name or name.replace(".", " ").title()
        user = {
            "id": user_id,
            "team_id": team_id or self.team_id,
            "name": name,
            "real_name": real_name,
            "deleted": deleted,
            "tz": tz,
            "tz_label": tz_label or label,
            "tz_offset": offset,
            "is_admin": is_admin,
            "is_owner": is_owner,
            "is_primary_owner": False,
            "is_restricted": False,
            "is_ultra_restricted": False,
            "is_bot": is_bot,
            "is_app_user": False,
            "updated": int(time.time()),
            "profile": {
                "display_name": display_name if display_name is not None else name,
                "real_name": real_name,
                "email": email,
                "team": team_id or self.team_id,
            },
        }
        with self._lock:
            self.users[user_id] = user
        return user

    def add_channel(
        self,
        channel_id: str,
        *,
        name: str | None = None,
        is_member: bool = True,
        is_archived: bool = False,
        is_private: bool = False,
        is_mpim: bool = False,
    ) -> dict[str, Any]:
        """Declare a channel; the Web API honours ``is_member`` and ``is_archived`` like Slack.

        A public channel the bot is not in takes its posts (``chat:write.public``) but not
        history reads or ephemerals; a private channel or group DM (``is_mpim``) it is not
        in does not exist for it at all (``channel_not_found``) until ``invite``.
        """
        is_private = is_private or is_mpim
        with self._lock:
            channel = self._channel_record(channel_id)
            channel.update(
                is_member=is_member,
                is_archived=is_archived,
                is_private=is_private,
                is_channel=not is_private and channel_id.startswith("C"),
                is_group=is_private and not is_mpim,
                is_mpim=is_mpim,
            )
            if name or "name" in channel:
                channel["name"] = name or channel["name"]
            self.channels[channel_id] = channel
        return channel

    def invite(self, channel_id: str) -> None:
        """A person adds the bot to a channel (``/invite @bot``): it becomes a member."""
        with self._lock:
            record = self._channel_record(channel_id)
            record["is_member"] = True
            self.channels[channel_id] = record
            self.touch()

    def add_message(
        self,
        channel: str,
        text: str = "",
        *,
        user: str = "U1",
        ts: str | None = None,
        **extra: Any,
    ) -> dict[str, Any]:
        """Seed a message (e.g. from a human) into a channel's history."""
        with self._lock:
            message = {"type": "message", "text": text, "user": user, "ts": ts or self._next_ts()}
            message.update(extra)
            self.messages[channel].append(message)
            self.touch()
        return message

    def add_token(
        self,
        token: str,
        *,
        team_id: str | None = None,
        team: str | None = None,
        user_id: str | None = None,
        bot_id: str | None = None,
        scopes: Iterable[str] | None = None,
    ) -> None:
        """Accept another token, optionally with its own auth.test identity (other workspace)
        and its own scopes (by default the stand-in's ``scopes``)."""
        identity = {
            key: value
            for key, value in {
                "team_id": team_id,
                "team": team,
                "user_id": user_id,
                "bot_id": bot_id,
            }.items()
            if value is not None
        }
        with self._lock:
            self.valid_tokens.add(token)
            self.revoked_tokens.discard(token)
            self.token_identities[token] = identity
            if scopes is not None:
                self.token_scopes[token] = set(scopes)

    def revoke(self, token: str) -> None:
        """Make a token answer ``token_revoked`` (as after an uninstall)."""
        with self._lock:
            self.valid_tokens.discard(token)
            self.revoked_tokens.add(token)

    def add_ephemeral(self, channel: str, user: str, text: str, **extra: Any) -> dict[str, Any]:
        """Show ``user`` a message only they can see, as Slack itself does for errors."""
        with self._lock:
            message = {
                "type": "message",
                "text": text,
                "user": extra.pop("author", "USLACKBOT"),
                "channel": channel,
                "ts": self._next_ts(),
                **extra,
            }
            self.ephemeral[(channel, user)].append(message)
            self.touch()
        return message

    def top_view(self, user: str) -> dict[str, Any] | None:
        """The modal ``user`` sees now (the top of their stack), or None."""
        with self._lock:
            stack = self.modal_stacks.get(user) or []
            return copy.deepcopy(self.views.get(stack[-1])) if stack else None

    def close_view(self, user: str, *, clear: bool = False) -> None:
        """Close ``user``'s top modal (all of them with ``clear``), as Slack does on submit."""
        with self._lock:
            stack = self.modal_stacks.get(user) or []
            if clear:
                stack.clear()
            elif stack:
                stack.pop()
            self.touch()

    def answer_view(self, user: str, view: dict[str, Any], *, push: bool) -> dict[str, Any]:
        """Apply a ``response_action`` of ``update`` (replace the top modal) or ``push``."""
        with self._lock:
            stack = self.modal_stacks.setdefault(user, [])
            if push or not stack:
                stored = self._store_view(
                    view,
                    root_view_id=stack[0] if stack else None,
                    previous_view_id=stack[-1] if stack else None,
                )
                stack.append(stored["id"])
            else:
                current = self.views[stack[-1]]
                stored = self._store_view(
                    view,
                    view_id=current["id"],
                    root_view_id=current.get("root_view_id"),
                    previous_view_id=current.get("previous_view_id"),
                )
            self.touch()
            return copy.deepcopy(stored)

    @staticmethod
    def dm_channel_id(user_id: str) -> str:
        """The stable DM channel id conversations.open returns for a user."""
        return f"D{user_id}"

    def clear_posted(self) -> None:
        """Forget posted messages, views and files; users, channels and tokens stay."""
        with self._lock:
            self.messages.clear()
            self.ephemeral.clear()
            self.home_views.clear()
            self.views.clear()
            self.files.clear()
            self.modal_stacks.clear()

    # ------------------------------------------------------------------ rules and records

    def _next_ts(self) -> str:
        if self.real_timestamps:
            self._last_ts = max(self.now(), self._last_ts + 0.000001)
            return f"{self._last_ts:.6f}"
        micros = 1_700_000_000_000_000 + next(self._ts_counter) * 100
        return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"

    def _resolve_channel(self, channel: str) -> str:
        """Slack accepts a user id as chat.postMessage's channel and posts to the DM."""
        if channel[:1] in ("U", "W"):
            return self.dm_channel_id(channel)
        return channel

    def _channel_record(self, channel_id: str) -> dict[str, Any]:
        existing = self.channels.get(channel_id)
        if existing is not None:
            return existing
        is_im = channel_id.startswith("D")
        is_private = channel_id.startswith("G")
        record: dict[str, Any] = {
            "id": channel_id,
            "name": channel_id.lower(),
            "is_channel": channel_id.startswith("C"),
            "is_group": is_private,
            "is_im": is_im,
            "is_mpim": False,
            "is_private": is_private or is_im,
            "is_archived": False,
            "is_general": False,
            "is_member": self.default_is_member,
            "created": 1_600_000_000,
            "creator": "U0CREATOR",
            "context_team_id": self.team_id,
        }
        if is_im:
            record["user"] = channel_id[1:]
            record["is_member"] = True
            del record["name"]
        return record

    def _find_message(self, channel: str, ts: str) -> dict[str, Any] | None:
        for message in self.messages.get(channel, []):
            if message.get("ts") == ts:
                return message
        return None

    def _new_bot_message(
        self, args: dict[str, Any], thread_ts: str | None = None
    ) -> dict[str, Any]:
        message: dict[str, Any] = {
            "type": "message",
            "text": args.get("text") or "",
            "user": self.bot_user_id,
            "bot_id": self.bot_id,
            "app_id": self.app_id,
            "team": self.team_id,
            "ts": self._next_ts(),
        }
        for key in ("blocks", "attachments", "metadata"):
            if args.get(key) is not None:
                message[key] = copy.deepcopy(args[key])
        if thread_ts:
            message["thread_ts"] = thread_ts
            if truthy(args.get("reply_broadcast")):
                message["reply_broadcast"] = True
        return message

    def _new_ephemeral(self, channel: str, user: str | None, args: dict[str, Any]) -> dict:
        message: dict[str, Any] = {
            "type": "message",
            "text": args.get("text") or "",
            "user": user,
            "channel": channel,
            "bot_id": self.bot_id,
            "ts": self._next_ts(),
        }
        for key in ("blocks", "attachments", "thread_ts"):
            if args.get(key) is not None:
                message[key] = copy.deepcopy(args[key])
        self.ephemeral[(channel, user or "")].append(message)
        return message

    def _check_postable(self, channel: str, *, public_without_joining: bool = False) -> None:
        """Refuse a post where Slack would: archived, or not a member.

        ``public_without_joining`` is chat.postMessage with ``chat:write.public``: a public
        channel takes the post although the bot never joined it.
        """
        record = self._channel_record(channel)
        if record.get("is_archived"):
            raise ApiError("is_archived")
        if public_without_joining and not record.get("is_private"):
            return
        self._check_member(channel)

    def _check_member(self, channel: str) -> None:
        """Refuse what needs membership (history, ephemerals) where the bot is not in.

        Public channels answer ``not_in_channel``; private channels, group DMs and DMs
        between other people ``channel_not_found``, as they are invisible to non-members.
        """
        record = self._channel_record(channel)
        if not record.get("is_member"):
            raise ApiError("channel_not_found" if record.get("is_private") else "not_in_channel")

    @staticmethod
    def _public_message(message: dict[str, Any], with_metadata: bool = True) -> dict[str, Any]:
        shown = copy.deepcopy(message)
        if not with_metadata:
            shown.pop("metadata", None)
        return shown

    def _store_view(
        self,
        view: Any,
        *,
        view_id: str | None = None,
        root_view_id: str | None = None,
        previous_view_id: str | None = None,
    ) -> dict[str, Any]:
        if not isinstance(view, dict):
            raise ApiError("invalid_arguments")
        vid = view_id or f"V{next(self._ids):09d}"
        stored: dict[str, Any] = {
            "type": "modal",
            "blocks": [],
            "private_metadata": "",
            "callback_id": "",
            "external_id": "",
            "clear_on_close": False,
            "notify_on_close": False,
            "title": None,
            "close": None,
            "submit": None,
        }
        stored.update(copy.deepcopy(view))
        stored.update(
            id=vid,
            team_id=self.team_id,
            state={"values": {}},
            hash=f"{int(time.time())}.{next(self._ids):08d}",
            root_view_id=root_view_id or vid,
            previous_view_id=previous_view_id,
            app_id=self.app_id,
            app_installed_team_id=self.team_id,
            bot_id=self.bot_id,
        )
        self.views[vid] = stored
        return stored
