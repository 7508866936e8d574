"""The Web API methods, response URLs and trigger ids: what each call does to the workspace.

Each handler takes the call's arguments and token and returns Slack's answer, or raises
``ApiError`` for Slack's ``ok: false``. They run with the stand-in's lock held, so they read
and change the ``WorkspaceState`` they extend without further locking. Shapes follow Slack's
documented responses closely enough for slack_sdk and Bolt.
"""

from __future__ import annotations

import copy
import json
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from bot.sandbox.slack_api.limits import message_error, view_problems
from bot.sandbox.slack_api.state import ApiError, ApiResult, WorkspaceState, truthy, ts_key

_TYPES = {
    "png": "image/png",
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "gif": "image/gif",
    "svg": "image/svg+xml",
    "csv": "text/csv",
    "json": "application/json",
}


def file_type(filename: str) -> dict[str, str]:
    """Slack's ``filetype`` and ``mimetype`` for a file name (by its extension)."""
    extension = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    filetype = "jpg" if extension == "jpeg" else extension or "binary"
    return {"filetype": filetype, "mimetype": _TYPES.get(extension, "application/octet-stream")}


def image_size(content: bytes) -> dict[str, int]:
    """``original_w`` and ``original_h`` of a PNG, as Slack reports them for images."""
    if content[:8] == b"\x89PNG\r\n\x1a\n" and content[12:16] == b"IHDR":
        return {
            "original_w": int.from_bytes(content[16:20], "big"),
            "original_h": int.from_bytes(content[20:24], "big"),
        }
    return {}


# A response URL works this long after Slack issued it (and at most 5 times).
RESPONSE_URL_TTL = 30 * 60

Handler = Callable[[dict[str, Any], str], ApiResult]


class WebApiMethods(WorkspaceState):
    """The workspace plus the Web API methods the bot calls on it."""

    def __init__(
        self,
        *,
        trigger_ttl: float = 3.0,
        response_url_max_uses: int = 5,
        response_url_ttl: float = RESPONSE_URL_TTL,
        **state: Any,
    ):
        super().__init__(**state)
        self.trigger_ttl = trigger_ttl
        self.response_url_max_uses = response_url_max_uses
        self.response_url_ttl = response_url_ttl
        # The most messages one history/replies call returns (strict history limit), or None.
        self.history_page_max: int | None = None
        # Every message or view refused as malformed (not injected faults): a test fixture
        # can fail a test whose bot sent one, even if the test never looked at that call.
        self.refused: list[dict[str, Any]] = []
        self.response_urls: dict[str, dict[str, Any]] = {}
        self._triggers: dict[str, float] = {}
        self._trigger_users: dict[str, str] = {}
        self.handlers: dict[str, Handler] = {
            "auth.test": self._auth_test,
            "chat.postMessage": self._chat_post_message,
            "chat.postEphemeral": self._chat_post_ephemeral,
            "chat.update": self._chat_update,
            "chat.delete": self._chat_delete,
            "chat.getPermalink": self._chat_get_permalink,
            "conversations.open": self._conversations_open,
            "conversations.join": self._conversations_join,
            "conversations.info": self._conversations_info,
            "conversations.history": self._conversations_history,
            "conversations.replies": self._conversations_replies,
            "users.info": self._users_info,
            "users.lookupByEmail": self._users_lookup_by_email,
            "views.open": self._views_open,
            "views.push": self._views_push,
            "views.update": self._views_update,
            "views.publish": self._views_publish,
            "files.getUploadURLExternal": self._files_get_upload_url,
            "files.completeUploadExternal": self._files_complete_upload,
            "files.info": self._files_info,
        }

    @property
    def base_url(self) -> str:
        """Where this stand-in is served; the server layer provides it."""
        raise NotImplementedError

    # ------------------------------------------------------------------ response URLs, triggers

    def response_url(
        self,
        name: str = "x",
        *,
        channel: str | None = None,
        user: str | None = None,
        message_ts: str | None = None,
        ephemeral_ts: str | None = None,
    ) -> str:
        """Issue a response URL on this server.

        With ``channel`` (and ``user``/``message_ts``) the fake applies what the app posts there
        like Slack would: ``replace_original`` edits and ``delete_original`` removes the message
        with ``message_ts``; ``response_type="in_channel"`` posts to the channel; anything else
        becomes an ephemeral message for ``user``. ``ephemeral_ts`` names an ephemeral message
        of ``user`` instead (a click in one): Slack lets the app replace or delete it too.
        """
        with self._lock:
            url_id = f"{name}-{next(self._ids)}"
            self.response_urls[url_id] = {
                "channel": channel,
                "user": user,
                "message_ts": message_ts,
                "ephemeral_ts": ephemeral_ts,
                "uses": 0,
                "created": self.now(),
            }
        return f"{self.base_url}/response/{quote(url_id, safe='')}"

    def new_trigger_id(self, user: str | None = None) -> str:
        """Issue a trigger_id that views.open/views.push reject after ``trigger_ttl`` seconds.

        Trigger ids the fake did not issue are accepted, so hand-written payloads still work.
        With ``user``, a modal opened with it is put on that user's ``modal_stacks``, which is
        how the sandbox knows whose screen a modal belongs on.
        """
        with self._lock:
            trigger_id = f"{int(time.time())}.{next(self._ids)}.faketrigger"
            self._triggers[trigger_id] = self.now()
            if user:
                self._trigger_users[trigger_id] = user
        return trigger_id

    def _answer_response_url(
        self, url_id: str, args: dict[str, Any]
    ) -> tuple[int, str, dict[str, str], Any]:
        """Use up one post to a response URL and apply it; (status, text, headers, effect).

        Like Slack: 404 ``expired_url`` once 30 minutes have passed, 404 ``used_url`` after
        the fifth use, 400 with the error name for a message Slack would refuse.
        """
        info = self.response_urls.get(url_id)
        if info is None or self.now() - info["created"] > self.response_url_ttl:
            return 404, "expired_url", {}, None
        if "_raw" in args:
            return 400, "invalid_payload", {}, None
        if info["uses"] >= self.response_url_max_uses:
            return 404, "used_url", {}, None
        if not truthy(args.get("delete_original")):
            refused = message_error(args)
            if refused is not None:
                self.refused.append(
                    {"method": "response_url", "error": refused[0], "why": refused[1]}
                )
                return 400, refused[0], {}, {"effect": "refused", "messages": refused[1]}
        info["uses"] += 1
        return 200, "ok", {}, self._apply_response(info, args)

    def _apply_response(self, info: dict[str, Any], args: dict[str, Any]) -> dict[str, Any]:
        """Apply a response_url post to the fake's state the way Slack would."""
        channel, user, message_ts = info["channel"], info["user"], info["message_ts"]
        if channel is None:
            return {"effect": "recorded"}
        ephemeral_ts = info.get("ephemeral_ts")
        if ephemeral_ts and (
            truthy(args.get("delete_original")) or truthy(args.get("replace_original"))
        ):
            return self._apply_to_ephemeral(channel, user or "", ephemeral_ts, args)
        if truthy(args.get("delete_original")):
            if message_ts is not None:
                self.messages[channel] = [
                    m for m in self.messages.get(channel, []) if m.get("ts") != message_ts
                ]
            return {"effect": "deleted", "channel": channel, "ts": message_ts}
        if truthy(args.get("replace_original")) and message_ts is not None:
            message = self._find_message(channel, message_ts)
            if message is None:
                # The original was never posted through the fake (a hand-made payload).
                return {"effect": "replaced_unknown", "channel": channel, "ts": message_ts}
            for key in ("blocks", "attachments", "metadata"):
                message.pop(key, None)
            message["text"] = args.get("text", "")
            for key in ("blocks", "attachments"):
                if args.get(key) is not None:
                    message[key] = copy.deepcopy(args[key])
            return {"effect": "replaced", "channel": channel, "ts": message_ts}
        if args.get("response_type") == "in_channel":
            message = self._new_bot_message(args, thread_ts=args.get("thread_ts"))
            self.messages[channel].append(message)
            return {"effect": "posted", "channel": channel, "ts": message["ts"]}
        ephemeral = self._new_ephemeral(channel, user, args)
        return {"effect": "ephemeral", "channel": channel, "ts": ephemeral["ts"]}

    def _apply_to_ephemeral(
        self, channel: str, user: str, ts: str, args: dict[str, Any]
    ) -> dict[str, Any]:
        """Replace or delete one of ``user``'s ephemeral messages, as Slack allows via its URL."""
        kept = self.ephemeral.get((channel, user), [])
        if truthy(args.get("delete_original")):
            self.ephemeral[(channel, user)] = [m for m in kept if m.get("ts") != ts]
            return {"effect": "deleted", "channel": channel, "ts": ts}
        for message in kept:
            if message.get("ts") == ts:
                for key in ("blocks", "attachments"):
                    message.pop(key, None)
                message["text"] = args.get("text", "")
                for key in ("blocks", "attachments"):
                    if args.get(key) is not None:
                        message[key] = copy.deepcopy(args[key])
                return {"effect": "replaced", "channel": channel, "ts": ts}
        return {"effect": "replaced_unknown", "channel": channel, "ts": ts}

    def _store_upload(self, file_id: str, body: bytes) -> tuple[int, str]:
        """Keep an uploaded file's bytes (files_upload_v2's middle step)."""
        record = self.files.get(file_id)
        if record is None or record["completed"]:
            return 404, "file_not_found"
        record["content"] = body
        record["size"] = len(body)
        record.update(image_size(body))
        return 200, f"OK - {len(body)}"

    # ------------------------------------------------------------------ Web API methods

    def _require(self, args: dict[str, Any], name: str) -> Any:
        value = args.get(name)
        if value is None or value == "":
            raise ApiError("invalid_arguments")
        return value

    def _check_trigger(self, args: dict[str, Any]) -> None:
        trigger_id = self._require(args, "trigger_id")
        issued = self._triggers.get(trigger_id)
        if issued is not None and self.now() - issued > self.trigger_ttl:
            raise ApiError("expired_trigger_id")

    def _check_message(self, args: dict[str, Any]) -> None:
        """Refuse a message Slack would refuse (``invalid_blocks``, ``msg_too_long``, ...)."""
        refused = message_error(args)
        if refused is None:
            problems = self._slack_file_problems(args.get("blocks"))
            refused = ("invalid_blocks", problems) if problems else None
        if refused is not None:
            self.refused.append({"method": "message", "error": refused[0], "why": refused[1]})
            raise ApiError(*refused)

    def _slack_file_problems(self, blocks: Any, viewer: str | None = None) -> list[str]:
        """Slack's ``invalid slack file`` errors for the images of ``blocks`` (see below)."""
        problems: list[str] = []

        def walk(node: Any, path: str) -> None:
            if isinstance(node, dict):
                if node.get("type") == "image" and "slack_file" in node:
                    problem = self.slack_file_problem(node["slack_file"], viewer)
                    if problem:
                        problems.append(f"[ERROR] {problem} [json-pointer:{path}/slack_file]")
                for key, value in node.items():
                    walk(value, f"{path}/{key}")
            elif isinstance(node, list):
                for index, value in enumerate(node):
                    walk(value, f"{path}/{index}")

        if isinstance(blocks, str):
            try:
                blocks = json.loads(blocks)
            except ValueError:
                return []
        walk(blocks, "/blocks")
        return problems

    def _view_arg(self, args: dict[str, Any]) -> dict[str, Any]:
        """The ``view`` argument, refused with ``invalid_arguments`` where Slack would."""
        view = self._require(args, "view")
        problems = view_problems(view)
        if problems:
            self.refused.append({"method": "view", "error": "invalid_arguments", "why": problems})
            raise ApiError("invalid_arguments", problems)
        return view

    def _auth_test(self, args: dict[str, Any], token: str) -> ApiResult:
        identity = self.token_identities.get(token, {})
        return {
            "ok": True,
            "url": f"https://{self.team_domain}.slack.com/",
            "team": identity.get("team", self.team),
            "user": "bot",
            "team_id": identity.get("team_id", self.team_id),
            "user_id": identity.get("user_id", self.bot_user_id),
            "bot_id": identity.get("bot_id", self.bot_id),
            "is_enterprise_install": False,
        }

    def _check_dm(self, user_id: str) -> None:
        """A bot cannot open a DM with another bot (``cannot_dm_bot``)."""
        user = self.users.get(user_id)
        if user is not None and user.get("is_bot") and user_id != self.bot_user_id:
            raise ApiError("cannot_dm_bot")

    def _chat_post_message(self, args: dict[str, Any], token: str) -> ApiResult:
        target = str(self._require(args, "channel"))
        if target[:1] in ("U", "W"):
            self._check_dm(target)
        channel = self._resolve_channel(target)
        if not (args.get("text") or args.get("blocks") or args.get("attachments")):
            raise ApiError("no_text")
        self._check_message(args)
        self._check_postable(
            channel, public_without_joining="chat:write.public" in self._scopes(token)
        )
        thread_ts = args.get("thread_ts") or None
        message = self._new_bot_message(args, thread_ts=thread_ts)
        if thread_ts:
            parent = self._find_message(channel, thread_ts)
            if parent is not None:
                parent["thread_ts"] = thread_ts
                parent["reply_count"] = parent.get("reply_count", 0) + 1
                parent["latest_reply"] = message["ts"]
        self.messages[channel].append(message)
        return {"ok": True, "channel": channel, "ts": message["ts"], "message": message}

    def _chat_post_ephemeral(self, args: dict[str, Any], token: str) -> ApiResult:
        channel = str(self._require(args, "channel"))
        user = str(self._require(args, "user"))
        if not (args.get("text") or args.get("blocks") or args.get("attachments")):
            raise ApiError("no_text")
        self._check_message(args)
        self._check_postable(channel)
        message = self._new_ephemeral(channel, user, args)
        return {"ok": True, "message_ts": message["ts"]}

    def _own_message(self, args: dict[str, Any], refusal: str) -> tuple[str, str, dict]:
        """(channel, ts, message) of the bot's own message that `args` name; Slack answers
        `refusal` for someone else's message and message_not_found for none."""
        channel = str(self._require(args, "channel"))
        ts = str(self._require(args, "ts"))
        message = self._find_message(channel, ts)
        if message is None:
            raise ApiError("message_not_found")
        if message.get("user") != self.bot_user_id:
            raise ApiError(refusal)
        return channel, ts, message

    def _chat_update(self, args: dict[str, Any], token: str) -> ApiResult:
        channel, ts, message = self._own_message(args, "cant_update_message")
        if not any(args.get(k) is not None for k in ("text", "blocks", "attachments")):
            raise ApiError("no_text")
        self._check_message(args)
        # Slack keeps fields the update leaves out (blocks/attachments/metadata).
        for key in ("text", "blocks", "attachments", "metadata"):
            if args.get(key) is not None:
                message[key] = copy.deepcopy(args[key])
        message["edited"] = {"user": self.bot_user_id, "ts": self._next_ts()}
        return {
            "ok": True,
            "channel": channel,
            "ts": ts,
            "text": message.get("text", ""),
            "message": message,
        }

    def _chat_delete(self, args: dict[str, Any], token: str) -> ApiResult:
        channel, ts, message = self._own_message(args, "cant_delete_message")
        self.messages[channel].remove(message)
        return {"ok": True, "channel": channel, "ts": ts}

    def _chat_get_permalink(self, args: dict[str, Any], token: str) -> ApiResult:
        channel = str(self._require(args, "channel"))
        ts = str(self._require(args, "message_ts"))
        permalink = (
            f"https://{self.team_domain}.slack.com/archives/{channel}/p{ts.replace('.', '')}"
        )
        return {"ok": True, "channel": channel, "permalink": permalink}

    def _conversations_open(self, args: dict[str, Any], token: str) -> ApiResult:
        if args.get("channel"):
            return {"ok": True, "channel": {"id": args["channel"]}, "already_open": True}
        users = args.get("users")
        if isinstance(users, str):
            users = [u for u in users.split(",") if u]
        if not users:
            raise ApiError("users_list_not_supplied")
        if len(users) == 1:
            self._check_dm(str(users[0]))
            channel_id = self.dm_channel_id(users[0])
        else:
            channel_id = "G" + "".join(sorted(u.lstrip("UW") for u in users))[:20]
        already_open = channel_id in self.channels
        record = self._channel_record(channel_id)
        if len(users) > 1:  # a group DM the bot opens with these people: it is in it
            record.update(is_group=False, is_mpim=True, is_private=True, is_member=True)
        self.channels[channel_id] = record
        channel: dict[str, Any] = {"id": channel_id}
        if truthy(args.get("return_im")):
            channel = copy.deepcopy(self.channels[channel_id])
        return {"ok": True, "no_op": already_open, "already_open": already_open, "channel": channel}

    def _conversations_join(self, args: dict[str, Any], token: str) -> ApiResult:
        channel_id = str(self._require(args, "channel"))
        if "channels:join" not in self._scopes(token):
            raise ApiError("missing_scope")
        record = self._visible_channel(channel_id)
        if record.get("is_im"):
            raise ApiError("method_not_supported_for_channel_type")
        if record.get("is_archived"):
            raise ApiError("is_archived")
        # Only public channels can be joined; a private one needs an invitation.
        if record.get("is_private") and not record.get("is_member"):
            raise ApiError("channel_not_found")
        already = bool(record.get("is_member"))
        record["is_member"] = True
        self.channels[channel_id] = record
        result: ApiResult = {"ok": True, "channel": copy.deepcopy(record)}
        if already:
            result["already_in_channel"] = True
        return result

    def _conversations_info(self, args: dict[str, Any], token: str) -> ApiResult:
        channel_id = str(self._require(args, "channel"))
        return {"ok": True, "channel": copy.deepcopy(self._visible_channel(channel_id))}

    def _visible_channel(self, channel_id: str) -> dict[str, Any]:
        """The channel's record, or ``channel_not_found`` for a private one the bot is not in."""
        record = self._channel_record(channel_id)
        if record.get("is_private") and not record.get("is_member"):
            raise ApiError("channel_not_found")
        return record

    def _scopes(self, token: str) -> set[str]:
        return self.token_scopes.get(token, self.scopes)

    def _history_window(
        self, messages: list[dict[str, Any]], args: dict[str, Any]
    ) -> list[dict[str, Any]]:
        inclusive = truthy(args.get("inclusive"))
        oldest = ts_key(args["oldest"]) if args.get("oldest") else None
        latest = ts_key(args["latest"]) if args.get("latest") else None
        selected = []
        for message in messages:
            key = ts_key(message.get("ts"))
            if oldest is not None and (key < oldest or (key == oldest and not inclusive)):
                continue
            if latest is not None and (key > latest or (key == latest and not inclusive)):
                continue
            selected.append(message)
        return selected

    def _paginate(self, items: list[Any], args: dict[str, Any], default: int) -> tuple[list, str]:
        limit = int(args.get("limit") or default)
        if self.history_page_max is not None:
            limit = min(limit, self.history_page_max)
        start = int(args.get("cursor") or 0)
        page = items[start : start + limit]
        next_cursor = str(start + limit) if start + limit < len(items) else ""
        return page, next_cursor

    def _conversations_history(self, args: dict[str, Any], token: str) -> ApiResult:
        channel = str(self._require(args, "channel"))
        self._check_member(channel)
        top_level = [
            m
            for m in self.messages.get(channel, [])
            if m.get("thread_ts") in (None, m.get("ts")) or m.get("reply_broadcast")
        ]
        window = self._history_window(top_level, args)
        window.sort(key=lambda m: ts_key(m.get("ts")), reverse=True)
        page, next_cursor = self._paginate(window, args, default=100)
        with_metadata = truthy(args.get("include_all_metadata"))
        return {
            "ok": True,
            "messages": [self._public_message(m, with_metadata) for m in page],
            "has_more": bool(next_cursor),
            "pin_count": 0,
            "response_metadata": {"next_cursor": next_cursor},
        }

    def _conversations_replies(self, args: dict[str, Any], token: str) -> ApiResult:
        channel = str(self._require(args, "channel"))
        ts = str(self._require(args, "ts"))
        self._check_member(channel)
        thread = [
            m
            for m in self.messages.get(channel, [])
            if m.get("ts") == ts or m.get("thread_ts") == ts
        ]
        if not thread:
            raise ApiError("thread_not_found")
        window = self._history_window(thread, args)
        window.sort(key=lambda m: ts_key(m.get("ts")))
        page, next_cursor = self._paginate(window, args, default=1000)
        with_metadata = truthy(args.get("include_all_metadata"))
        return {
            "ok": True,
            "messages": [self._public_message(m, with_metadata) for m in page],
            "has_more": bool(next_cursor),
            "response_metadata": {"next_cursor": next_cursor},
        }

    def _users_info(self, args: dict[str, Any], token: str) -> ApiResult:
        user = self.users.get(str(self._require(args, "user")))
        if user is None:
            raise ApiError("user_not_found")
        return {"ok": True, "user": copy.deepcopy(user)}

    def _users_lookup_by_email(self, args: dict[str, Any], token: str) -> ApiResult:
        email_address = str(self._require(args, "email")).lower()
        for user in self.users.values():
            if (user["profile"].get("email") or "").lower() == email_address:
                return {"ok": True, "user": copy.deepcopy(user)}
        raise ApiError("users_not_found")

    def _views_open(self, args: dict[str, Any], token: str) -> ApiResult:
        self._check_trigger(args)
        view = self._store_view(self._view_arg(args))
        user = self._trigger_users.get(str(args.get("trigger_id")))
        if user:
            self.modal_stacks[user] = [view["id"]]
        return {"ok": True, "view": view}

    def _views_push(self, args: dict[str, Any], token: str) -> ApiResult:
        self._check_trigger(args)
        user = self._trigger_users.get(str(args.get("trigger_id")))
        stack = self.modal_stacks.get(user or "", [])
        view = self._store_view(
            self._view_arg(args),
            root_view_id=self.views[stack[0]]["id"] if stack else None,
            previous_view_id=stack[-1] if stack else None,
        )
        if user:
            self.modal_stacks.setdefault(user, []).append(view["id"])
        return {"ok": True, "view": view}

    def _views_update(self, args: dict[str, Any], token: str) -> ApiResult:
        view_id = args.get("view_id")
        external_id = args.get("external_id")
        if not view_id and not external_id:
            raise ApiError("invalid_arguments")
        current = self.views.get(view_id) if view_id else None
        if current is None and external_id:
            current = next(
                (v for v in self.views.values() if v.get("external_id") == external_id), None
            )
        if current is None:
            raise ApiError("not_found")
        if args.get("hash") and args["hash"] != current["hash"]:
            raise ApiError("hash_conflict")
        view = self._store_view(
            self._view_arg(args),
            view_id=current["id"],
            root_view_id=current.get("root_view_id"),
            previous_view_id=current.get("previous_view_id"),
        )
        for user_id, home in list(self.home_views.items()):
            if home["id"] == view["id"]:
                self.home_views[user_id] = view
        return {"ok": True, "view": view}

    def _views_publish(self, args: dict[str, Any], token: str) -> ApiResult:
        user_id = str(self._require(args, "user_id"))
        raw_view = self._require(args, "view")
        if not isinstance(raw_view, dict) or raw_view.get("type") != "home":
            raise ApiError("invalid_arguments")
        raw_view = self._view_arg(args)
        problems = self._slack_file_problems(raw_view.get("blocks"), viewer=user_id)
        if problems:
            self.refused.append({"method": "view", "error": "invalid_arguments", "why": problems})
            raise ApiError("invalid_arguments", problems)
        current = self.home_views.get(user_id)
        if current is not None and args.get("hash") and args["hash"] != current["hash"]:
            raise ApiError("hash_conflict")
        view = self._store_view(raw_view, view_id=current["id"] if current else None)
        self.home_views[user_id] = view
        return {"ok": True, "view": view}

    def _check_scope(self, token: str, scope: str) -> None:
        if scope not in self._scopes(token):
            raise ApiError("missing_scope")

    def _files_get_upload_url(self, args: dict[str, Any], token: str) -> ApiResult:
        """Step one of files_upload_v2: a file id and where to send the bytes."""
        self._check_scope(token, "files:write")
        filename = str(self._require(args, "filename"))
        try:
            length = int(self._require(args, "length"))
        except (TypeError, ValueError):
            raise ApiError("invalid_arguments") from None
        if length <= 0:
            raise ApiError("invalid_arguments")
        file_id = f"F{next(self._ids):09d}"
        self.files[file_id] = {
            "id": file_id,
            "name": filename,
            "length": length,
            "content": None,
            "title": filename,
            "alt_txt": args.get("alt_txt") or None,
            "user": self.bot_user_id,
            "channels": [],
            "completed": False,
            **file_type(filename),
        }
        return {"ok": True, "upload_url": f"{self.base_url}/upload/{file_id}", "file_id": file_id}

    def _files_complete_upload(self, args: dict[str, Any], token: str) -> ApiResult:
        """Step three: the uploaded files become files, shared where ``channel_id`` says.

        Refused like Slack: ``missing_scope`` without ``files:write``; ``file_not_found``
        for an id this workspace never issued or already completed; a channel the bot cannot
        post in as for chat.postMessage (``not_in_channel``, ``channel_not_found``,
        ``is_archived``), public ones included. Nothing is shared when a check fails.
        """
        self._check_scope(token, "files:write")
        files = self._require(args, "files")
        if isinstance(files, str):
            try:
                files = json.loads(files)
            except ValueError as exc:
                raise ApiError("invalid_arguments") from exc
        if not isinstance(files, list) or not files:
            raise ApiError("invalid_arguments")
        channel = args.get("channel_id") or args.get("channels")
        target = None
        if channel:
            target = self._resolve_channel(str(channel).split(",")[0])
            self._check_postable(target)
        records = []
        for entry in files:
            record = self.files.get(entry.get("id")) if isinstance(entry, dict) else None
            if record is None or record["completed"]:
                raise ApiError("file_not_found")
            records.append((entry, record))
        completed = []
        for entry, record in records:
            record["completed"] = True
            record["created"] = int(self.now())
            if entry.get("title"):
                record["title"] = entry["title"]
            if target:
                record["channels"].append(target)
            record["url_private"] = f"{self.base_url}/files/{record['id']}/{record['name']}"
            completed.append({k: v for k, v in record.items() if k != "content"})
        if target:
            # Sharing into a conversation posts a message carrying the files, with the
            # initial comment as its text, as Slack does.
            message = self._new_bot_message(
                {"text": args.get("initial_comment") or "", "blocks": args.get("blocks")}
            )
            message["files"] = copy.deepcopy(completed)
            message["upload"] = True
            self.messages[target].append(message)
        return {"ok": True, "files": completed}

    def _files_info(self, args: dict[str, Any], token: str) -> ApiResult:
        """A completed file the bot can see (``file_not_found`` otherwise)."""
        self._check_scope(token, "files:read")
        record = self.files.get(str(self._require(args, "file")))
        if record is None or not record["completed"]:
            raise ApiError("file_not_found")
        return {"ok": True, "file": {k: v for k, v in record.items() if k != "content"}}

    def slack_file_problem(self, reference: Any, viewer: str | None = None) -> str | None:
        """Why an image's ``slack_file`` would be refused, or None.

        Slack shows an uploaded image in a block only if it is a png, jpg or gif file and
        the people who see the block can see the file: a file uploaded without a channel is
        the bot's alone (``invalid slack file``), so it must be shared into a conversation
        first; for App Home (``viewer``), one that person can see: a public channel or
        their own DM with the bot.
        """
        if not isinstance(reference, dict) or ("id" in reference) == ("url" in reference):
            return "invalid slack file"
        file_id = reference.get("id")
        if file_id is None:
            file_id = next(
                (f["id"] for f in self.files.values() if f.get("url_private") == reference["url"]),
                None,
            )
        record = self.files.get(str(file_id))
        if record is None or not record["completed"]:
            return "invalid slack file"
        if record.get("filetype") not in ("png", "jpg", "gif"):
            return "slack file must be an image (png, jpg or gif)"
        shares = record["channels"]
        if not shares:
            return "invalid slack file"
        if viewer is not None and not any(
            c == self.dm_channel_id(viewer) or not self._channel_record(c).get("is_private")
            for c in shares
        ):
            return "invalid slack file"
        return None
