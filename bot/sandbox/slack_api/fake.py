"""``FakeSlack``: the workspace and its methods, served over HTTP, with faults and a record.

This is where the concerns meet: a call arrives from ``http``, is authenticated, may be
answered by an injected fault (``faults``), is dispatched to a method (``methods``) that
changes the workspace (``state``), and is recorded for the tests (``recorder``).
"""

from __future__ import annotations

import copy
import json
import time
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import unquote

from bot.sandbox.lifecycle import Startable
from bot.sandbox.slack_api.faults import Fault, Faults
from bot.sandbox.slack_api.http import HttpServer, bearer
from bot.sandbox.slack_api.limits import message_error
from bot.sandbox.slack_api.methods import RESPONSE_URL_TTL, Handler, WebApiMethods
from bot.sandbox.slack_api.ratelimits import RateLimits
from bot.sandbox.slack_api.recorder import Call, Recorder
from bot.sandbox.slack_api.state import (
    APP_ID,
    BOT_ID,
    BOT_USER_ID,
    TEAM_DOMAIN,
    TEAM_ID,
    TEAM_NAME,
    ApiError,
    ApiResult,
)

# Response-URL answers are plain text, like Slack's ("ok"), not JSON.
RESPONSE_URL_METHOD = "response_url"
UPLOAD_METHOD = "file_upload"


class FakeSlack(WebApiMethods, Startable):
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
        response_url_ttl: float = RESPONSE_URL_TTL,
        default_is_member: bool = False,
        real_timestamps: bool = False,
        clock: Callable[[], float] | None = None,
        scopes: Iterable[str] | None = None,
        rate_limits: bool = True,
        strict_history: bool = False,
    ) -> None:
        super().__init__(
            valid_tokens=valid_tokens,
            team_id=team_id,
            team=team,
            team_domain=team_domain,
            bot_user_id=bot_user_id,
            bot_id=bot_id,
            app_id=app_id,
            default_is_member=default_is_member,
            real_timestamps=real_timestamps,
            clock=clock,
            scopes=scopes,
            trigger_ttl=trigger_ttl,
            response_url_max_uses=response_url_max_uses,
            response_url_ttl=response_url_ttl,
        )
        self.host = host
        self.rate_limits = RateLimits(enabled=rate_limits)
        self.strict_history(strict_history)
        self.faults = Faults(self._lock)
        self.recorder = Recorder(self._changed)
        self._server: HttpServer | None = None
        # Methods that take an app-level token (xapp-...), e.g. Socket Mode's, and their tokens.
        self._app_methods: dict[str, tuple[Handler, set[str]]] = {}

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> FakeSlack:
        """Bind a free port on ``host`` and serve in a daemon thread (idempotent)."""
        if self._server is None:
            self._server = HttpServer(self, self.host)
        return self

    def stop(self) -> None:
        """Stop serving and release the port; safe to call twice."""
        server, self._server = self._server, None
        if server is not None:
            server.stop()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("FakeSlack is not started; call start() or use it as a context")
        return self._server.port

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT`` (no trailing slash)."""
        return f"http://{self.host}:{self.port}"

    @property
    def api_url(self) -> str:
        """The Web API base URL to pass as ``WebClient(base_url=...)`` (ends with a slash)."""
        return f"{self.base_url}/api/"

    # ------------------------------------------------------------------ failure injection

    def fail(self, method: str, error: str = "channel_not_found", times: int = 1) -> None:
        """The next ``times`` calls to ``method`` ("*" for any) answer ``ok: false``."""
        self.faults.add(method, Fault("error", times, error=error))

    def rate_limit(self, method: str, retry_after: int = 2, times: int = 1) -> None:
        """The next ``times`` calls answer HTTP 429 with ``Retry-After: retry_after``."""
        self.faults.add(
            method, Fault("ratelimit", times, error="ratelimited", retry_after=retry_after)
        )

    def server_error(self, method: str, status: int = 500, times: int = 1) -> None:
        """The next ``times`` calls answer HTTP ``status`` (a Slack outage)."""
        self.faults.add(method, Fault("status", times, error="internal_error", status=status))

    def delay(self, method: str, seconds: float) -> None:
        """Sleep ``seconds`` before answering every call to ``method`` ("*" for any); 0 clears."""
        self.faults.set_delay(method, seconds)

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
        self.faults.set_pace(per_channel_per_second, burst, methods)

    def pace_workspace(
        self,
        per_second: float | None,
        burst: int = 1,
        methods: Iterable[str] = ("chat.postMessage",),
    ) -> None:
        """Rate-limit ``methods`` across the whole workspace too; ``None`` switches it off.

        Slack limits chat.postMessage per workspace as well as per channel; benchmarks use
        this to see whether the sender paces itself below both.
        """
        self.faults.set_workspace_pace(per_second, burst, methods)

    def strict_history(self, on: bool = True) -> None:
        """Apply the conversations.history limit of new commercial apps outside the Marketplace.

        One history (or replies) call a minute per workspace and at most 15 messages a call,
        as for apps created after 2025-05-29; internal apps are exempt (off by default).
        """
        with self._lock:
            self.rate_limits.strict_history = on
            self.history_page_max = self.rate_limits.history_page_limit("conversations.history")

    # ------------------------------------------------------------------ recorded calls

    @property
    def calls(self) -> list[Call]:
        """A snapshot of every call so far, oldest first."""
        return self.recorder.calls

    def calls_to(self, method: str) -> list[Call]:
        """Every call to ``method`` so far, oldest first (failed ones included)."""
        return self.recorder.calls_to(method)

    def last(self, method: str | None = None) -> Call:
        """The most recent call (to ``method``); AssertionError naming what was seen if none."""
        return self.recorder.last(method)

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
        return self.recorder.wait_for(method, count, timeout, where)

    def wait_until(self, condition: Callable[[], bool], timeout: float = 5.0) -> None:
        """Wait until ``condition()`` is true (checked whenever a call arrives, or every 50 ms)."""
        self.recorder.wait_until(condition, timeout)

    def reset(self) -> None:
        """Forget calls, posted state, views, response URLs and injected faults.

        Users, channels and tokens stay: they are the workspace the test configured.
        """
        with self._lock:
            self.recorder.clear()
            self.clear_posted()
            self.response_urls.clear()
            self._trigger_users.clear()
            self._triggers.clear()
            self.faults.clear()
            self.rate_limits.clear()
            self.refused.clear()

    def _record(self, call: Call) -> None:
        self.recorder.record(call)
        self.touch()

    # ------------------------------------------------------------------ request handling

    def handle_api(
        self,
        method: str,
        args: dict[str, Any],
        headers: dict[str, str],
        http_method: str,
        parse_error: str | None,
    ) -> tuple[int, bytes, dict[str, str]]:
        """Answer one Web API call: (HTTP status, JSON body, extra headers)."""
        pause = self.faults.delay_for(method)
        if pause:
            time.sleep(pause)
        token = bearer(headers)
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
        if method in self._app_methods or token.startswith("xapp-"):
            return self._answer_app_method(method, args, token)
        if token in self.revoked_tokens:
            return 200, {"ok": False, "error": "token_revoked"}, {}
        if token not in self.valid_tokens:
            return 200, {"ok": False, "error": "invalid_auth"}, {}
        if parse_error:
            return 200, {"ok": False, "error": parse_error}, {}
        fault = self.faults.take(method)
        if fault is not None:
            return fault.answer()
        handler = self.handlers.get(method)
        if handler is None:
            return 200, {"ok": False, "error": "unknown_method"}, {}
        channel = self._resolve_channel(str(args.get("channel") or args.get("channel_id") or ""))
        workspace = self.token_identities.get(token, {}).get("team_id", self.team_id)
        retry_after = self.rate_limits.take(workspace, method, self.now())
        if retry_after is None:
            retry_after = self.faults.paced(method, workspace, channel, time.monotonic())
        if retry_after is not None:
            return 429, {"ok": False, "error": "ratelimited"}, {"Retry-After": str(retry_after)}
        try:
            return 200, handler(args, token), {}
        except ApiError as exc:
            return 200, exc.answer(), {}
        except Exception as exc:  # a bug in the fake must show up loudly, not hang the app
            return 500, {"ok": False, "error": "fake_slack_bug", "detail": repr(exc)}, {}

    def add_app_method(self, method: str, handler: Handler, tokens: set[str]) -> None:
        """Serve `method` to the app-level tokens in `tokens` (a live set), as Socket Mode's
        apps.connections.open (bot/sandbox/socket_mode.py); other tokens get Slack's errors."""
        with self._lock:
            self._app_methods[method] = (handler, tokens)

    def _answer_app_method(
        self, method: str, args: dict[str, Any], token: str
    ) -> tuple[int, ApiResult, dict[str, str]]:
        """An app token only opens connections, a bot token never: `not_allowed_token_type`."""
        entry = self._app_methods.get(method)
        app_tokens = set().union(*(tokens for _, tokens in self._app_methods.values()))
        if entry is None or not token.startswith("xapp-"):
            known = token in self.valid_tokens or token in app_tokens
            error = "not_allowed_token_type" if known else "invalid_auth"
            return 200, {"ok": False, "error": error}, {}
        handler, tokens = entry
        if token not in tokens:
            return 200, {"ok": False, "error": "invalid_auth"}, {}
        fault = self.faults.take(method)
        return fault.answer() if fault is not None else (200, handler(args, token), {})

    def handle_response_url(
        self, url_id: str, body: bytes, headers: dict[str, str]
    ) -> tuple[int, str, dict[str, str]]:
        """Answer one post to a response URL: (HTTP status, text, extra headers)."""
        pause = self.faults.delay_for(RESPONSE_URL_METHOD)
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
            fault = self.faults.take(RESPONSE_URL_METHOD)
            if fault is None:
                status, text, extra, effect = self._answer_response_url(url_id, args)
            else:
                status, text, extra, effect = self._response_url_fault(fault)
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

    @staticmethod
    def _response_url_fault(fault: Fault) -> tuple[int, str, dict[str, str], Any]:
        if fault.kind == "ratelimit":
            return 429, "ratelimited", {"Retry-After": str(fault.retry_after)}, None
        if fault.kind == "status":
            return fault.status, fault.error, {}, None
        return 404, fault.error, {}, None

    def command_answer(self, response_url: str, answer: dict[str, Any]) -> None:
        """Show the message a slash command's HTTP answer carries, as Slack does.

        Slack treats the body of the acknowledgement like a post to the command's response
        URL (ephemeral unless `response_type` is `in_channel`), without using up one of the
        URL's five posts. It is recorded as a `response_url` call with `via="ack"`.
        """
        url_id = unquote(response_url.rsplit("/", 1)[-1])
        args = {**answer, "url_id": url_id, "via": "ack"}
        with self._lock:
            info = self.response_urls.get(url_id)
            refused = message_error(args)
            if info is None:
                status, text, effect = 404, "expired_url", None
            elif refused is not None:
                status, text = 400, refused[0]
                effect = {"effect": "refused", "messages": refused[1]}
            else:
                status, text, effect = 200, "ok", self._apply_response(info, args)
            self._record(
                Call(
                    method=RESPONSE_URL_METHOD,
                    args=args,
                    headers={},
                    token=None,
                    time=time.time(),
                    status=status,
                    error=None if status == 200 else text,
                    response=effect,
                )
            )

    def handle_upload(self, file_id: str, body: bytes, headers: dict[str, str]) -> tuple[int, str]:
        """Answer the raw upload step of files_upload_v2: (HTTP status, text)."""
        with self._lock:
            status, text = self._store_upload(file_id, body)
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
