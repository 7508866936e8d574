"""A local stand-in for Slack's Web API, served over real HTTP on 127.0.0.1.

The tests use it to see what the bot sends, and the sandbox (`mlops-bot sandbox`) uses the
very same server as the Slack a person clicks around in, so what the tests check is what the
sandbox shows.

Why a server and not mocks: the app under test talks to Slack through slack_sdk's WebClient and
Bolt's ``respond()``, which build real requests (JSON for chat.* and views.*, forms for
conversations.* and users.*, Bearer tokens, multipart uploads) and read real responses (status,
``Retry-After``, ``ok``/``error``). Serving those over a socket exercises exactly the code that
runs against Slack, including retry handlers and error handling, while letting tests read what
the app sent (``slack.calls``) and the state it left behind (``slack.messages``,
``slack.home_views``).

Shapes follow Slack's documented responses closely enough for slack_sdk and Bolt; anything the
fake cannot know (channels, users) is configured by the test with ``add_channel``/``add_user``.
Unknown channels are treated leniently (they exist and the bot is a member); unknown users are
not (``users.info`` answers ``user_not_found``), because handling a missing user is app logic
worth testing.

Typical use::

    with FakeSlack() as slack:
        client = WebClient(token="xoxb-test-token", base_url=slack.api_url)
        client.chat_postMessage(channel="C1", text="hi")
        assert slack.last("chat.postMessage").args["text"] == "hi"
"""

from __future__ import annotations

import contextlib
import copy
import email.parser
import email.policy
import itertools
import json
import math
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DEFAULT_TOKEN = "xoxb-test-token"
TEAM_ID = "T0TEST"
TEAM_NAME = "Test Team"
TEAM_DOMAIN = "test"
BOT_USER_ID = "UBOT"
BOT_ID = "BBOT"
APP_ID = "A0TEST"

# Fields Slack accepts as JSON strings inside form bodies; decoded so tests see structures.
JSON_STRING_FIELDS = ("blocks", "view", "metadata", "attachments")

# Response-URL answers are plain text, like Slack's ("ok"), not JSON.
RESPONSE_URL_METHOD = "response_url"
UPLOAD_METHOD = "file_upload"

ApiResult = dict[str, Any]


@dataclass
class Call:
    """One request the fake received, kept so tests can assert on what the app sent.

    ``method`` is the Web API method ("chat.postMessage"), ``"response_url"`` for posts to a
    response URL, or ``"file_upload"`` for the raw upload step of files_upload_v2. ``status``
    and ``error`` describe the answer the fake gave, so failed calls stay visible.
    """

    method: str
    args: dict[str, Any]
    headers: dict[str, str]
    token: str | None
    time: float
    http_method: str = "POST"
    status: int = 200
    error: str | None = None
    response: Any = None

    @property
    def failed(self) -> bool:
        """True when the fake answered with a non-200 status or ``ok: false``."""
        return self.status != 200 or self.error is not None


@dataclass
class _Fault:
    """An injected failure that answers the next ``remaining`` calls to one method."""

    kind: str  # "error", "ratelimit" or "status"
    remaining: int
    error: str = ""
    retry_after: int = 0
    status: int = 200


@dataclass
class _Pace:
    """A per-channel token bucket, like Slack's ~1 message/s per channel with short bursts."""

    rate: float
    burst: float
    methods: frozenset[str]
    buckets: dict[str, tuple[float, float]] = field(default_factory=dict)

    def take(self, key: str, now: float) -> int | None:
        """Consume one token for ``key``; return None if allowed, else seconds to wait."""
        tokens, last = self.buckets.get(key, (self.burst, now))
        tokens = min(self.burst, tokens + (now - last) * self.rate)
        if tokens >= 1:
            self.buckets[key] = (tokens - 1, now)
            return None
        # Rejected calls do not consume a token; Slack's Retry-After is whole seconds.
        self.buckets[key] = (tokens, now)
        return max(1, math.ceil((1 - tokens) / self.rate))


class _ApiError(Exception):
    """Raised by a method handler to answer ``{"ok": false, "error": ...}``."""

    def __init__(self, error: str) -> None:
        super().__init__(error)
        self.error = error


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    fake: FakeSlack


def _truthy(value: Any) -> bool:
    """Slack booleans arrive as JSON booleans or as "true"/"1" strings in forms."""
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1", "yes")
    return bool(value)


def _ts_key(ts: Any) -> Decimal:
    try:
        return Decimal(str(ts))
    except InvalidOperation:
        return Decimal(0)


def _parse_form(raw: str) -> dict[str, Any]:
    parsed = parse_qs(raw, keep_blank_values=True)
    return {key: values[0] if len(values) == 1 else values for key, values in parsed.items()}


def _parse_multipart(content_type: str, body: bytes) -> dict[str, Any]:
    """Parse multipart/form-data (what slack_sdk sends when files are attached)."""
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n" + body
    )
    args: dict[str, Any] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not name:
            continue
        payload = part.get_payload(decode=True) or b""
        args[str(name)] = payload if part.get_filename() else payload.decode("utf-8")
    return args


def parse_request_args(query: str, content_type: str, body: bytes) -> dict[str, Any]:
    """Merge query string and body (JSON, form or multipart) into one argument dict.

    Raises ValueError for a body that claims to be JSON but is not.
    """
    args = _parse_form(query) if query else {}
    media_type = content_type.split(";")[0].strip().lower()
    if body:
        if media_type == "application/json":
            data = json.loads(body.decode("utf-8"))
            if not isinstance(data, dict):
                raise ValueError("JSON body must be an object")
            args.update(data)
        elif media_type == "multipart/form-data":
            args.update(_parse_multipart(content_type, body))
        else:
            args.update(_parse_form(body.decode("utf-8")))
    for key in JSON_STRING_FIELDS:
        value = args.get(key)
        if isinstance(value, str) and value.strip()[:1] in ("[", "{"):
            # Not JSON after all: leave it as sent; the method handler decides if that's an error.
            with contextlib.suppress(ValueError):
                args[key] = json.loads(value)
    return args


def _tz_fields(tz: str) -> tuple[int, str]:
    """Offset in seconds and a label for an IANA zone, as Slack's users.info reports them."""
    try:
        now = datetime.now(ZoneInfo(tz))
    except (ZoneInfoNotFoundError, ValueError):
        return 0, tz
    offset = now.utcoffset()
    return int(offset.total_seconds()) if offset else 0, now.tzname() or tz


class _Handler(BaseHTTPRequestHandler):
    """Routes /api/<method>, /response/<id> and /upload/<file_id> to the FakeSlack."""

    server: _Server

    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def log_message(self, format: str, *args: Any) -> None:
        """Silence per-request logging; the recorded calls are the log."""

    def _dispatch(self) -> None:
        fake = self.server.fake
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = dict(self.headers.items())
        if parts.path.startswith("/api/"):
            method = unquote(parts.path[len("/api/") :])
            try:
                args = parse_request_args(parts.query, self.headers.get("Content-Type", ""), body)
                parse_error = None
            except (ValueError, UnicodeDecodeError):
                args, parse_error = {"_raw": body.decode("utf-8", "replace")}, "invalid_json"
            status, payload, extra = fake._handle_api(
                method, args, headers, self.command, parse_error
            )
            self._send(status, payload, "application/json; charset=utf-8", extra)
        elif parts.path.startswith("/response/"):
            url_id = unquote(parts.path[len("/response/") :])
            status, text, extra = fake._handle_response_url(url_id, body, headers)
            self._send(status, text.encode("utf-8"), "text/html", extra)
        elif parts.path.startswith("/upload/"):
            file_id = unquote(parts.path[len("/upload/") :])
            status, text = fake._handle_upload(file_id, body, headers)
            self._send(status, text.encode("utf-8"), "text/plain", {})
        else:
            payload = json.dumps({"ok": False, "error": "not_found"}).encode("utf-8")
            self._send(404, payload, "application/json; charset=utf-8", {})

    def _send(self, status: int, body: bytes, content_type: str, extra: dict[str, str]) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in extra.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)


class FakeSlack:
    """Slack's Web API, response URLs and file uploads on a local ThreadingHTTPServer.

    Start it with ``with FakeSlack() as slack:`` or ``slack.start()``/``slack.stop()`` and point
    clients at ``slack.api_url``. All state is guarded by one lock so tests can read it while
    the app's worker threads call the server.
    """

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
        host: str = "127.0.0.1",
        trigger_ttl: float = 3.0,
        response_url_max_uses: int = 5,
        default_is_member: bool = True,
        real_timestamps: bool = False,
        clock: Callable[[], float] | None = None,
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
        self.host = host
        self.trigger_ttl = trigger_ttl
        self.response_url_max_uses = response_url_max_uses
        self.default_is_member = default_is_member
        # Tests want predictable message ts values; the sandbox wants the time of day.
        self.real_timestamps = real_timestamps or clock is not None
        self._clock = clock or time.time
        self._last_ts = 0.0

        self.users: dict[str, dict[str, Any]] = {}
        self.channels: dict[str, dict[str, Any]] = {}
        self.messages: defaultdict[str, list[dict[str, Any]]] = defaultdict(list)
        self.ephemeral: defaultdict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
        self.home_views: dict[str, dict[str, Any]] = {}
        self.views: dict[str, dict[str, Any]] = {}
        self.files: dict[str, dict[str, Any]] = {}
        self.response_urls: dict[str, dict[str, Any]] = {}

        self._lock = threading.RLock()
        self._changed = threading.Condition(self._lock)
        self._calls: list[Call] = []
        self._version = 0
        self._trigger_users: dict[str, str] = {}
        # user id -> the stack of modal view ids open for that user (the sandbox shows the top)
        self.modal_stacks: dict[str, list[str]] = {}
        self._faults: defaultdict[str, list[_Fault]] = defaultdict(list)
        self._delays: dict[str, float] = {}
        self._pace: _Pace | None = None
        self._triggers: dict[str, float] = {}
        self._ids = itertools.count(1)
        self._ts_counter = itertools.count(1)
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._handlers: dict[str, Callable[[dict[str, Any], str], ApiResult]] = {
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
        }

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> FakeSlack:
        """Bind a free port on ``host`` and serve in a daemon thread (idempotent)."""
        if self._server is not None:
            return self
        server = _Server((self.host, 0), _Handler)
        server.fake = self
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"FakeSlack:{server.server_address[1]}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and release the port; safe to call twice."""
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is not None:
            server.shutdown()
            server.server_close()
        if thread is not None:
            thread.join(timeout=5)

    def __enter__(self) -> FakeSlack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("FakeSlack is not started; call start() or use it as a context")
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT`` (no trailing slash)."""
        return f"http://{self.host}:{self.port}"

    @property
    def api_url(self) -> str:
        """The Web API base URL to pass as ``WebClient(base_url=...)`` (ends with a slash)."""
        return f"{self.base_url}/api/"

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
    ) -> dict[str, Any]:
        """Declare a channel; posting to it honours ``is_member`` and ``is_archived``."""
        with self._lock:
            channel = self._channel_record(channel_id)
            channel.update(
                is_member=is_member,
                is_archived=is_archived,
                is_private=is_private,
                is_channel=not is_private and channel_id.startswith("C"),
                is_group=is_private,
            )
            if name or "name" in channel:
                channel["name"] = name or channel["name"]
            self.channels[channel_id] = channel
        return channel

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
    ) -> None:
        """Accept another token, optionally with its own auth.test identity (other workspace)."""
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
                "created": time.time(),
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
            self._triggers[trigger_id] = time.monotonic()
            if user:
                self._trigger_users[trigger_id] = user
        return trigger_id

    # ------------------------------------------------------------------ failure injection

    def fail(self, method: str, error: str = "channel_not_found", times: int = 1) -> None:
        """The next ``times`` calls to ``method`` ("*" for any) answer ``ok: false``."""
        self._add_fault(method, _Fault("error", times, error=error))

    def rate_limit(self, method: str, retry_after: int = 2, times: int = 1) -> None:
        """The next ``times`` calls answer HTTP 429 with ``Retry-After: retry_after``."""
        self._add_fault(
            method, _Fault("ratelimit", times, error="ratelimited", retry_after=retry_after)
        )

    def server_error(self, method: str, status: int = 500, times: int = 1) -> None:
        """The next ``times`` calls answer HTTP ``status`` (a Slack outage)."""
        self._add_fault(method, _Fault("status", times, error="internal_error", status=status))

    def delay(self, method: str, seconds: float) -> None:
        """Sleep ``seconds`` before answering every call to ``method`` ("*" for any); 0 clears."""
        with self._lock:
            if seconds > 0:
                self._delays[method] = seconds
            else:
                self._delays.pop(method, None)

    def pace(
        self,
        per_channel_per_second: float | None = 1.0,
        burst: int = 3,
        methods: Iterable[str] = ("chat.postMessage",),
    ) -> None:
        """Rate-limit ``methods`` per channel with a token bucket; ``None`` switches it off.

        Beyond the bucket the fake answers 429 with a whole-second ``Retry-After``, as Slack
        does for chat.postMessage above about one message per second per channel.
        """
        with self._lock:
            if per_channel_per_second is None:
                self._pace = None
            else:
                if per_channel_per_second <= 0 or burst < 1:
                    raise ValueError("pace needs a positive rate and a burst of at least 1")
                self._pace = _Pace(float(per_channel_per_second), float(burst), frozenset(methods))

    def _add_fault(self, method: str, fault: _Fault) -> None:
        if fault.remaining < 1:
            raise ValueError("times must be at least 1")
        with self._lock:
            self._faults[method].append(fault)

    def _take_fault(self, method: str) -> _Fault | None:
        for key in (method, "*"):
            queue = self._faults.get(key)
            if queue:
                fault = queue[0]
                fault.remaining -= 1
                if fault.remaining <= 0:
                    queue.pop(0)
                return fault
        return None

    # ------------------------------------------------------------------ recorded calls

    @property
    def calls(self) -> list[Call]:
        """A snapshot of every call so far, oldest first."""
        with self._lock:
            return list(self._calls)

    def calls_to(self, method: str) -> list[Call]:
        """Every call to ``method`` so far, oldest first (failed ones included)."""
        with self._lock:
            return [call for call in self._calls if call.method == method]

    def last(self, method: str | None = None) -> Call:
        """The most recent call (to ``method``); AssertionError naming what was seen if none."""
        with self._lock:
            matching = [c for c in self._calls if method is None or c.method == method]
            if not matching:
                raise AssertionError(f"no call to {method or 'any method'}; saw {self._summary()}")
            return matching[-1]

    def wait_for(
        self,
        method: str,
        count: int = 1,
        timeout: float = 5.0,
        where: Callable[[Call], bool] | None = None,
    ) -> list[Call]:
        """Wait until at least ``count`` calls to ``method`` (matching ``where``) arrived.

        Apps answer Slack first and call the Web API afterwards on worker threads, so tests
        must wait rather than assert right after the request returns. Returns all matching
        calls; raises AssertionError listing what did arrive.
        """
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                matching = [
                    c for c in self._calls if c.method == method and (where is None or where(c))
                ]
                if len(matching) >= count:
                    return matching
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(
                        f"expected {count} call(s) to {method} within {timeout}s, got "
                        f"{len(matching)}; saw {self._summary()}"
                    )
                self._changed.wait(min(remaining, 0.05))

    def wait_until(self, condition: Callable[[], bool], timeout: float = 5.0) -> None:
        """Wait until ``condition()`` is true (checked whenever a call arrives, or every 50 ms)."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while not condition():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(
                        f"condition not met within {timeout}s; saw {self._summary()}"
                    )
                self._changed.wait(min(remaining, 0.05))

    def reset(self) -> None:
        """Forget calls, posted state, views, response URLs and injected faults.

        Users, channels and tokens stay: they are the workspace the test configured.
        """
        with self._lock:
            self._calls.clear()
            self.messages.clear()
            self.ephemeral.clear()
            self.home_views.clear()
            self.views.clear()
            self.files.clear()
            self.response_urls.clear()
            self.modal_stacks.clear()
            self._trigger_users.clear()
            self._faults.clear()
            self._delays.clear()
            self._pace = None
            self._triggers.clear()

    def _summary(self, limit: int = 30) -> str:
        shown = [
            f"{c.method}" + (f"[{c.status} {c.error}]" if c.failed else "")
            for c in self._calls[-limit:]
        ]
        more = len(self._calls) - len(shown)
        prefix = f"[... {more} earlier, " if more else "["
        return prefix + ", ".join(shown) + "]"

    def _record(self, call: Call) -> None:
        self._calls.append(call)
        self.touch()

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
        deadline = time.monotonic() + timeout
        with self._changed:
            while self._version == since:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._changed.wait(min(remaining, 0.5))
            return self._version

    # ------------------------------------------------------------------ request handling

    def _handle_api(
        self,
        method: str,
        args: dict[str, Any],
        headers: dict[str, str],
        http_method: str,
        parse_error: str | None,
    ) -> tuple[int, bytes, dict[str, str]]:
        with self._lock:
            pause = self._delays.get(method) or self._delays.get("*") or 0.0
        if pause:
            time.sleep(pause)
        token = _bearer(headers)
        if token is None and isinstance(args.get("token"), str):
            token = args["token"]  # Slack also accepts the token as a form field
        args.pop("token", None)
        with self._lock:
            status, result, extra = self._answer_api(method, args, token, parse_error)
            error = None if result.get("ok") else str(result.get("error"))
            self._record(
                Call(
                    method=method,
                    args=args,
                    headers=headers,
                    token=token,
                    time=time.time(),
                    http_method=http_method,
                    status=status,
                    error=error,
                    response=copy.deepcopy(result),
                )
            )
            payload = json.dumps(result).encode("utf-8")
        return status, payload, extra

    def _answer_api(
        self, method: str, args: dict[str, Any], token: str | None, parse_error: str | None
    ) -> tuple[int, ApiResult, dict[str, str]]:
        if not token:
            return 200, {"ok": False, "error": "not_authed"}, {}
        if token in self.revoked_tokens:
            return 200, {"ok": False, "error": "token_revoked"}, {}
        if token not in self.valid_tokens:
            return 200, {"ok": False, "error": "invalid_auth"}, {}
        if parse_error:
            return 200, {"ok": False, "error": parse_error}, {}
        fault = self._take_fault(method)
        if fault is not None:
            return self._fault_answer(fault)
        handler = self._handlers.get(method)
        if handler is None:
            return 200, {"ok": False, "error": "unknown_method"}, {}
        if self._pace is not None and method in self._pace.methods:
            key = self._resolve_channel(args.get("channel") or args.get("channel_id") or "")
            retry_after = self._pace.take(key, time.monotonic())
            if retry_after is not None:
                return (
                    429,
                    {"ok": False, "error": "ratelimited"},
                    {"Retry-After": str(retry_after)},
                )
        try:
            return 200, handler(args, token), {}
        except _ApiError as exc:
            return 200, {"ok": False, "error": exc.error}, {}
        except Exception as exc:  # a bug in the fake must show up loudly, not hang the app
            return 500, {"ok": False, "error": "fake_slack_bug", "detail": repr(exc)}, {}

    @staticmethod
    def _fault_answer(fault: _Fault) -> tuple[int, ApiResult, dict[str, str]]:
        if fault.kind == "ratelimit":
            return (
                429,
                {"ok": False, "error": "ratelimited"},
                {"Retry-After": str(fault.retry_after)},
            )
        if fault.kind == "status":
            return fault.status, {"ok": False, "error": fault.error}, {}
        return 200, {"ok": False, "error": fault.error}, {}

    def _handle_response_url(
        self, url_id: str, body: bytes, headers: dict[str, str]
    ) -> tuple[int, str, dict[str, str]]:
        with self._lock:
            pause = self._delays.get(RESPONSE_URL_METHOD) or self._delays.get("*") or 0.0
        if pause:
            time.sleep(pause)
        try:
            args = json.loads(body.decode("utf-8")) if body else {}
            if not isinstance(args, dict):
                raise ValueError
        except ValueError:
            args = {"_raw": body.decode("utf-8", "replace")}
        args = {**args, "url_id": url_id}
        with self._lock:
            status, text, extra, effect = self._answer_response_url(url_id, args)
            self._record(
                Call(
                    method=RESPONSE_URL_METHOD,
                    args=args,
                    headers=headers,
                    token=None,
                    time=time.time(),
                    status=status,
                    error=None if status == 200 else text,
                    response=effect,
                )
            )
        return status, text, extra

    def _answer_response_url(
        self, url_id: str, args: dict[str, Any]
    ) -> tuple[int, str, dict[str, str], Any]:
        fault = self._take_fault(RESPONSE_URL_METHOD)
        if fault is not None:
            if fault.kind == "ratelimit":
                return 429, "ratelimited", {"Retry-After": str(fault.retry_after)}, None
            if fault.kind == "status":
                return fault.status, fault.error, {}, None
            return 404, fault.error, {}, None
        info = self.response_urls.get(url_id)
        if info is None:
            return 404, "expired_url", {}, None
        if "_raw" in args:
            return 400, "invalid_payload", {}, None
        if info["uses"] >= self.response_url_max_uses:
            return 404, "used_url", {}, None
        info["uses"] += 1
        return 200, "ok", {}, self._apply_response(info, args)

    def _apply_response(self, info: dict[str, Any], args: dict[str, Any]) -> dict[str, Any]:
        """Apply a response_url post to the fake's state the way Slack would."""
        channel, user, message_ts = info["channel"], info["user"], info["message_ts"]
        if channel is None:
            return {"effect": "recorded"}
        ephemeral_ts = info.get("ephemeral_ts")
        if ephemeral_ts and (
            _truthy(args.get("delete_original")) or _truthy(args.get("replace_original"))
        ):
            return self._apply_to_ephemeral(channel, user or "", ephemeral_ts, args)
        if _truthy(args.get("delete_original")):
            if message_ts is not None:
                self.messages[channel] = [
                    m for m in self.messages.get(channel, []) if m.get("ts") != message_ts
                ]
            return {"effect": "deleted", "channel": channel, "ts": message_ts}
        if _truthy(args.get("replace_original")) and message_ts is not None:
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
        if _truthy(args.get("delete_original")):
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

    def _handle_upload(self, file_id: str, body: bytes, headers: dict[str, str]) -> tuple[int, str]:
        with self._lock:
            record = self.files.get(file_id)
            status, text = (404, "file_not_found") if record is None else (200, f"OK - {len(body)}")
            if record is not None:
                record["content"] = body
            self._record(
                Call(
                    method=UPLOAD_METHOD,
                    args={"file_id": file_id, "length": len(body)},
                    headers=headers,
                    token=None,
                    time=time.time(),
                    status=status,
                    error=None if status == 200 else text,
                )
            )
        return status, text

    # ------------------------------------------------------------------ helpers

    def _next_ts(self) -> str:
        if self.real_timestamps:
            self._last_ts = max(self._clock(), self._last_ts + 0.000001)
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

    def _require(self, args: dict[str, Any], name: str) -> Any:
        value = args.get(name)
        if value is None or value == "":
            raise _ApiError("invalid_arguments")
        return value

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
            if _truthy(args.get("reply_broadcast")):
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

    def _check_postable(self, channel: str) -> None:
        record = self.channels.get(channel)
        if record is None:
            return
        if record.get("is_archived"):
            raise _ApiError("is_archived")
        if not record.get("is_member", True):
            raise _ApiError("channel_not_found" if record.get("is_private") else "not_in_channel")

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
            raise _ApiError("invalid_arguments")
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

    def _check_trigger(self, args: dict[str, Any]) -> None:
        trigger_id = self._require(args, "trigger_id")
        issued = self._triggers.get(trigger_id)
        if issued is not None and time.monotonic() - issued > self.trigger_ttl:
            raise _ApiError("expired_trigger_id")

    # ------------------------------------------------------------------ Web API methods

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

    def _chat_post_message(self, args: dict[str, Any], token: str) -> ApiResult:
        channel = self._resolve_channel(str(self._require(args, "channel")))
        if not (args.get("text") or args.get("blocks") or args.get("attachments")):
            raise _ApiError("no_text")
        self._check_postable(channel)
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
            raise _ApiError("no_text")
        self._check_postable(channel)
        message = self._new_ephemeral(channel, user, args)
        return {"ok": True, "message_ts": message["ts"]}

    def _chat_update(self, args: dict[str, Any], token: str) -> ApiResult:
        channel = str(self._require(args, "channel"))
        ts = str(self._require(args, "ts"))
        message = self._find_message(channel, ts)
        if message is None:
            raise _ApiError("message_not_found")
        if message.get("user") != self.bot_user_id:
            raise _ApiError("cant_update_message")
        if not any(args.get(k) is not None for k in ("text", "blocks", "attachments")):
            raise _ApiError("no_text")
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
        channel = str(self._require(args, "channel"))
        ts = str(self._require(args, "ts"))
        message = self._find_message(channel, ts)
        if message is None:
            raise _ApiError("message_not_found")
        if message.get("user") != self.bot_user_id:
            raise _ApiError("cant_delete_message")
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
            raise _ApiError("users_list_not_supplied")
        if len(users) == 1:
            channel_id = self.dm_channel_id(users[0])
        else:
            channel_id = "G" + "".join(sorted(u.lstrip("UW") for u in users))[:20]
        already_open = channel_id in self.channels
        self.channels[channel_id] = self._channel_record(channel_id)
        channel: dict[str, Any] = {"id": channel_id}
        if _truthy(args.get("return_im")):
            channel = copy.deepcopy(self.channels[channel_id])
        return {"ok": True, "no_op": already_open, "already_open": already_open, "channel": channel}

    def _conversations_join(self, args: dict[str, Any], token: str) -> ApiResult:
        channel_id = str(self._require(args, "channel"))
        record = self._channel_record(channel_id)
        if record.get("is_archived"):
            raise _ApiError("is_archived")
        record["is_member"] = True
        self.channels[channel_id] = record
        return {"ok": True, "channel": copy.deepcopy(record)}

    def _conversations_info(self, args: dict[str, Any], token: str) -> ApiResult:
        channel_id = str(self._require(args, "channel"))
        return {"ok": True, "channel": copy.deepcopy(self._channel_record(channel_id))}

    def _history_window(
        self, messages: list[dict[str, Any]], args: dict[str, Any]
    ) -> list[dict[str, Any]]:
        inclusive = _truthy(args.get("inclusive"))
        oldest = _ts_key(args["oldest"]) if args.get("oldest") else None
        latest = _ts_key(args["latest"]) if args.get("latest") else None
        selected = []
        for message in messages:
            key = _ts_key(message.get("ts"))
            if oldest is not None and (key < oldest or (key == oldest and not inclusive)):
                continue
            if latest is not None and (key > latest or (key == latest and not inclusive)):
                continue
            selected.append(message)
        return selected

    def _paginate(self, items: list[Any], args: dict[str, Any], default: int) -> tuple[list, str]:
        limit = int(args.get("limit") or default)
        start = int(args.get("cursor") or 0)
        page = items[start : start + limit]
        next_cursor = str(start + limit) if start + limit < len(items) else ""
        return page, next_cursor

    def _conversations_history(self, args: dict[str, Any], token: str) -> ApiResult:
        channel = str(self._require(args, "channel"))
        top_level = [
            m
            for m in self.messages.get(channel, [])
            if m.get("thread_ts") in (None, m.get("ts")) or m.get("reply_broadcast")
        ]
        window = self._history_window(top_level, args)
        window.sort(key=lambda m: _ts_key(m.get("ts")), reverse=True)
        page, next_cursor = self._paginate(window, args, default=100)
        with_metadata = _truthy(args.get("include_all_metadata"))
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
        thread = [
            m
            for m in self.messages.get(channel, [])
            if m.get("ts") == ts or m.get("thread_ts") == ts
        ]
        if not thread:
            raise _ApiError("thread_not_found")
        window = self._history_window(thread, args)
        window.sort(key=lambda m: _ts_key(m.get("ts")))
        page, next_cursor = self._paginate(window, args, default=1000)
        with_metadata = _truthy(args.get("include_all_metadata"))
        return {
            "ok": True,
            "messages": [self._public_message(m, with_metadata) for m in page],
            "has_more": bool(next_cursor),
            "response_metadata": {"next_cursor": next_cursor},
        }

    def _users_info(self, args: dict[str, Any], token: str) -> ApiResult:
        user = self.users.get(str(self._require(args, "user")))
        if user is None:
            raise _ApiError("user_not_found")
        return {"ok": True, "user": copy.deepcopy(user)}

    def _users_lookup_by_email(self, args: dict[str, Any], token: str) -> ApiResult:
        email_address = str(self._require(args, "email")).lower()
        for user in self.users.values():
            if (user["profile"].get("email") or "").lower() == email_address:
                return {"ok": True, "user": copy.deepcopy(user)}
        raise _ApiError("users_not_found")

    def _views_open(self, args: dict[str, Any], token: str) -> ApiResult:
        self._check_trigger(args)
        view = self._store_view(self._require(args, "view"))
        user = self._trigger_users.get(str(args.get("trigger_id")))
        if user:
            self.modal_stacks[user] = [view["id"]]
        return {"ok": True, "view": view}

    def _views_push(self, args: dict[str, Any], token: str) -> ApiResult:
        self._check_trigger(args)
        user = self._trigger_users.get(str(args.get("trigger_id")))
        stack = self.modal_stacks.get(user or "", [])
        view = self._store_view(
            self._require(args, "view"),
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
            raise _ApiError("invalid_arguments")
        current = self.views.get(view_id) if view_id else None
        if current is None and external_id:
            current = next(
                (v for v in self.views.values() if v.get("external_id") == external_id), None
            )
        if current is None:
            raise _ApiError("not_found")
        if args.get("hash") and args["hash"] != current["hash"]:
            raise _ApiError("hash_conflict")
        view = self._store_view(
            self._require(args, "view"),
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
            raise _ApiError("invalid_arguments")
        current = self.home_views.get(user_id)
        if current is not None and args.get("hash") and args["hash"] != current["hash"]:
            raise _ApiError("hash_conflict")
        view = self._store_view(raw_view, view_id=current["id"] if current else None)
        self.home_views[user_id] = view
        return {"ok": True, "view": view}

    def _files_get_upload_url(self, args: dict[str, Any], token: str) -> ApiResult:
        filename = str(self._require(args, "filename"))
        length = int(self._require(args, "length"))
        file_id = f"F{next(self._ids):09d}"
        self.files[file_id] = {
            "id": file_id,
            "name": filename,
            "length": length,
            "content": None,
            "title": filename,
            "channels": [],
        }
        return {"ok": True, "upload_url": f"{self.base_url}/upload/{file_id}", "file_id": file_id}

    def _files_complete_upload(self, args: dict[str, Any], token: str) -> ApiResult:
        files = self._require(args, "files")
        if isinstance(files, str):
            try:
                files = json.loads(files)
            except ValueError as exc:
                raise _ApiError("invalid_arguments") from exc
        channel = args.get("channel_id") or args.get("channels")
        completed = []
        for entry in files:
            record = self.files.get(entry.get("id"))
            if record is None:
                raise _ApiError("file_not_found")
            if entry.get("title"):
                record["title"] = entry["title"]
            if channel:
                record["channels"].append(channel)
            completed.append({k: v for k, v in record.items() if k != "content"})
        if channel:
            # Sharing into a conversation posts a message carrying the files, with the
            # initial comment as its text, as Slack does.
            target = self._resolve_channel(str(channel).split(",")[0])
            message = self._new_bot_message(
                {"text": args.get("initial_comment") or "", "blocks": args.get("blocks")}
            )
            message["files"] = copy.deepcopy(completed)
            message["upload"] = True
            self.messages[target].append(message)
        return {"ok": True, "files": completed}


def _bearer(headers: dict[str, str]) -> str | None:
    for name, value in headers.items():
        if name.lower() == "authorization" and value.startswith("Bearer "):
            return value[len("Bearer ") :].strip() or None
    return None
