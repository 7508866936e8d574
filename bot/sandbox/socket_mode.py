"""Slack's Socket Mode, played locally: `apps.connections.open` and the WebSocket behind it.

In Socket Mode Slack does not call the app; the app calls Slack. It asks
`apps.connections.open` with its app-level token (`xapp-...`) for a one-time WebSocket URL,
connects, and Slack sends `{"type": "hello", ...}`. From then on every slash command, click,
modal submission and event arrives as an envelope::

    {"envelope_id": "...", "type": "slash_commands" | "interactive" | "events_api",
     "payload": {...the same body an HTTP request would carry...},
     "accepts_response_payload": true | false}

and the app acknowledges on the socket within 3 seconds with `{"envelope_id": "...",
"payload": {...}}`, where the payload is what an HTTP acknowledgement's body would be (a
command's reply, a modal's `response_action`). Slack refreshes connections from time to time:
it sends `{"type": "disconnect", "reason": "warning"}` some seconds before it closes one and
`{"type": "disconnect", "reason": "refresh_requested"}` when the app should reconnect now.
An event that is not acknowledged in time is sent again (with `retry_attempt`); a command or a
click that is not is an error the person sees.

`SocketModeServer` does all of that on 127.0.0.1 with the `websockets` library's threaded
server, beside a `FakeSlack` whose Web API gains `apps.connections.open`. Tests and the
sandbox hand it payloads (`send`), and read back the envelopes and acknowledgements
(`envelopes`), so what the app acknowledged is as visible as what it posted.
"""

from __future__ import annotations

import itertools
import json
import logging
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs, parse_qsl, urlsplit

from websockets.exceptions import ConnectionClosed
from websockets.sync.server import Server, ServerConnection, serve

from bot.sandbox.lifecycle import Startable
from bot.sandbox.signed import BotAnswer, SlackSender
from bot.sandbox.slack_api import FakeSlack

log = logging.getLogger(__name__)

DEFAULT_APP_TOKEN = "xapp-1-A0TEST-1-sandbox"
ACK_SECONDS = 3.0
# Slack retries an unacknowledged event three times (after about 0 s, 1 min and 5 min);
# the stand-in retries at once, so a test sees the whole sequence in seconds.
EVENT_RETRIES = 3
KINDS = ("slash_commands", "interactive", "events_api")


@dataclass
class Envelope:
    """One envelope sent to the app, and the acknowledgement it got (if it got one in time)."""

    envelope_id: str
    type: str
    payload: dict[str, Any]
    accepts_response_payload: bool
    retry_attempt: int | None = None
    retry_reason: str | None = None
    link_id: int | None = None
    sent_at: float = 0.0
    acked_at: float | None = None
    expired: bool = False  # the deadline passed without an acknowledgement
    late: bool = False  # an acknowledgement came, but after the deadline
    ack: dict[str, Any] | None = None
    _done: threading.Event = field(default_factory=threading.Event, repr=False)

    @property
    def acked(self) -> bool:
        """True when the app acknowledged within the deadline."""
        return self.ack is not None and not self.late

    @property
    def response(self) -> dict[str, Any] | None:
        """The acknowledgement's payload (a reply, a `response_action`), or None."""
        return (self.ack or {}).get("payload") if self.acked else None

    def message(self) -> dict[str, Any]:
        """The envelope as it goes over the socket, in Slack's field order."""
        message: dict[str, Any] = {
            "envelope_id": self.envelope_id,
            "payload": self.payload,
            "type": self.type,
            "accepts_response_payload": self.accepts_response_payload,
        }
        if self.type == "events_api":
            message["retry_attempt"] = self.retry_attempt or 0
            message["retry_reason"] = self.retry_reason or ""
        return message


@dataclass
class _Link:
    """One open WebSocket from the app."""

    id: int
    connection: ServerConnection
    app_id: str
    opened_at: float
    draining: bool = False  # a `disconnect` was sent: no new envelopes go here
    send_lock: threading.Lock = field(default_factory=threading.Lock)

    def send(self, message: dict[str, Any]) -> None:
        with self.send_lock:
            self.connection.send(json.dumps(message))


class SocketModeError(Exception):
    """The stand-in could not deliver an envelope (no app connected)."""


class SocketModeServer(Startable):
    """Socket Mode for one app, beside `slack`: start it, point the app at `slack.api_url`.

    `app_tokens` are the app-level tokens `apps.connections.open` accepts; anything else
    answers `invalid_auth`, a bot token `not_allowed_token_type`, as Slack does.
    """

    def __init__(
        self,
        slack: FakeSlack,
        *,
        app_tokens: set[str] | frozenset[str] | None = None,
        ack_seconds: float = ACK_SECONDS,
        connect_seconds: float = 10.0,
        event_retries: int = EVENT_RETRIES,
        host: str = "127.0.0.1",
    ) -> None:
        self.slack = slack
        self.app_tokens = set(app_tokens) if app_tokens is not None else {DEFAULT_APP_TOKEN}
        self.ack_seconds = ack_seconds
        self.connect_seconds = connect_seconds
        self.event_retries = event_retries
        self.host = host
        self._lock = threading.Condition()
        self._tickets: dict[str, str] = {}  # one-time ticket -> app id
        self._links: dict[int, _Link] = {}
        self._link_ids = itertools.count(1)
        self._pending: dict[str, Envelope] = {}
        self._envelopes: list[Envelope] = []
        self._server: Server | None = None
        self._thread: threading.Thread | None = None
        self._lose_acks = 0
        self.connections_opened = 0
        self.disconnects_sent: list[str] = []
        logging.getLogger("websockets.sandbox").setLevel(logging.WARNING)

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> SocketModeServer:
        """Listen on a free loopback port and register `apps.connections.open` (idempotent)."""
        if self._server is not None:
            return self
        self._server = serve(
            self._serve_link,
            self.host,
            0,
            process_request=self._check_ticket,
            compression=None,  # Slack's clients do not negotiate permessage-deflate
            close_timeout=1,
            logger=logging.getLogger("websockets.sandbox"),
        )
        self._thread = threading.Thread(
            target=self._server.serve_forever, name=f"SocketMode:{self.port}", daemon=True
        )
        self._thread.start()
        self.slack.add_app_method("apps.connections.open", self._connections_open, self.app_tokens)
        return self

    def stop(self) -> None:
        """Close every link and stop listening; safe to call twice."""
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is not None:
            server.shutdown()
        if thread is not None:
            thread.join(timeout=5)
        with self._lock:
            for envelope in self._pending.values():
                envelope._done.set()
            self._pending.clear()
            self._links.clear()
            self._lock.notify_all()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("SocketModeServer is not started")
        return int(self._server.socket.getsockname()[1])

    # ------------------------------------------------------------------ connecting

    def _connections_open(self, args: dict[str, Any], token: str) -> dict[str, Any]:
        """`apps.connections.open`: a one-time ws:// URL for this app."""
        ticket = secrets.token_hex(16)
        with self._lock:
            self._tickets[ticket] = self.slack.app_id
        return {
            "ok": True,
            "url": f"ws://{self.host}:{self.port}/link/?ticket={ticket}&app_id={self.slack.app_id}",
        }

    def _check_ticket(self, connection: ServerConnection, request) -> Any:
        """The handshake: a ticket from `apps.connections.open`, good once."""
        parts = urlsplit(request.path)
        ticket = (parse_qs(parts.query).get("ticket") or [""])[0]
        with self._lock:
            app_id = self._tickets.pop(ticket, None)
        if parts.path.rstrip("/") != "/link" or app_id is None:
            return connection.respond(HTTPStatus.UNAUTHORIZED, "invalid or used ticket\n")
        return None

    def _serve_link(self, connection: ServerConnection) -> None:
        """One connection: say hello, then read acknowledgements until it closes."""
        with self._lock:
            link = _Link(next(self._link_ids), connection, self.slack.app_id, time.monotonic())
        try:
            link.send(
                {
                    "type": "hello",
                    "num_connections": len(self._links) + 1,
                    "debug_info": {
                        "host": f"applink-sandbox-{link.id}",
                        "build_number": 1,
                        "approximate_connection_time": 18060,
                    },
                    "connection_info": {"app_id": link.app_id},
                }
            )
            with self._lock:
                self._links[link.id] = link
                self.connections_opened += 1
                self._lock.notify_all()
            for raw in connection:
                self._receive(link, raw)
        except ConnectionClosed:
            pass
        finally:
            with self._lock:
                self._links.pop(link.id, None)
                self._lock.notify_all()

    def _receive(self, link: _Link, raw: str | bytes) -> None:
        log.debug("socket mode: link %s received %.200s", link.id, raw)
        try:
            message = json.loads(raw)
        except ValueError:
            log.warning("socket mode: the app sent something that is not JSON: %.100r", raw)
            return
        envelope_id = message.get("envelope_id") if isinstance(message, dict) else None
        with self._lock:
            envelope = self._pending.pop(str(envelope_id), None) if envelope_id else None
            if envelope is None:
                log.warning("socket mode: acknowledgement of an unknown envelope %s", envelope_id)
                return
            if self._lose_acks:
                self._lose_acks -= 1
                link.draining = True
                threading.Thread(target=self._close_link, args=(link,), daemon=True).start()
                return
            envelope.ack = message
            envelope.acked_at = time.monotonic()
            envelope.late = envelope.expired or (
                envelope.acked_at - envelope.sent_at > self.ack_seconds
            )
            envelope._done.set()
            self._lock.notify_all()
        self.slack.touch()

    @property
    def connected(self) -> int:
        """How many links are open and taking envelopes."""
        with self._lock:
            return sum(1 for link in self._links.values() if not link.draining)

    def wait_connected(self, count: int = 1, timeout: float = 10.0) -> None:
        """Wait until at least `count` links take envelopes; AssertionError if they do not."""
        self._wait(
            lambda: self.connected >= count,
            lambda: f"{count} Socket Mode connection(s), have {self.connected}",
            timeout,
        )

    def wait_opened(self, count: int, timeout: float = 10.0) -> None:
        """Wait until the app has opened `count` connections in all (reconnects included)
        and one of them takes envelopes."""
        self._wait(
            lambda: self.connections_opened >= count and self.connected >= 1,
            lambda: f"{count} connections opened, saw {self.connections_opened}",
            timeout,
        )

    def _wait(self, done: Callable[[], bool], expected: Callable[[], str], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        with self._lock:
            while not done():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"expected {expected()} within {timeout}s")
                self._lock.wait(min(remaining, 0.1))

    # ------------------------------------------------------------------ refreshing

    def disconnect(self, reason: str = "refresh_requested", *, close_after: float = 5.0) -> int:
        """Send `disconnect` with `reason` on every open link, as Slack does before a refresh.

        With "refresh_requested" the app should reconnect now; the stand-in closes the old
        link when the app has or after `close_after` seconds. With "warning" the link keeps
        working (Slack closes it some seconds later, then sends "refresh_requested").
        Returns how many links were told.
        """
        with self._lock:
            links = [link for link in self._links.values() if not link.draining]
            if reason != "warning":
                for link in links:
                    link.draining = True
            self.disconnects_sent.append(reason)
        for link in links:
            try:
                link.send(
                    {
                        "type": "disconnect",
                        "reason": reason,
                        "debug_info": {"host": f"applink-sandbox-{link.id}"},
                    }
                )
            except ConnectionClosed:
                continue
            if reason != "warning":
                timer = threading.Timer(close_after, self._close_link, args=(link, 1000))
                timer.daemon = True
                timer.start()
        return len(links)

    def lose_next_ack(self) -> None:
        """The next acknowledgement never reaches "Slack": the link breaks as it arrives.

        This is the worst moment for a connection to fail: the app has done the work, Slack
        thinks it has not. Slack then shows the person an error (a command or a click) or
        sends the event again.
        """
        with self._lock:
            self._lose_acks += 1

    def drop(self) -> int:
        """Close every link without a `disconnect` first, as when Slack's side goes away
        (a close frame with 1011, not a refresh); returns how many links were open."""
        with self._lock:
            links = list(self._links.values())
            for link in links:
                link.draining = True
        for link in links:
            self._close_link(link)
        return len(links)

    @staticmethod
    def _close_link(link: _Link, code: int = 1011) -> None:
        link.connection.close(code=code)

    # ------------------------------------------------------------------ delivering

    @property
    def envelopes(self) -> list[Envelope]:
        """Every envelope sent so far, oldest first (retries included)."""
        with self._lock:
            return list(self._envelopes)

    def send(
        self,
        kind: str,
        payload: dict[str, Any],
        *,
        accepts_response_payload: bool | None = None,
    ) -> Envelope:
        """Send `payload` as an envelope of `kind` and wait for the acknowledgement.

        Returns the envelope, acknowledged or not (`.acked`, `.response`). An event that is
        not acknowledged in time is sent again up to `event_retries` times, like Slack does;
        the last attempt is returned. Raises SocketModeError if no app is connected within
        `connect_seconds`.
        """
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
        if accepts_response_payload is None:
            accepts_response_payload = _accepts_response_payload(kind, payload)
        attempts = 1 + (self.event_retries if kind == "events_api" else 0)
        envelope: Envelope | None = None
        for attempt in range(attempts):
            envelope = Envelope(
                envelope_id=_envelope_id(),
                type=kind,
                payload=payload,
                accepts_response_payload=accepts_response_payload,
                retry_attempt=attempt if kind == "events_api" else None,
                retry_reason=("timeout" if attempt else "") if kind == "events_api" else None,
            )
            self._deliver(envelope)
            if envelope.acked:
                break
        assert envelope is not None
        return envelope

    def _deliver(self, envelope: Envelope) -> None:
        link = self._pick_link()
        with self._lock:
            envelope.link_id = link.id
            envelope.sent_at = time.monotonic()
            self._pending[envelope.envelope_id] = envelope
            self._envelopes.append(envelope)
        try:
            link.send(envelope.message())
        except ConnectionClosed:
            log.info("socket mode: link %s closed while sending %s", link.id, envelope.type)
        envelope._done.wait(self.ack_seconds)
        with self._lock:
            # Past the deadline Slack has given up: a later acknowledgement counts as late.
            envelope.expired = envelope.ack is None
        self.slack.touch()

    def _pick_link(self) -> _Link:
        """The newest link not being refreshed; waits for a reconnect if there is none."""
        deadline = time.monotonic() + self.connect_seconds
        with self._lock:
            while True:
                ready = [link for link in self._links.values() if not link.draining]
                if ready:
                    return max(ready, key=lambda link: link.id)
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise SocketModeError(
                        "no app is connected over Socket Mode (is `mlops-bot socket` running?)"
                    )
                self._lock.wait(min(remaining, 0.1))


def _envelope_id() -> str:
    return f"{secrets.token_hex(4)}-{secrets.token_hex(2)}-{secrets.token_hex(6)}"


def _accepts_response_payload(kind: str, payload: dict[str, Any]) -> bool:
    """Where Slack reads a payload from the acknowledgement: commands and modal submissions
    (and options requests); clicks and events only need the acknowledgement itself."""
    if kind == "slash_commands":
        return True
    if kind == "interactive":
        return payload.get("type") in ("view_submission", "block_suggestion")
    return False


def envelope_for(body: bytes | str, content_type: str) -> tuple[str, dict[str, Any]]:
    """The envelope kind and payload Slack sends over Socket Mode for what it would POST.

    A form with a `payload` field is an interaction (its JSON), any other form a slash
    command (its fields), a JSON body an Events API callback.
    """
    raw = body.decode("utf-8") if isinstance(body, bytes) else body
    if content_type.startswith("application/json"):
        return "events_api", json.loads(raw)
    fields = dict(parse_qsl(raw, keep_blank_values=True))
    if "payload" in fields:
        return "interactive", json.loads(fields["payload"])
    return "slash_commands", fields


class SocketSender(SlackSender):
    """The sandbox's requests as envelopes on the bot's WebSocket instead of signed POSTs.

    The answer reads like an HTTP one: 200 and the acknowledgement's payload as the body,
    or 408 when the bot did not acknowledge in time (Slack then says `operation_timeout`).
    """

    def __init__(self, socket: SocketModeServer, slack: FakeSlack) -> None:
        super().__init__(slack.base_url, "unused-in-socket-mode", slack, "")  # nothing signed
        self.socket = socket

    def _post(self, body: bytes, content_type: str) -> BotAnswer:
        envelope = self.socket.send(*envelope_for(body, content_type))
        if not envelope.acked:
            return BotAnswer(408, "")
        return BotAnswer(200, json.dumps(envelope.response) if envelope.response else "")
