"""A client that sends what Slack sends: signed slash commands, interactions and events.

Why: the app must be tested through its front door, with Bolt's signature verification on, so
a test that passes here means the same request from Slack would pass too. Bodies are byte-exact
and signed with slack_sdk's own SignatureVerifier; the low-level ``post`` lets tests forge
signatures, replay stale timestamps or change the body after signing to prove the app
answers 401.

When given a FakeSlack, the client takes ``response_url`` and ``trigger_id`` from it, so what
the app does with them (``respond()``, ``views.open``) lands in the fake and can be asserted.

Two transports carry the same bytes: HTTP to a running server (``base_url``), for the few
front-door tests that prove the wiring, and ``wsgi_app``, which hands the request to the
bot's WSGI app in this process exactly as a WSGI server would (environ, headers, body
stream), so the signature check, the body cap and Bolt's dispatch all run, without a server
per test.
"""

from __future__ import annotations

import http.client
import io
import json
import logging
import secrets
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import urlencode, urlsplit

from slack_sdk.signature import SignatureVerifier

from bot.sandbox.slack_api.limits import message_error, view_problems

EVENTS_PATH = "/slack/events"
API_APP_ID = "A0TEST"
TEAM_ID = "T0TEST"
TEAM_DOMAIN = "test"
BOT_USER_ID = "UBOT"
VERIFICATION_TOKEN = "legacy-verification-token"


class ResponseUrlSource(Protocol):
    """What the client needs from a Slack stand-in (FakeSlack satisfies it)."""

    def response_url(
        self,
        name: str = "x",
        *,
        channel: str | None = None,
        user: str | None = None,
        message_ts: str | None = None,
    ) -> str: ...

    def new_trigger_id(self) -> str: ...


def _check_answer(text: str) -> None:
    """Fail when the app answers Slack with a message or view Slack would refuse.

    What the app puts in its HTTP answer (``ack(blocks=...)``, ``response_action`` views)
    never passes through the Web API stand-in, so it is validated here against the same
    limits, and no test can forget to.
    """
    try:
        body = json.loads(text)
    except ValueError:
        return
    if not isinstance(body, dict):
        return
    if body.get("response_action") in ("update", "push"):
        problems = view_problems(body.get("view"))
        assert not problems, f"the app answered with a view Slack refuses: {problems}"
    elif "blocks" in body or "text" in body:
        refused = message_error(body)
        assert refused is None, f"the app answered with a message Slack refuses: {refused}"


@dataclass
class Response:
    """The app's HTTP answer; header names are lower-cased."""

    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: str = ""

    def json(self) -> Any:
        """The body parsed as JSON (raises ValueError if it is not JSON)."""
        return json.loads(self.body)

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def call_wsgi(
    app: WsgiApp, method: str, target: str, body: bytes | None, headers: dict[str, str]
) -> Response:
    """One request through `app` in this process, with the environ a WSGI server builds."""
    path, _, query = target.partition("?")
    raw = body or b""
    environ: dict[str, Any] = {
        "REQUEST_METHOD": method,
        "SCRIPT_NAME": "",
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "CONTENT_LENGTH": str(len(raw)),
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(raw),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }
    for name, value in headers.items():
        key = name.upper().replace("-", "_")
        environ[key if key in ("CONTENT_TYPE", "CONTENT_LENGTH") else f"HTTP_{key}"] = value
    answer: dict[str, Any] = {}

    def start_response(status: str, response_headers, exc_info=None):
        answer["status"] = int(status.split(" ", 1)[0])
        answer["headers"] = {name.lower(): value for name, value in response_headers}
        return lambda data: None  # the legacy write() callable; our app never uses it

    try:
        chunks = app(environ, start_response)
    except Exception:  # what a WSGI server does with it: a 500 and a traceback in its log
        logging.getLogger("wsgi").exception("error in the WSGI app")
        return Response(status=500)
    try:
        content = b"".join(chunks)
    finally:
        close = getattr(chunks, "close", None)
        if close is not None:
            close()
    return Response(answer["status"], answer["headers"], content.decode("utf-8", "replace"))


class SlackClient:
    """Posts signed Slack requests to the app (default path /slack/events): over HTTP to
    ``base_url``, or to ``wsgi_app`` in this process.

    ``last_response_url``, ``last_trigger_id`` and ``last_event_id`` remember what the most
    recent request carried, so a test can, for example, resend the same event as a retry.
    """

    def __init__(
        self,
        base_url: str | None,
        signing_secret: str,
        team_id: str = TEAM_ID,
        fake_slack: ResponseUrlSource | None = None,
        *,
        path: str = EVENTS_PATH,
        api_app_id: str = API_APP_ID,
        team_domain: str = TEAM_DOMAIN,
        bot_user_id: str = BOT_USER_ID,
        timeout: float = 10.0,
        wsgi_app: WsgiApp | None = None,
    ) -> None:
        self.wsgi_app = wsgi_app
        if wsgi_app is None:
            parts = urlsplit(base_url or "")
            if parts.scheme != "http" or not parts.hostname:
                raise ValueError(f"expected a plain http:// base URL, got {base_url!r}")
            self.base_url: str | None = (base_url or "").rstrip("/")
            self.host, self.port = parts.hostname, parts.port or 80
        else:
            self.base_url, self.host, self.port = None, "", 0
        self.signing_secret = signing_secret
        self.verifier = SignatureVerifier(signing_secret)
        self.team_id = team_id
        self.fake_slack = fake_slack
        self.path = path
        self.api_app_id = api_app_id
        self.team_domain = team_domain
        self.bot_user_id = bot_user_id
        self.timeout = timeout
        self.last_response_url: str | None = None
        self.last_trigger_id: str | None = None
        self.last_event_id: str | None = None

    # ------------------------------------------------------------------ low level

    def sign(self, body: bytes | str, timestamp: int | str | None = None) -> dict[str, str]:
        """The two signature headers Slack would send for ``body`` at ``timestamp`` (now)."""
        ts = str(int(time.time()) if timestamp is None else timestamp)
        signature = self.verifier.generate_signature(timestamp=ts, body=body)
        return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": signature or ""}

    def post(
        self,
        body: bytes | str,
        content_type: str,
        headers: dict[str, str] | None = None,
        timestamp: int | str | None = None,
        signature: str | None = None,
        sign_body: bytes | str | None = None,
        path: str | None = None,
    ) -> Response:
        """POST ``body`` signed like Slack; every part of the signature can be overridden.

        ``timestamp`` (e.g. ``time.time() - 301``) is both signed and sent; ``signature``
        replaces the computed one; ``sign_body`` signs different bytes than those sent, to
        model a body altered in transit.
        """
        raw = body.encode("utf-8") if isinstance(body, str) else body
        signed = self.sign(raw if sign_body is None else sign_body, timestamp)
        if signature is not None:
            signed["X-Slack-Signature"] = signature
        all_headers = {"Content-Type": content_type, **signed, **(headers or {})}
        return self._request("POST", path or self.path, raw, all_headers)

    def get(self, path: str, headers: dict[str, str] | None = None) -> Response:
        """A plain unsigned GET (health checks, install pages)."""
        return self._request("GET", path, None, headers or {})

    def post_form(self, fields: dict[str, Any], **kwargs: Any) -> Response:
        """Form-encode ``fields`` and post them signed (kwargs as for ``post``)."""
        return self.post(
            urlencode(fields).encode("utf-8"), "application/x-www-form-urlencoded", **kwargs
        )

    def post_json(self, data: dict[str, Any], **kwargs: Any) -> Response:
        """JSON-encode ``data`` and post it signed (kwargs as for ``post``)."""
        return self.post(json.dumps(data).encode("utf-8"), "application/json", **kwargs)

    def interactive(self, payload: dict[str, Any], **kwargs: Any) -> Response:
        """Post any interactivity payload (shortcut, view_closed, ...) as ``payload=<json>``."""
        return self.post_form({"payload": json.dumps(payload)}, **kwargs)

    def _request(
        self, method: str, path: str, body: bytes | None, headers: dict[str, str]
    ) -> Response:
        if self.wsgi_app is not None:
            response = call_wsgi(self.wsgi_app, method, path, body, headers)
            _check_answer(response.body)  # in-process answers meet Slack's rules too
            return response
        connection = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        try:
            connection.request(method, path, body=body, headers=headers)
            answer = connection.getresponse()
            text = answer.read().decode("utf-8", "replace")
            _check_answer(text)
            return Response(
                status=answer.status,
                headers={name.lower(): value for name, value in answer.getheaders()},
                body=text,
            )
        finally:
            connection.close()

    # ------------------------------------------------------------------ helpers

    def _team(self, team_id: str | None) -> str:
        return team_id or self.team_id

    def _trigger_id(self) -> str:
        if self.fake_slack is not None:
            trigger_id = self.fake_slack.new_trigger_id()
        else:
            trigger_id = f"{int(time.time())}.{secrets.randbelow(10**9)}.{secrets.token_hex(8)}"
        self.last_trigger_id = trigger_id
        return trigger_id

    def _response_url(
        self,
        name: str,
        channel: str | None,
        user: str | None,
        message_ts: str | None = None,
    ) -> str:
        if self.fake_slack is not None:
            url = self.fake_slack.response_url(
                name, channel=channel, user=user, message_ts=message_ts
            )
        else:
            url = (
                f"https://hooks.slack.com/{name}/{self.team_id}/"
                f"{secrets.randbelow(10**12)}/{secrets.token_hex(12)}"
            )
        self.last_response_url = url
        return url

    def _user(self, user_id: str, team_id: str, user_name: str | None) -> dict[str, str]:
        username = user_name or user_id.lower()
        return {"id": user_id, "username": username, "name": username, "team_id": team_id}

    # ------------------------------------------------------------------ what Slack sends

    def command(
        self,
        text: str,
        user_id: str = "U1",
        channel_id: str = "C1",
        command: str = "/mlops",
        team_id: str | None = None,
        user_name: str | None = None,
        channel_name: str | None = None,
        **kwargs: Any,
    ) -> Response:
        """A slash command, form-encoded with every field Slack sends."""
        team = self._team(team_id)
        fields = {
            "token": VERIFICATION_TOKEN,
            "team_id": team,
            "team_domain": self.team_domain,
            "channel_id": channel_id,
            "channel_name": channel_name
            or ("directmessage" if channel_id.startswith("D") else channel_id.lower()),
            "user_id": user_id,
            "user_name": user_name or user_id.lower(),
            "command": command,
            "text": text,
            "api_app_id": self.api_app_id,
            "is_enterprise_install": "false",
            "response_url": self._response_url("commands", channel_id, user_id),
            "trigger_id": self._trigger_id(),
        }
        response = self.post_form(fields, **kwargs)
        self._show_acknowledgement(fields["response_url"], response)
        return response

    def _show_acknowledgement(self, response_url: str, response: Response) -> None:
        """Like Slack, show the message a command's acknowledgement carries (see the fake)."""
        show = getattr(self.fake_slack, "command_answer", None)
        if show is None or response.status != 200 or not response.body.strip():
            return
        try:
            answer = response.json()
        except ValueError:  # a plain-text acknowledgement is shown as the message's text
            answer = {"text": response.body}
        if isinstance(answer, dict) and (answer.get("text") or answer.get("blocks")):
            show(response_url, answer)

    def block_action(
        self,
        action_id: str,
        value: str | None = None,
        block_id: str = "b",
        user_id: str = "U1",
        channel_id: str = "C1",
        message: dict[str, Any] | None = None,
        view: dict[str, Any] | None = None,
        container: dict[str, Any] | None = None,
        team_id: str | None = None,
        action_type: str = "button",
        selected_option: dict[str, Any] | None = None,
        *,
        state: dict[str, Any] | None = None,
        is_ephemeral: bool = False,
        action: dict[str, Any] | None = None,
        user_name: str | None = None,
        **kwargs: Any,
    ) -> Response:
        """A ``block_actions`` payload, for a click in a message or, with ``view``, a modal/Home.

        In a message Slack sends ``channel``, ``message`` (not for ephemeral messages) and a
        ``response_url`` tied to that message; in a view it sends ``view`` and neither.
        ``message`` may be a message dict straight from ``FakeSlack.messages``. ``action``
        adds fields to the action (e.g. ``selected_user``).
        """
        team = self._team(team_id)
        now = f"{time.time():.6f}"
        act: dict[str, Any] = {
            "action_id": action_id,
            "block_id": block_id,
            "type": action_type,
            "action_ts": now,
        }
        if value is not None:
            act["value"] = value
        if selected_option is not None:
            act["selected_option"] = selected_option
        act.update(action or {})
        payload: dict[str, Any] = {
            "type": "block_actions",
            "team": {"id": team, "domain": self.team_domain},
            "user": self._user(user_id, team, user_name),
            "api_app_id": self.api_app_id,
            "token": VERIFICATION_TOKEN,
            "trigger_id": self._trigger_id(),
            "is_enterprise_install": False,
            "enterprise": None,
            "actions": [act],
            "state": state or {"values": {}},
        }
        if view is not None:
            full_view = {
                "id": "V0000000001",
                "team_id": team,
                "type": "modal",
                "callback_id": "",
                "private_metadata": "",
                "blocks": [],
                "state": {"values": {}},
                "hash": f"{int(time.time())}.abc",
                "app_id": self.api_app_id,
                "bot_id": "BBOT",
                **view,
            }
            payload["view"] = full_view
            payload["container"] = container or {"type": "view", "view_id": full_view["id"]}
        else:
            if message is None and not is_ephemeral:
                message = {
                    "type": "message",
                    "user": self.bot_user_id,
                    "ts": "1700000000.000001",
                    "text": "",
                    "blocks": [],
                }
            message_ts = (message or {}).get("ts") or f"{int(time.time())}.000001"
            payload["container"] = container or {
                "type": "message",
                "message_ts": message_ts,
                "channel_id": channel_id,
                "is_ephemeral": is_ephemeral,
            }
            payload["channel"] = {"id": channel_id, "name": channel_id.lower()}
            if message is not None and not is_ephemeral:
                payload["message"] = {"type": "message", **message}
            payload["response_url"] = self._response_url(
                "actions", channel_id, user_id, None if is_ephemeral else message_ts
            )
        return self.interactive(payload, **kwargs)

    def view_submission(
        self,
        callback_id: str,
        values: dict[str, dict[str, Any]],
        private_metadata: str = "",
        user_id: str = "U1",
        team_id: str | None = None,
        view_id: str | None = None,
        *,
        blocks: list[dict[str, Any]] | None = None,
        view: dict[str, Any] | None = None,
        response_urls: list[dict[str, Any]] | None = None,
        user_name: str | None = None,
        **kwargs: Any,
    ) -> Response:
        """A ``view_submission`` payload.

        ``values`` is ``{block_id: {action_id: {"type": ..., "value": ...}}}`` as in Slack's
        ``view.state.values``; a plain string stands for a plain_text_input value. ``view``
        adds or overrides view fields (title, external_id, ...).
        """
        team = self._team(team_id)
        state_values = {
            block: {
                action: (
                    {"type": "plain_text_input", "value": entry}
                    if isinstance(entry, str)
                    else entry
                )
                for action, entry in actions.items()
            }
            for block, actions in values.items()
        }
        vid = view_id or f"V{secrets.randbelow(10**9):09d}"
        full_view: dict[str, Any] = {
            "id": vid,
            "team_id": team,
            "type": "modal",
            "blocks": blocks if blocks is not None else [],
            "private_metadata": private_metadata,
            "callback_id": callback_id,
            "state": {"values": state_values},
            "hash": f"{int(time.time())}.{secrets.token_hex(4)}",
            "title": {"type": "plain_text", "text": "Modal"},
            "clear_on_close": False,
            "notify_on_close": False,
            "close": {"type": "plain_text", "text": "Cancel"},
            "submit": {"type": "plain_text", "text": "Submit"},
            "previous_view_id": None,
            "root_view_id": vid,
            "app_id": self.api_app_id,
            "external_id": "",
            "app_installed_team_id": team,
            "bot_id": "BBOT",
            **(view or {}),
        }
        payload = {
            "type": "view_submission",
            "team": {"id": team, "domain": self.team_domain},
            "user": self._user(user_id, team, user_name),
            "api_app_id": self.api_app_id,
            "token": VERIFICATION_TOKEN,
            "trigger_id": self._trigger_id(),
            "view": full_view,
            "response_urls": response_urls or [],
            "is_enterprise_install": False,
            "enterprise": None,
        }
        return self.interactive(payload, **kwargs)

    def event(
        self,
        event: dict[str, Any],
        event_id: str | None = None,
        team_id: str | None = None,
        retry_num: int | None = None,
        retry_reason: str = "http_timeout",
        **kwargs: Any,
    ) -> Response:
        """An Events API ``event_callback`` envelope around ``event``.

        With ``retry_num`` it carries ``X-Slack-Retry-Num``/``X-Slack-Retry-Reason`` like
        Slack's redelivery; pass the same ``event_id`` (``last_event_id``) to model a retry.
        """
        team = self._team(team_id)
        now = time.time()
        inner = {"event_ts": f"{now:.6f}", **event}
        eid = event_id or f"Ev{secrets.token_hex(5).upper()}"
        self.last_event_id = eid
        envelope = {
            "token": VERIFICATION_TOKEN,
            "team_id": team,
            "api_app_id": self.api_app_id,
            "event": inner,
            "type": "event_callback",
            "event_id": eid,
            "event_time": int(now),
            "authorizations": [
                {
                    "enterprise_id": None,
                    "team_id": team,
                    "user_id": self.bot_user_id,
                    "is_bot": True,
                    "is_enterprise_install": False,
                }
            ],
            "is_ext_shared_channel": False,
            "event_context": f"4-{secrets.token_hex(16)}",
        }
        headers = dict(kwargs.pop("headers", None) or {})
        if retry_num is not None:
            headers["X-Slack-Retry-Num"] = str(retry_num)
            headers["X-Slack-Retry-Reason"] = retry_reason
        return self.post_json(envelope, headers=headers, **kwargs)

    def url_verification(self, challenge: str, **kwargs: Any) -> Response:
        """The handshake Slack sends when the Events request URL is saved."""
        body = {"token": VERIFICATION_TOKEN, "challenge": challenge, "type": "url_verification"}
        return self.post_json(body, **kwargs)
