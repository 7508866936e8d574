"""HTTP front door: Slack's requests on POST /slack/events, health on GET /healthz.

Served by waitress, a production-grade threaded WSGI server in pure Python: it runs the
same way under `mlops-bot web`, inside `mlops-bot run` next to the scheduler, and in tests,
so what we test is what users run.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Iterable
from urllib.parse import parse_qsl

from prometheus_client import CONTENT_TYPE_LATEST
from slack_bolt import App, BoltContext, BoltRequest, BoltResponse
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_bolt.adapter.wsgi.http_request import WsgiHttpRequest
from slack_bolt.request.internals import build_context
from slack_sdk.signature import SignatureVerifier
from sqlalchemy.exc import SQLAlchemyError
from waitress import wasyncore
from waitress.server import create_server

from bot.app import Runtime
from bot.db import database_ok
from bot.observability import Metrics, worker_tick_age

log = logging.getLogger(__name__)

SLACK_PATH = "/slack/events"


class _SlackHandler(SlackRequestHandler):
    """Bolt's WSGI adapter, except that a body it cannot parse gets a 4xx, not a 500.

    Bolt parses the body before it checks the signature, so garbage raises inside Bolt.
    Here garbage with a valid signature gets 400 and anything unsigned gets 401, as Bolt
    would answer for a parseable body.
    """

    def __init__(self, app: App, signing_secret: str, path: str, metrics: Metrics):
        super().__init__(app, path=path)
        self.verifier = SignatureVerifier(signing_secret)
        self.metrics = metrics

    def dispatch(self, request: WsgiHttpRequest) -> BoltResponse:
        headers = request.get_headers()
        try:
            body = request.get_body()
        except UnicodeDecodeError:  # Slack only sends UTF-8, so this was never signed by it
            return BoltResponse(status=400, body="")
        try:
            bolt_request = BoltRequest(body=body, query=request.query_string, headers=headers)
        except ValueError:  # a body that claims to be JSON but is not
            signed = self.verifier.is_valid(
                body=body,
                timestamp=str(headers.get("x-slack-request-timestamp", "")),
                signature=str(headers.get("x-slack-signature", "")),
            )
            log.info("unparseable request body (%s signature)", "valid" if signed else "invalid")
            return BoltResponse(status=400 if signed else 401, body="")
        _fix_form_body(bolt_request)
        started = time.perf_counter()
        response = self.app.dispatch(bolt_request)
        if response.status != 401:  # unsigned noise is not a Slack request worth a line
            self.metrics.observe(bolt_request.body, response.status, time.perf_counter() - started)
        return response


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


class WebApp:
    """A WSGI application: Bolt for Slack's path, our own small endpoints beside it."""

    def __init__(self, app: App, runtime: Runtime):
        self.metrics = Metrics(runtime.engine)
        self.slack = _SlackHandler(
            app, runtime.settings.slack_signing_secret, SLACK_PATH, self.metrics
        )
        self.runtime = runtime

    def __call__(self, environ, start_response) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path == "/healthz":
            return self.healthz(start_response)
        if path == "/metrics" and environ.get("REQUEST_METHOD") == "GET":
            body = self.metrics.render()
            start_response(
                "200 OK",
                [("Content-Type", CONTENT_TYPE_LATEST), ("Content-Length", str(len(body)))],
            )
            return [body]
        return self.slack(environ, start_response)

    def healthz(self, start_response) -> Iterable[bytes]:
        ok = database_ok(self.runtime.engine)
        report = {"status": "ok" if ok else "unavailable", "database": ok}
        if ok:
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


class Server:
    """A waitress server that can run in the foreground or in a thread (for `run`, tests)."""

    def __init__(self, wsgi_app, host: str = "0.0.0.0", port: int = 3000, threads: int = 16):
        self._server = create_server(
            wsgi_app,
            host=host,
            port=port,
            threads=threads,
            ident="mlops-bot",
            clear_untrusted_proxy_headers=True,
        )
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()

    @property
    def port(self) -> int:
        return self._server.effective_port

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def serve_forever(self) -> None:
        log.info("listening on port %s (POST %s, GET /healthz)", self.port, SLACK_PATH)
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
            self._server.close()
            return
        self._stopping.set()
        self._thread.join(timeout=10)
