"""Socket Mode front door: the same Bolt app as `web`, over a WebSocket the bot opens to Slack.

Slack hands every command, click, modal submission and event to the app as an envelope on
the socket, and expects the acknowledgement back on the socket within 3 seconds, carrying
what an HTTP answer's body would carry. Bolt's stock handler leaves two gaps that the HTTP
front door (bot/web.py) does not have, so `SocketModeFrontDoor.handle` closes them:

- It acknowledges every envelope. Bolt sends nothing back when its answer is not a 200
  (no listener matched, a listener failed before `ack()`), and then Slack shows the person
  a timeout on top of the reply our error handler already sent, and sends an event again.
- It writes the same log line and request metrics as HTTP (kind, action, status, duration),
  so an operator sees Socket Mode traffic the way they see HTTP traffic.

Bolt's built-in client (slack_sdk's, no extra dependency) has one gap of its own, closed by
`_Client.connect`: when it replaces a connection (Slack's `disconnect`, a dropped link) it
closes the old one while that one's reader waits in `recv()` for up to 3 seconds, and
everything queued behind the reconnect, acknowledgements included, waits too; a click during
a refresh then misses Slack's deadline. Ours moves to the new connection first and wakes the
old reader at once.

The body needs none of web.py's repairs: it arrives as JSON inside the envelope, never as a
form to re-parse, and there is no signature to check (the app opened the connection itself
with its app-level token).
"""

from __future__ import annotations

import contextlib
import json
import logging
import signal
import socket
import threading
import time
from collections.abc import Callable

from slack_bolt import App, BoltRequest, BoltResponse
from slack_bolt.adapter.socket_mode.base_handler import BaseSocketModeHandler
from slack_bolt.adapter.socket_mode.internals import build_headers
from slack_sdk.errors import SlackApiError
from slack_sdk.socket_mode.builtin import SocketModeClient
from slack_sdk.socket_mode.builtin.connection import Connection, ConnectionState
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse

from bot.app import Runtime, create_app
from bot.config import ConfigError, Settings
from bot.observability import Metrics
from bot.slack_status import SlackStatus

log = logging.getLogger(__name__)

# Errors from apps.connections.open that no retry can fix: the token itself is wrong.
TOKEN_ERRORS = frozenset(
    {"invalid_auth", "not_authed", "token_revoked", "account_inactive", "not_allowed_token_type"}
)
# Envelopes handled at once; each waits only until its listener acknowledges.
CONCURRENCY = 16


class AppTokenRefused(ConfigError):
    """Slack refused SLACK_APP_TOKEN: a configuration error, one line meant for a person."""


class _Client(SocketModeClient):
    """slack_sdk's built-in client, replacing a connection without stalling for 3 seconds."""

    def issue_new_wss_url(self) -> str:
        """apps.connections.open; a token Slack refuses is one line, not a logged response."""
        try:
            return str(self.web_client.apps_connections_open(app_token=self.app_token)["url"])
        except SlackApiError as error:
            code = str(error.response.get("error", ""))
            if code in TOKEN_ERRORS:
                raise AppTokenRefused(
                    f"Slack refused SLACK_APP_TOKEN ({code}): use an app-level token (xapp-...) "
                    "with connections:write, from api.slack.com/apps -> your app -> Basic "
                    "Information -> App-Level Tokens, and turn Socket Mode on."
                ) from None
        return super().issue_new_wss_url()  # rate limits and the rest, the stock way

    def connect(self) -> None:
        old, old_state = self.current_session, self.current_session_state
        if self.wss_uri is None:
            self.wss_uri = self.issue_new_wss_url()
        this: list[Connection] = []
        session = Connection(
            url=self.wss_uri,
            logger=self.logger,
            ping_interval=self.ping_interval,
            trace_enabled=self.trace_enabled,
            all_message_trace_enabled=self.all_message_trace_enabled,
            ping_pong_trace_enabled=self.ping_pong_trace_enabled,
            receive_buffer_size=self.receive_buffer_size,
            proxy=self.proxy,
            proxy_headers=self.proxy_headers,
            on_message_listener=self._on_message,
            on_error_listener=self._on_error,
            on_close_listener=lambda code, reason=None: self._closed_by_slack(
                this[0], code, reason
            ),
            ssl_context=self.web_client.ssl,
        )
        this.append(session)
        session.connect()
        # From here on acknowledgements go out on the new connection.
        self.current_session, self.current_session_state = session, ConnectionState()
        self.auto_reconnect_enabled = self.default_auto_reconnect_enabled
        old_state.terminated = True
        if old is not None:
            # The old reader sits in recv() (up to 3 s) holding the lock close() needs:
            # shutting the socket down returns what it already holds, then end-of-file.
            if old.sock is not None:
                with contextlib.suppress(OSError):
                    old.sock.shutdown(socket.SHUT_RDWR)
            old.close()
        if not self.current_app_monitor_started:
            self.current_app_monitor_started = True
            self.current_app_monitor.start()
        self.logger.info("connected to Slack over Socket Mode (session %s)", session.session_id)

    def _closed_by_slack(self, session: Connection, code: int, reason: str | None) -> None:
        """Slack closed a connection: if it is the one in use, reconnect now.

        The stock client asks "am I still connected?" here, and the answer is yes until the
        reader has finished, so it waited for the next health check (10 s) to reconnect.
        """
        if session is self.current_session and self.auto_reconnect_enabled and not self.closed:
            self.logger.info("Slack closed the connection (code %s); reconnecting", code)
            session.disconnect()
            self.connect_to_new_endpoint()
        for listener in self.on_close_listeners:
            listener(code, reason)

    def close(self) -> None:
        """Close for good, without waiting for the reader's recv() to time out."""
        self.closed = True
        self.auto_reconnect_enabled = False
        session = self.current_session
        if session is not None and session.sock is not None:
            with contextlib.suppress(OSError):
                session.sock.shutdown(socket.SHUT_RDWR)
        super().close()


class SocketModeFrontDoor(BaseSocketModeHandler):
    """The Bolt app behind Slack's Socket Mode, acknowledging like the HTTP front door."""

    def __init__(self, app: App, app_token: str, metrics: Metrics, *, ping_interval: float = 10):
        self.app = app
        self.app_token = app_token
        self.metrics = metrics
        self.client = _Client(
            app_token=app_token,
            logger=logging.getLogger("mlops_bot.socket_mode"),
            web_client=app.client,
            ping_interval=ping_interval,
            concurrency=CONCURRENCY,
        )
        self.client.socket_mode_request_listeners.append(self.handle)  # type: ignore[arg-type]

    def handle(self, socket_client: SocketModeClient, req: SocketModeRequest) -> None:  # type: ignore[override]
        started = time.perf_counter()
        request = BoltRequest(mode="socket_mode", body=req.payload, headers=build_headers(req))
        try:
            response = self.app.dispatch(request)
        except Exception:  # Bolt answers listener errors itself; this is a bug in the adapter
            log.exception("socket mode: dispatch failed for %s", req.type)
            response = BoltResponse(status=500, body="")
        # Counted before the acknowledgement goes out, as over HTTP: whoever saw the answer
        # can find its log line.
        self.metrics.observe(req.payload, response.status, time.perf_counter() - started)
        socket_client.send_socket_mode_response(acknowledgement(req.envelope_id, response))

    def close(self) -> None:
        """Stop taking envelopes and close the connection (Slack sends new ones elsewhere)."""
        self.client.close()

    stop = close  # the sandbox stops its bot the same way over HTTP and Socket Mode


def acknowledgement(envelope_id: str, response: BoltResponse) -> SocketModeResponse:
    """What goes back on the socket: the payload an HTTP answer's body would carry.

    Only a 200 has a payload, as Bolt's own handler does; anything else is acknowledged
    empty, because an envelope left unacknowledged makes Slack show the person a timeout
    (the reason, if any, was already sent to them by the error handler).
    """
    if response.status != 200 or not response.body:
        return SocketModeResponse(envelope_id=envelope_id)
    content_type = (response.headers.get("content-type") or [""])[0]
    if content_type.startswith("application/json"):
        return SocketModeResponse(envelope_id=envelope_id, payload=json.loads(response.body))
    return SocketModeResponse(envelope_id=envelope_id, payload={"text": response.body})


def serve(
    settings: Settings, runtime: Runtime, *, on_ready: Callable[[], None] | None = None
) -> None:
    """`mlops-bot socket`: connect, then take envelopes until Ctrl-C or SIGTERM.

    A token Slack refuses raises `AppTokenRefused` before anything else happens (no retry:
    a restart loop cannot fix a wrong token, and the one line says what to change). Once
    connected, a lost connection is re-opened by the client on its own. With METRICS_PORT
    the operator's address serves /metrics and /healthz as it does beside `web`; nothing
    else listens.
    """
    from bot.web import Server, WebApp

    app = create_app(settings, runtime)
    web = WebApp(app, runtime)  # only for its metrics and operator endpoints
    front = SocketModeFrontDoor(app, settings.slack_app_token or "", web.metrics)
    stop = threading.Event()
    # A Slack incident at start must not become a crash loop: wait for Slack with backoff,
    # one log line (a refused token still ends at once: AppTokenRefused is not retried).
    opening = SlackStatus(
        front.connect, doing="opening the Socket Mode connection", token_name="SLACK_APP_TOKEN"
    )
    signal.signal(signal.SIGTERM, lambda *_: (stop.set(), opening.stop()))
    opening.run()
    if stop.is_set():
        return
    operator = None
    if settings.metrics_port is not None:
        operator = Server(web.operator, host=settings.metrics_host, port=settings.metrics_port)
        operator.start()
        log.info("metrics on http://%s:%s/metrics", settings.metrics_host, operator.port)
    try:
        if on_ready is not None:
            on_ready()
        while not stop.wait(3600):
            pass
    finally:
        front.close()
        if operator is not None:
            operator.stop()
