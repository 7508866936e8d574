"""The sandbox process: the real bot, its database and worker, the Slack stand-in and a page.

How the parts talk, all over real HTTP on the loopback interface:

    page (browser) --JSON--> Sandbox page server --signed Slack payloads--> bot /slack/events
    bot --Web API calls, response URLs--> FakeSlack (the same stand-in the tests use)
    page <--rendered Block Kit-- Sandbox page server <--state-- FakeSlack

The bot is built by the same `create_app` as in production, with signature checks on and a
signing secret generated at start, so nothing in it knows it is not talking to Slack. The
worker runs `bot.worker.tick` every few seconds at the sandbox clock's "now", so level-change
announcements arrive within seconds and a clock jump delivers what would be due then.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import secrets
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from bot.app import Runtime, create_app
from bot.config import Settings
from bot.evidence.refresh import refresh as read_due_sources
from bot.migrate import upgrade
from bot.observability import Metrics
from bot.sandbox import workspace
from bot.sandbox.blockkit import IMAGE_TYPES, Directory, render_message, render_view
from bot.sandbox.clock import SandboxClock
from bot.sandbox.demo_repos import demo_repos_dir
from bot.sandbox.lifecycle import Startable
from bot.sandbox.signed import BotAnswer, SlackSender
from bot.sandbox.slack_api import FakeSlack
from bot.sandbox.slack_api.limits import message_error, view_problems
from bot.web import SLACK_PATH, Server, WebApp
from messages import linkify

log = logging.getLogger(__name__)

DEFAULT_DATABASE_URL = "sqlite:///mlops-sandbox.db"
SLACKBOT = "USLACKBOT"
STATIC_FILES = {
    "/": ("index.html", "text/html; charset=utf-8"),
    "/static/app.js": ("app.js", "text/javascript; charset=utf-8"),
    "/static/style.css": ("style.css", "text/css; charset=utf-8"),
}
LONG_POLL_SECONDS = 20.0


def _ts(value: Any) -> Decimal:
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return Decimal(0)


class Sandbox(Startable):
    """Everything `mlops-bot sandbox` runs, startable and stoppable in-process (tests do)."""

    def __init__(
        self,
        *,
        database_url: str = DEFAULT_DATABASE_URL,
        host: str = "127.0.0.1",
        port: int = 3000,
        demo: bool = False,
        tick_seconds: float = 2.0,
        slash_command: str = "/mlops",
        socket_mode: bool = False,
    ) -> None:
        self.database_url = database_url
        self.host = host
        self.port = port
        self.demo = demo
        self.tick_seconds = tick_seconds
        self.slash_command = slash_command
        self.socket_mode = socket_mode
        self.clock = SandboxClock()
        self.seeded = False
        self._tick_lock = threading.Lock()
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []
        self._last_tick_error = ""

    # ------------------------------------------------------------------ lifecycle

    def start(self, before_serving: Callable[[Sandbox], None] | None = None) -> Sandbox:
        """Start everything; if any part fails, what was started is stopped again.

        `before_serving(self)` runs once every part is up but before the page answers, so
        whatever it prints (the address to open) is out before anyone can load the page.
        """
        # Bind the page's port first: a port in use should fail before anything is created.
        self.page_server = _PageServer((self.host, self.port), _PageHandler)
        self.page_server.sandbox = self
        try:
            self._start_parts()
        except BaseException:
            self.page_server.server_close()
            for part in ("bot_server", "socket", "slack"):
                if hasattr(self, part):
                    getattr(self, part).stop()
            raise
        if before_serving is not None:
            before_serving(self)
        self._spawn("sandbox-page", self.page_server.serve_forever, poll_interval=0.1)
        if self.tick_seconds > 0:
            self._spawn("sandbox-worker", self._work)
        return self

    def _start_parts(self) -> None:
        token = f"xoxb-sandbox-{secrets.token_hex(12)}"
        self.slack = FakeSlack(
            valid_tokens={token},
            team_id=workspace.TEAM_ID,
            team=workspace.TEAM_NAME,
            team_domain=workspace.TEAM_DOMAIN,
            bot_user_id=workspace.BOT_USER_ID,
            bot_id=workspace.BOT_ID,
            app_id=workspace.APP_ID,
            clock=lambda: self.clock.now().timestamp(),
        ).start()
        for person in workspace.PEOPLE:
            self.slack.add_user(
                person.id,
                name=person.name,
                real_name=person.real_name,
                display_name=person.real_name,
                is_admin=person.is_admin,
                tz=workspace.TIMEZONE,
                email=f"{person.name}@sandbox.example",
            )
        self.slack.add_user(
            workspace.BOT_USER_ID, name="mlops-bot", is_bot=True, tz=workspace.TIMEZONE
        )
        for channel in workspace.CHANNELS:
            self.slack.add_channel(channel.id, name=channel.name)

        app_token = f"xapp-sandbox-{secrets.token_hex(12)}" if self.socket_mode else None
        self.settings = Settings(
            slack_bot_token=token,
            slack_signing_secret="" if self.socket_mode else secrets.token_hex(16),
            slack_app_token=app_token,
            slack_api_url=self.slack.api_url,
            database_url=self.database_url,
            port=0,
            slash_command=self.slash_command,
            # the demo's repositories are local: file:// is allowed here and in tests only
            evidence_allow_file_urls=True,
        )
        upgrade(self.database_url)
        self.runtime = Runtime.from_settings(self.settings)
        self.clock.attach(self.runtime.engine)  # where the last run left it, if it ran before
        if self.demo:
            from bot.sandbox.demo import seed

            self.seeded = seed(
                self.runtime.session_factory,
                self.clock.now(),
                settings=self.settings,
                repos_dir=demo_repos_dir(self.database_url),
            )
        app = create_app(self.settings, self.runtime)
        if app_token:  # the bot opens a WebSocket to the stand-in, as to Slack
            from bot.sandbox.socket_mode import SocketModeServer, SocketSender
            from bot.socket_mode import SocketModeFrontDoor

            self.socket = SocketModeServer(self.slack, app_tokens={app_token}).start()
            self.bot_server = SocketModeFrontDoor(app, app_token, Metrics(self.runtime.engine))
            self.bot_server.connect()
            self.socket.wait_connected()
            self.sender: SlackSender = SocketSender(self.socket, self.slack)
            return
        self.bot_server = Server(WebApp(app, self.runtime), host="127.0.0.1", port=0).start()
        self.sender = SlackSender(
            self.bot_server.url, self.settings.slack_signing_secret, self.slack, SLACK_PATH
        )

    def _spawn(self, name: str, target, **kwargs: Any) -> None:
        thread = threading.Thread(target=target, kwargs=kwargs, name=name, daemon=True)
        thread.start()
        self._threads.append(thread)

    def stop(self) -> None:
        """Stop the page, the worker, the bot and the stand-in, in that order."""
        self._stopping.set()
        self.page_server.shutdown()
        self.page_server.server_close()
        for thread in self._threads:
            thread.join(timeout=10)
        self.bot_server.stop()
        if self.socket_mode:
            self.socket.stop()
        self.slack.stop()
        self.runtime.engine.dispose()

    @property
    def url(self) -> str:
        """The page's address to print and open (localhost rather than 127.0.0.1)."""
        host, port = self.page_server.server_address[:2]
        shown = "localhost" if host in ("127.0.0.1", "0.0.0.0") else host
        return f"http://{shown}:{port}/"

    # ------------------------------------------------------------------ the worker

    def tick(self, now: datetime | None = None) -> dict[str, int]:
        """Run the worker's tick at `now` (default: the sandbox clock), one at a time."""
        from bot.worker import tick

        with self._tick_lock:
            return tick(self.runtime, now or self.clock.now())

    def refresh_evidence(self) -> None:
        """Read the connected tools that are due (the demo's repositories, a Refresh asked
        for in the page), as the worker's evidence pass does; on real time, like the bot."""
        read_due_sources(self.runtime.session_factory, self.settings, concurrency=2)

    def _work(self) -> None:
        while not self._stopping.wait(self.tick_seconds):
            try:
                self.tick()
                self.refresh_evidence()
                self._last_tick_error = ""
            except Exception as error:  # keep ticking; say it once, not every two seconds
                if str(error) != self._last_tick_error:
                    log.exception("sandbox worker tick failed")
                self._last_tick_error = str(error)

    # ------------------------------------------------------------------ what the page sees

    def directory(self) -> Directory:
        """Names for the ids in messages, and who the user pickers offer (people only)."""
        people = {p.id: p.real_name for p in workspace.PEOPLE}
        users = {**people, workspace.BOT_USER_ID: "MLOps maturity bot", SLACKBOT: "Slackbot"}
        channels = {c.id: c.name for c in workspace.CHANNELS}
        return Directory(users=users, channels=channels, people=people)

    @staticmethod
    def usage() -> list[dict[str, str]]:
        """The subcommands, for the composer's hint as you type (Slack shows a usage hint).

        Read from the bot's own help table; if that ever moves, the page just shows no hint.
        """
        try:
            from handlers.commands import SUBCOMMANDS

            return [{"name": n, "args": a, "what": w} for n, a, w in SUBCOMMANDS]
        except (ImportError, ValueError, TypeError):
            return []

    def state(self, user: str, channel: str) -> dict[str, Any]:
        """Everything the page shows for `user` looking at `channel` (or the Home tab)."""
        directory = self.directory()
        dm = self.slack.dm_channel_id(user)
        with self.slack.lock:
            version = self.slack.version
            counts = {c.id: len(self.slack.messages.get(c.id, [])) for c in workspace.CHANNELS}
            counts[dm] = len(self.slack.messages.get(dm, []))
            public = [(m, False) for m in self.slack.messages.get(channel, [])]
            private = [(m, True) for m in self.slack.ephemeral.get((channel, user), [])]
            home = self.slack.home_views.get(user)
            modal = self.slack.top_view(user)
            home_html = render_view(home, directory) if home else None
            timeline = sorted(public + private, key=lambda pair: _ts(pair[0].get("ts")))
            messages = "".join(
                render_message(message, directory, ephemeral=ephemeral)
                for message, ephemeral in timeline
                if message.get("thread_ts") in (None, message.get("ts"))
            )
        now = self.clock.now()
        return {
            "version": version,
            "clock": {"iso": now.isoformat(), "label": now.strftime("%a %d %b %Y, %H:%M UTC")},
            "workspace": workspace.TEAM_NAME,
            "command": self.slash_command,
            "usage": self.usage(),
            "people": [
                {"id": p.id, "name": p.real_name, "title": p.title, "is_admin": p.is_admin}
                for p in workspace.PEOPLE
            ],
            "channels": [
                {"id": c.id, "name": c.name, "topic": c.topic} for c in workspace.CHANNELS
            ],
            "dm": dm,
            "counts": counts,
            "channel": channel,
            "messages": messages,
            "home": home_html,
            "modal": (
                {**render_view(modal, directory), "hash": modal.get("hash")} if modal else None
            ),
        }

    # ------------------------------------------------------------------ what the page does

    def _escape_mentions(self, text: str) -> str:
        """The command text as Slack sends it: `&`, `<`, `>` as entities, and (because our
        command has should_escape) `#ml-platform` and `@grace` as `<#C..|..>` and `<@U..|..>`."""
        text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        channels = {c.name: c.id for c in workspace.CHANNELS}
        people = {p.name: p.id for p in workspace.PEOPLE}

        def channel(match: re.Match[str]) -> str:
            name = match.group(1)
            return f"<#{channels[name]}|{name}>" if name in channels else match.group(0)

        def person(match: re.Match[str]) -> str:
            name = match.group(1)
            return f"<@{people[name]}|{name}>" if name in people else match.group(0)

        text = re.sub(r"(?<![\w<])#([a-z0-9_\-]+)", channel, text)
        return re.sub(r"(?<![\w<])@([a-z0-9_.\-]+)", person, text)

    def send_text(self, user: str, channel: str, text: str) -> dict[str, Any]:
        """The composer: a slash command goes to the bot; anything else is a plain message."""
        text = text.strip()
        if not text:
            return {"ok": True}
        if not text.startswith("/"):
            # As Slack's client sends a typed message: escaped, with @name, #channel and
            # URLs (also typed as <https://…|label>) made into mentions and links.
            self.slack.add_message(channel, linkify(self._escape_mentions(text)), user=user)
            return {"ok": True}
        command, _, rest = text.partition(" ")
        if command != self.slash_command:
            self.slack.add_ephemeral(
                channel,
                user,
                f"`{command}` is not a valid command. In the sandbox only "
                f"`{self.slash_command}` is installed.",
            )
            return {"ok": False}
        answer = self.sender.command(command, self._escape_mentions(rest.strip()), user, channel)
        self._show_ack(answer, channel, user, command)
        return {"ok": answer.status == 200}

    def _show_ack(self, answer: BotAnswer, channel: str, user: str, command: str) -> None:
        """Slack shows a failed command, or an answer it refuses, as an error from Slackbot;
        a good answer is shown by the sender, through the stand-in, like a post to the
        command's response URL."""
        if answer.status != 200:
            # Slack's words: a socket acknowledgement that never came, or an HTTP error
            error = "operation_timeout" if answer.status == 408 else "http_service_error"
            self.slack.add_ephemeral(
                channel, user, f'{command} failed with the error "{error}" ({answer.status})'
            )
            return
        message = answer.message()
        refused = message_error(message) if message else None
        if refused is not None:  # Slack would not show it either
            log.warning("the bot answered %s with a message Slack refuses: %s", command, refused)
            self.slack.add_ephemeral(
                channel, user, f'{command} failed with the error "{refused[0]}"'
            )

    def _find_message(self, channel: str, user: str, ts: str, ephemeral: bool) -> dict | None:
        with self.slack.lock:
            pool = (
                self.slack.ephemeral.get((channel, user), [])
                if ephemeral
                else self.slack.messages.get(channel, [])
            )
            for message in pool:
                if message.get("ts") == ts:
                    return json.loads(json.dumps(message))
        return None

    def act(self, user: str, data: dict[str, Any]) -> dict[str, Any]:
        """A click or a pick in a message, a modal or the Home tab."""
        action = data.get("action") or {}
        state = data.get("state") or {}
        if not isinstance(action, dict) or not action.get("type"):
            return {"ok": False, "error": "no action"}
        action = {k: v for k, v in action.items() if k not in ("confirm", "url")}
        view_id = data.get("view_id")
        if view_id:
            view = self.slack.views.get(str(view_id))
            if view is None:
                return {"ok": False, "error": "that view is gone"}
            answer = self.sender.view_action(user, json.loads(json.dumps(view)), action, state)
            return {"ok": answer.status == 200}
        channel, ts = str(data.get("channel") or ""), str(data.get("ts") or "")
        ephemeral = bool(data.get("ephemeral"))
        message = self._find_message(channel, user, ts, ephemeral)
        if message is None:
            return {"ok": False, "error": "that message is gone"}
        answer = self.sender.message_action(
            user, channel, message, action, ephemeral=ephemeral, state=state
        )
        return {"ok": answer.status == 200}

    def submit(self, user: str, view_id: str, state: dict[str, Any]) -> dict[str, Any]:
        """A modal's submit: close it, or do what the bot's `response_action` asks."""
        view = self.slack.views.get(view_id)
        if view is None:
            return {"ok": False, "error": "that view is gone"}
        answer = self.sender.view_submission(user, json.loads(json.dumps(view)), state)
        if answer.status != 200:
            return {"ok": False, "errors": {}, "error": f"the bot answered {answer.status}"}
        body = answer.json() or {}
        kind = body.get("response_action")
        if kind == "errors":
            return {"ok": False, "errors": body.get("errors") or {}}
        if kind in ("update", "push") and isinstance(body.get("view"), dict):
            problems = view_problems(body["view"])
            if problems:  # Slack keeps the modal and says it could not connect
                log.warning("the bot answered with a view Slack refuses: %s", problems)
                return {"ok": False, "errors": {}, "error": "the bot's view is invalid"}
            self.slack.answer_view(user, body["view"], push=kind == "push")
        else:
            self.slack.close_view(user, clear=kind == "clear")
        return {"ok": True}

    def close(self, user: str, view_id: str) -> dict[str, Any]:
        """Cancel or × on a modal; the bot hears `view_closed` only if it asked to."""
        view = self.slack.views.get(view_id)
        self.slack.close_view(user)
        if view is not None and view.get("notify_on_close"):
            self.sender.view_closed(user, json.loads(json.dumps(view)))
        return {"ok": True}

    def open_app(self, user: str, tab: str) -> dict[str, Any]:
        """Opening the app's Home or Messages tab sends `app_home_opened`, like Slack."""
        event: dict[str, Any] = {
            "type": "app_home_opened",
            "user": user,
            "channel": self.slack.dm_channel_id(user),
            "tab": "home" if tab == "home" else "messages",
        }
        home = self.slack.home_views.get(user)
        if home is not None and tab == "home":
            event["view"] = json.loads(json.dumps(home))
        answer = self.sender.event(event)
        return {"ok": answer.status == 200}

    def jump(self, data: dict[str, Any]) -> dict[str, Any]:
        """The clock control: move the clock, run the worker there, report what it did."""
        try:
            if data.get("at"):
                target = datetime.fromisoformat(str(data["at"]))
                if target.tzinfo is None:
                    target = target.replace(tzinfo=UTC)
            else:
                target = self.clock.preset(str(data.get("preset") or ""))
            now = self.clock.jump(target)
        except ValueError as error:  # not a time, or one in the past (ClockBackwards)
            return {"ok": False, "error": str(error)}
        try:
            counts = self.tick(now)
        except Exception as error:
            log.exception("worker tick at %s failed", now.isoformat())
            return {"ok": False, "error": f"the worker failed: {error}"}
        self.slack.touch()
        return {"ok": True, "now": now.isoformat(), "counts": counts}


class _PageServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    sandbox: Sandbox


class _PageHandler(BaseHTTPRequestHandler):
    """The page's files and its small JSON API (`/sandbox/...`)."""

    server: _PageServer

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the page polls, and every poll would be a log line."""

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        if parts.path in STATIC_FILES:
            name, content_type = STATIC_FILES[parts.path]
            body = resources.files("bot.sandbox").joinpath("static", name).read_bytes()
            self._send(200, body, content_type)
        elif parts.path == "/sandbox/state":
            query = {k: v[0] for k, v in parse_qs(parts.query).items()}
            sandbox = self.server.sandbox
            user = query.get("user") or workspace.PEOPLE[0].id
            since = query.get("since")
            if since is not None and since.lstrip("-").isdigit():
                sandbox.slack.wait_for_change(int(since), LONG_POLL_SECONDS)
            channel = query.get("channel") or sandbox.slack.dm_channel_id(user)
            self._json(sandbox.state(user, channel))
        elif parts.path.startswith("/sandbox/files/"):
            self._file(unquote(parts.path[len("/sandbox/files/") :]))
        elif parts.path == "/favicon.ico":
            self._send(204, b"", "image/x-icon")
        elif parts.path == "/healthz":
            self._json({"status": "ok"})
        else:
            self._send(404, b"not found", "text/plain")

    def do_POST(self) -> None:
        parts = urlsplit(self.path)
        # JSON only: a cross-site form or text/plain post cannot be made to act for anyone,
        # because a JSON post from another origin needs a CORS preflight we never grant.
        if self.headers.get_content_type() != "application/json":
            self._json({"ok": False, "error": "send application/json"}, status=415)
            return
        length = int(self.headers.get("Content-Length") or 0)
        try:
            data = json.loads(self.rfile.read(length) or b"{}")
            if not isinstance(data, dict):
                raise ValueError("expected a JSON object")
        except ValueError:
            self._json({"ok": False, "error": "bad JSON"}, status=400)
            return
        sandbox = self.server.sandbox
        user = str(data.get("user") or workspace.PEOPLE[0].id)
        routes = {
            "/sandbox/send": lambda: sandbox.send_text(
                user, str(data.get("channel") or ""), str(data.get("text") or "")
            ),
            "/sandbox/action": lambda: sandbox.act(user, data),
            "/sandbox/submit": lambda: sandbox.submit(
                user, str(data.get("view_id") or ""), data.get("state") or {}
            ),
            "/sandbox/close": lambda: sandbox.close(user, str(data.get("view_id") or "")),
            "/sandbox/open-app": lambda: sandbox.open_app(user, str(data.get("tab") or "home")),
            "/sandbox/clock": lambda: sandbox.jump(data),
        }
        route = routes.get(parts.path)
        if route is None:
            self._json({"ok": False, "error": "not found"}, status=404)
            return
        try:
            self._json(route())
        except OSError as error:  # the bot is not answering: say so on the page
            log.warning("the bot did not answer: %s", error)
            self._json({"ok": False, "error": f"the bot did not answer: {error}"}, status=502)

    def _file(self, file_id: str) -> None:
        """A file the bot uploaded, as a download (Slack would host it on files.slack.com)."""
        record = self.server.sandbox.slack.files.get(file_id)
        content = record and record.get("content")
        if not isinstance(content, bytes):
            self._send(404, b"no such file", "text/plain")
            return
        name = re.sub(r"[^A-Za-z0-9._-]", "_", str(record.get("name") or "file"))
        if record.get("filetype") in IMAGE_TYPES:  # shown inline, as Slack shows pictures
            kind = str(record.get("mimetype") or "image/png")
            self._send(
                200,
                content,
                kind,
                {"Content-Disposition": f'inline; filename="{name}"'},
            )
            return
        self._send(
            200,
            content,
            "application/octet-stream",
            {"Content-Disposition": f'attachment; filename="{name}"'},
        )

    def _json(self, data: Any, status: int = 200) -> None:
        self._send(status, json.dumps(data).encode(), "application/json; charset=utf-8")

    def _send(
        self, status: int, body: bytes, content_type: str, extra: dict[str, str] | None = None
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        for name, value in (extra or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        if content_type.startswith("text/html"):
            # Defence in depth behind the renderer's escaping: only our own script may run.
            self.send_header(
                "Content-Security-Policy",
                "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
                "img-src * data:; object-src 'none'; base-uri 'none'",
            )
        self.end_headers()
        # The page may have moved on (a long poll it aborted): nothing to tell anyone.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self.wfile.write(body)


def serve(
    *,
    host: str,
    port: int,
    demo: bool,
    database_url: str,
    reason: str = "",
    socket_mode: bool = False,
) -> int:
    """Run the sandbox in the foreground until Ctrl-C or SIGTERM (`mlops-bot sandbox`)."""
    import signal
    import sys

    def announce(sandbox: Sandbox) -> None:
        # Printed and flushed before the page is served: whoever sees the page (or stops us
        # once it answers) has this line, whatever stdout is.
        if reason:
            print(reason)
        seeded = " with the demo organisation" if sandbox.seeded else ""
        seeded += ", over Socket Mode" if socket_mode else ""
        print(
            f"MLOps maturity bot sandbox{seeded}: open {sandbox.url} in your browser.\n"
            f"The real bot, its SQLite database ({database_url.removeprefix('sqlite:///')}), "
            "the worker and a stand-in for Slack all run locally; no Slack account needed. "
            "Ctrl-C stops it.",
            flush=True,
        )

    # SIGTERM before the page is up must still stop cleanly: handle it from the start.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    sandbox = Sandbox(
        database_url=database_url, host=host, port=port, demo=demo, socket_mode=socket_mode
    )
    sandbox.start(before_serving=announce)
    try:
        threading.Event().wait()
    finally:
        sandbox.stop()
    return 0
