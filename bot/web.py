"""HTTP front door: Slack's requests on POST /slack/events, health on GET /healthz.

Served by waitress, a production-grade threaded WSGI server in pure Python: it runs the
same way under `mlops-bot web`, inside `mlops-bot run` next to the scheduler, and in tests,
so what we test is what users run.

The public port is open to the internet (Slack must reach it), so nothing there trusts the
caller: a body over MAX_REQUEST_BYTES is refused before anything reads it, a request that
stalls is dropped after HTTP_TIMEOUT, and /metrics is served only on the operator's own
address (METRICS_PORT) or to a caller with METRICS_TOKEN. docs/public-surface.md lists every
route and how it is protected.
"""

from __future__ import annotations

import hmac
import io
import json
import logging
import threading
import time
from collections.abc import Callable, Iterable
from urllib.parse import parse_qsl

from prometheus_client import CONTENT_TYPE_LATEST
from slack_bolt import App, BoltContext, BoltRequest, BoltResponse
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_bolt.adapter.wsgi.http_request import WsgiHttpRequest
from slack_bolt.request.internals import build_context
from slack_sdk.signature import SignatureVerifier
from sqlalchemy.exc import SQLAlchemyError
from waitress import wasyncore
from waitress.channel import HTTPChannel
from waitress.server import create_server
from waitress.task import ErrorTask
from waitress.utilities import RequestEntityTooLarge

from bot import payloads
from bot.app import Runtime, signature_verifier
from bot.config import Settings
from bot.db import database_ok
from bot.migrate import SCHEMA_BEHIND, schema_is_current
from bot.observability import Metrics, worker_tick_age
from bot.slack_status import SlackStatus

log = logging.getLogger(__name__)

SLACK_PATH = "/slack/events"


class _SlackHandler(SlackRequestHandler):
    """Bolt's WSGI adapter, except that a body it cannot parse gets a 4xx, not a 500.

    Bolt parses the body before it checks the signature, so garbage raises inside Bolt.
    Here garbage with a valid signature gets 400 and anything unsigned gets 401, as Bolt
    would answer for a parseable body.
    """

    def __init__(self, app: App, verifier: SignatureVerifier, path: str, metrics: Metrics):
        super().__init__(app, path=path)
        self.verifier = verifier
        self.metrics = metrics

    def dispatch(self, request: WsgiHttpRequest) -> BoltResponse:
        headers = request.get_headers()
        try:
            body = request.get_body()
        except UnicodeDecodeError:  # Slack only sends UTF-8, so this was never signed by it
            return BoltResponse(status=400, body="")
        try:
            parsed = payloads.parse(body, _content_type(headers))
            problem = payloads.problem(parsed)
        except ValueError:  # a body that claims to be JSON but is not
            problem = "the body is not what its format claims"
        if problem:
            return self._refuse(body, headers, problem)
        bolt_request = BoltRequest(body=body, query=request.query_string, headers=headers)
        _fix_form_body(bolt_request)
        started = time.perf_counter()
        response = self.app.dispatch(bolt_request)
        if response.status != 401:  # unsigned noise is not a Slack request worth a line
            self.metrics.observe(bolt_request.body, response.status, time.perf_counter() - started)
        return response

    def _refuse(self, body: str, headers: dict, problem: str) -> BoltResponse:
        """400 for a signed request Slack would never send, 401 for an unsigned one.

        Checked here because Bolt reads ids out of the body before it checks the signature,
        and listeners trust Slack's shapes: one line in the log, nothing dispatched.
        """
        signed = self.verifier.is_valid(
            body=body,
            timestamp=_header(headers, "x-slack-request-timestamp"),
            signature=_header(headers, "x-slack-signature"),
        )
        if not signed:
            log.info("refused an unsigned request with a malformed body")
            return BoltResponse(status=401, body="")
        log.warning("refused a signed request: %s", problem)
        return BoltResponse(status=400, body="")


def _header(headers: dict, name: str) -> str:
    value = headers.get(name, "")
    return str(value[0] if isinstance(value, list | tuple) and value else value or "")


def _content_type(headers: dict) -> str | None:
    value = _header(headers, "content-type")
    return value.split(";")[0] or None


def _fix_form_body(request: BoltRequest) -> None:
    """Re-parse a form body that Bolt mistook for an interactive payload.

    Bolt 1.30 looks for the substring "payload" anywhere in a form body and then expects a
    `payload=` field, so `/mlops assess payload` arrived as an empty request (a 404). A real
    interactive request has that field; anything else is a plain form.
    """
    raw = request.raw_body
    if request.body or not raw or raw.lstrip().startswith("{") or "payload" not in raw:
        return
    fields = dict(parse_qsl(raw, keep_blank_values=True))
    if "payload" not in fields:
        request.body = fields
        request.context = build_context(BoltContext({}), fields)


StartResponse = Callable[..., object]


def _plain(start_response: StartResponse, status: str, body: bytes = b"", headers=()) -> list:
    start_response(
        status,
        [("Content-Type", "text/plain"), ("Content-Length", str(len(body))), *headers],
    )
    return [body]


def _client(environ) -> str:
    return str(environ.get("REMOTE_ADDR") or "?")


class WebApp:
    """A WSGI application: Bolt for Slack's path, our own small endpoints beside it.

    Under gunicorn the operator's address is a second bind of the same app, told apart by
    the local port of the connection (never by the Host header, which the caller writes);
    under waitress it is a second listener that calls `operator` directly.
    """

    def __init__(self, app: App, runtime: Runtime, slack_status: SlackStatus | None = None):
        settings = runtime.settings
        self.metrics = Metrics(runtime.engine)
        self.slack = _SlackHandler(app, signature_verifier(settings), SLACK_PATH, self.metrics)
        self.runtime = runtime
        self.max_body = settings.max_request_bytes
        self.metrics_token = settings.metrics_token
        self.operator_port: int | None = None  # set by gunicorn's bind of METRICS_PORT
        self._schema_ok = False
        # Bolt logs every unsigned request at INFO with its whole body (up to the cap):
        # a stranger could fill the logs. We log 401s ourselves, rate-limited, without it.
        logging.getLogger("slack_bolt.RequestVerification").setLevel(logging.WARNING)
        self.slack_status = slack_status

    def __call__(self, environ, start_response) -> Iterable[bytes]:
        refused = self._read_body(environ, start_response)
        if refused is not None:
            return refused
        if self.operator_port is not None and _local_port(environ) == self.operator_port:
            return self.operator(environ, start_response)
        path = environ.get("PATH_INFO", "")
        if path == "/healthz":
            return self.healthz(start_response)
        if path == "/metrics":
            return self._public_metrics(environ, start_response)
        return self.slack(environ, self._watch_signature(environ, start_response))

    def operator(self, environ, start_response) -> Iterable[bytes]:
        """The operator's address: /metrics, and /healthz with the worker's tick age."""
        path = environ.get("PATH_INFO", "")
        if path == "/metrics" and environ.get("REQUEST_METHOD") in ("GET", "HEAD"):
            return self._metrics(start_response)
        if path == "/healthz":
            return self.healthz(start_response, detailed=True)
        return _plain(start_response, "404 Not Found")

    def _public_metrics(self, environ, start_response) -> Iterable[bytes]:
        """Closed on the public port unless METRICS_TOKEN is set and the caller sends it."""
        if not self.metrics_token:
            return _plain(start_response, "404 Not Found")
        sent = str(environ.get("HTTP_AUTHORIZATION", ""))
        expected = f"Bearer {self.metrics_token}"
        if not hmac.compare_digest(sent.encode(), expected.encode()):
            return _plain(
                start_response, "401 Unauthorized", headers=[("WWW-Authenticate", "Bearer")]
            )
        return self._metrics(start_response)

    def _metrics(self, start_response) -> Iterable[bytes]:
        body = self.metrics.render()
        start_response(
            "200 OK", [("Content-Type", CONTENT_TYPE_LATEST), ("Content-Length", str(len(body)))]
        )
        return [body]

    def _read_body(self, environ, start_response) -> Iterable[bytes] | None:
        """Read the body into memory only if it fits MAX_REQUEST_BYTES; else answer 413.

        A declared Content-Length is judged before a byte is read. A chunked body (gunicorn
        passes it through; waitress de-chunks it within its own limit) is read up to one
        byte past the limit. What fits replaces wsgi.input, so nothing after this reads
        from the socket again, and a client that stalls mid-body gets 408.
        """
        declared = str(environ.get("CONTENT_LENGTH") or "").strip()
        chunked = "chunked" in str(environ.get("HTTP_TRANSFER_ENCODING", "")).lower()
        if not declared and not chunked:
            return None
        if declared and not chunked:
            if not declared.isdigit():
                return _plain(start_response, "400 Bad Request")
            if int(declared) > self.max_body:
                return self.refuse_too_large(environ, start_response, int(declared))
        stream = environ["wsgi.input"]
        wanted = int(declared) if declared and not chunked else self.max_body + 1
        parts, size = [], 0
        try:
            while size < wanted:
                part = stream.read(min(65536, wanted - size))
                if not part:
                    break
                parts.append(part)
                size += len(part)
        except OSError:  # the socket's deadline passed: a client that stalled mid-body
            self.metrics.refused(
                "timeout", "dropped a request from %s that stalled mid-body", _client(environ)
            )
            return _plain(start_response, "408 Request Timeout", headers=[("Connection", "close")])
        if size > self.max_body:
            return self.refuse_too_large(environ, start_response, None)
        body = b"".join(parts)
        environ["wsgi.input"] = io.BytesIO(body)
        environ["CONTENT_LENGTH"] = str(len(body))
        environ.pop("HTTP_TRANSFER_ENCODING", None)
        return None

    def refuse_too_large(self, environ, start_response, declared: int | None) -> list:
        self.record_too_large(_client(environ), declared)
        return _plain(start_response, "413 Content Too Large", headers=[("Connection", "close")])

    def record_too_large(self, client: str, declared: int | None) -> None:
        self.metrics.refused(
            "too_large",
            "refused a request body from %s over MAX_REQUEST_BYTES=%s (%s)",
            client,
            self.max_body,
            f"Content-Length {declared}" if declared is not None else "chunked",
        )

    def _watch_signature(self, environ, start_response) -> StartResponse:
        """Count and log (rate-limited) what Bolt refuses with 401: an unsigned request, or
        Slack's own when SLACK_SIGNING_SECRET no longer matches the app's."""

        def watched(status: str, headers, exc_info=None):
            if status.startswith("401"):
                self.metrics.refused(
                    "signature",
                    "refused a request to %s from %s with 401: bad or missing Slack "
                    "signature (if Slack's own requests get this, SLACK_SIGNING_SECRET no "
                    "longer matches the app's signing secret)",
                    environ.get("PATH_INFO", ""),
                    _client(environ),
                )
            return start_response(status, headers, exc_info)

        return watched

    def healthz(self, start_response, *, detailed: bool = False) -> Iterable[bytes]:
        """Public: up or not, and whether the database answers. The operator's address
        adds the worker's tick age (how the deployment is doing is not the world's business)."""
        ok = database_ok(self.runtime.engine)
        report: dict[str, object] = {"status": "ok" if ok else "unavailable", "database": ok}
        if ok and not self._schema_current():
            ok = False
            report.update(status="unavailable", reason=SCHEMA_BEHIND)
        if self.slack_status is not None:
            # Still 200 while Slack fails: restarting us would not bring Slack back. Why it
            # fails (a refused token, say) is for the operator's address only.
            if ok and self.slack_status.failing:
                report["status"] = "degraded"
            if detailed:
                report["slack"] = self.slack_status.state
        if ok and detailed:
            try:
                report["worker_last_tick_age_seconds"] = worker_tick_age(self.runtime.engine)
            except SQLAlchemyError:  # e.g. not migrated yet: the database still answers
                report["worker_last_tick_age_seconds"] = None
        body = json.dumps(report).encode()
        status = "200 OK" if ok else "503 Service Unavailable"
        start_response(
            status,
            [("Content-Type", "application/json"), ("Content-Length", str(len(body)))],
        )
        return [body]

    def _schema_current(self) -> bool:
        """Checked until it is true once (a migration only ever moves the schema forward)."""
        if not self._schema_ok:
            try:
                self._schema_ok = schema_is_current(self.runtime.engine)
            except SQLAlchemyError:
                return True  # the database stopped answering: database_ok says so next time
        return self._schema_ok


def _local_port(environ) -> int | None:
    """The port this connection arrived on, from the socket itself (gunicorn)."""
    sock = environ.get("gunicorn.socket")
    try:
        return int(sock.getsockname()[1]) if sock is not None else None
    except (OSError, AttributeError, IndexError, TypeError):
        return None


def build_web_app(settings: Settings, runtime: Runtime | None = None) -> WebApp:
    """The production web app: Bolt, our endpoints, and the background check of Slack.

    `web` and each gunicorn worker call this; the process serves even while Slack is
    unreachable, and /healthz says so.
    """
    from bot.app import create_app

    runtime = runtime or Runtime.from_settings(settings)
    app = create_app(settings, runtime)
    status = None if settings.oauth else SlackStatus(app.client.auth_test).start()
    return WebApp(app, runtime, status)


class _RefusalTask(ErrorTask):
    """waitress's own error answer, plus our log line and count for a body too large."""

    def execute(self) -> None:
        if isinstance(self.request.error, RequestEntityTooLarge):
            on_too_large = getattr(self.channel.server, "on_too_large", None)
            if on_too_large is not None:
                declared = self.request.content_length if not self.request.chunked else None
                on_too_large(str(self.channel.addr[0]) if self.channel.addr else "?", declared)
        super().execute()


class _Channel(HTTPChannel):
    error_task_class = _RefusalTask


class Server:
    """A waitress server that can run in the foreground or in a thread (for `run`, tests).

    With `operator_port` (METRICS_PORT) a second listener on `operator_host` serves the
    app's operator endpoints (/metrics, detailed /healthz) from the same threads.
    """

    def __init__(
        self,
        wsgi_app,
        host: str = "0.0.0.0",
        port: int = 3000,
        threads: int = 16,
        *,
        operator_host: str = "127.0.0.1",
        operator_port: int | None = None,
    ):
        settings: Settings | None = getattr(getattr(wsgi_app, "runtime", None), "settings", None)
        limits = server_limits(settings or Settings("", ""))
        self._server = create_server(
            wsgi_app,
            host=host,
            port=port,
            threads=threads,
            ident="mlops-bot",
            clear_untrusted_proxy_headers=True,
            **limits,
        )
        self._servers = [self._server]
        self.operator_server = None
        if operator_port is not None:
            self.operator_server = create_server(
                wsgi_app.operator,
                map=self._server._map,
                _dispatcher=self._server.task_dispatcher,
                host=operator_host,
                port=operator_port,
                ident="mlops-bot",
                clear_untrusted_proxy_headers=True,
                **limits,
            )
            self._servers.append(self.operator_server)
        for server in self._servers:
            # instance attributes: channels are made per connection, after this
            server.channel_class = _Channel
            server.on_too_large = getattr(wsgi_app, "record_too_large", None)
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()

    @property
    def operator_url(self) -> str | None:
        if self.operator_server is None:
            return None
        return f"http://127.0.0.1:{self.operator_server.effective_port}"

    @property
    def port(self) -> int:
        return self._server.effective_port

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def serve_forever(self) -> None:
        log.info("listening on port %s (POST %s, GET /healthz)", self.port, SLACK_PATH)
        if self.operator_server is not None:
            log.info(
                "metrics on http://%s:%s/metrics",
                self.operator_server.effective_host,
                self.operator_server.effective_port,
            )
        self._server.run()

    def start(self) -> Server:
        """Serve on a background thread until `stop()`."""
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._serve_until_stopped, name="web", daemon=True)
        self._thread.start()
        return self

    def _serve_until_stopped(self) -> None:
        # Poll in short rounds and close on this same thread: closing sockets from another
        # thread while select() waits on them fails with EBADF.
        server_map = self._server._map
        while not self._stopping.is_set():
            wasyncore.loop(timeout=0.05, map=server_map, count=1)
        self._server.task_dispatcher.shutdown()
        wasyncore.close_all(server_map)

    def stop(self) -> None:
        if self._thread is None:
            for server in self._servers:
                server.close()
            return
        self._stopping.set()
        self._thread.join(timeout=10)


def server_limits(settings: Settings) -> dict[str, int]:
    """waitress's own limits: the body cap (it refuses before calling us, for a declared
    length and a chunked body alike, spooling at most the cap to a temporary file), and how
    long a connection may sit idle or half-sent before it is closed."""
    return {
        # waitress refuses at >= its limit; ours refuses only over it
        "max_request_body_size": settings.max_request_bytes + 1,
        "max_request_header_size": 65536,
        "channel_timeout": settings.http_timeout,
        # how often idle channels are looked for: a fraction of the timeout
        "cleanup_interval": max(1, settings.http_timeout // 3),
    }
