"""The wire: a ThreadingHTTPServer that turns requests into calls on the stand-in.

Routes ``/api/<method>`` (the Web API), ``/response/<id>`` (response URLs) and
``/upload/<file_id>`` (the upload step of files_upload_v2). Everything about Slack's
behaviour lives in the stand-in; this module only parses what arrives (JSON, form or
multipart bodies, the Bearer token) and writes back what the stand-in answers.
"""

from __future__ import annotations

import contextlib
import email.parser
import email.policy
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol
from urllib.parse import parse_qs, unquote, urlsplit

# Fields Slack accepts as JSON strings inside form bodies; decoded so tests see structures.
JSON_STRING_FIELDS = ("blocks", "view", "metadata", "attachments")

Answer = tuple[int, bytes, dict[str, str]]


class Endpoint(Protocol):
    """What the server needs from the stand-in: one answer per kind of URL."""

    def handle_api(
        self,
        method: str,
        args: dict[str, Any],
        headers: dict[str, str],
        http_method: str,
        parse_error: str | None,
    ) -> Answer: ...

    def handle_response_url(
        self, url_id: str, body: bytes, headers: dict[str, str]
    ) -> tuple[int, str, dict[str, str]]: ...

    def handle_upload(
        self, file_id: str, body: bytes, headers: dict[str, str]
    ) -> tuple[int, str]: ...


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


def bearer(headers: dict[str, str]) -> str | None:
    """The token of an ``Authorization: Bearer`` header, or None."""
    for name, value in headers.items():
        if name.lower() == "authorization" and value.startswith("Bearer "):
            return value[len("Bearer ") :].strip() or None
    return None


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    endpoint: Endpoint


class _Handler(BaseHTTPRequestHandler):
    """Routes /api/<method>, /response/<id> and /upload/<file_id> to the endpoint."""

    server: _Server

    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def log_message(self, format: str, *args: Any) -> None:
        """Silence per-request logging; the recorded calls are the log."""

    def _dispatch(self) -> None:
        endpoint = self.server.endpoint
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
            status, payload, extra = endpoint.handle_api(
                method, args, headers, self.command, parse_error
            )
            self._send(status, payload, "application/json; charset=utf-8", extra)
        elif parts.path.startswith("/response/"):
            url_id = unquote(parts.path[len("/response/") :])
            status, text, extra = endpoint.handle_response_url(url_id, body, headers)
            self._send(status, text.encode("utf-8"), "text/html", extra)
        elif parts.path.startswith("/upload/"):
            file_id = unquote(parts.path[len("/upload/") :])
            status, text = endpoint.handle_upload(file_id, body, headers)
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


class HttpServer:
    """Serves an endpoint on a free port of ``host`` in a daemon thread."""

    def __init__(self, endpoint: Endpoint, host: str) -> None:
        self._server = _Server((host, 0), _Handler)
        self._server.endpoint = endpoint
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"FakeSlack:{self.port}",
            daemon=True,
        )
        self._thread.start()

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def stop(self) -> None:
        """Stop serving and release the port."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
