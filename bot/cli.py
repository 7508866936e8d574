"""`mlops-bot`: one console script, one subcommand per process kind.

Configuration errors end the program with one line naming the variable and how to get it,
and exit status 2; nobody setting the bot up should have to read a traceback.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from collections.abc import Sequence
from urllib.error import URLError

from slack_bolt.error import BoltError

from bot.config import ConfigError, Settings, load_settings, redact_url

log = logging.getLogger("mlops-bot")


def _configure_logging(level: str) -> None:
    logging.basicConfig(
        level=getattr(logging, level, logging.INFO),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


def _settings(args: argparse.Namespace, **kwargs) -> Settings:
    settings = load_settings(**kwargs)
    _configure_logging(settings.log_level)
    return settings


def cmd_migrate(args: argparse.Namespace) -> int:
    from bot.migrate import upgrade

    settings = _settings(args, require_slack=False)
    upgrade(settings.database_url)
    print(f"database at {redact_url(settings.database_url)} is at the latest schema")
    return 0


def _web_app(settings: Settings):
    from bot.app import Runtime, create_app
    from bot.web import WebApp

    runtime = Runtime.from_settings(settings)
    return runtime, WebApp(create_app(settings, runtime), runtime)


def cmd_web(args: argparse.Namespace) -> int:
    from bot.web import Server

    settings = _settings(args)
    _runtime, wsgi = _web_app(settings)
    Server(
        wsgi, host=args.host, port=args.port or settings.port, threads=args.threads
    ).serve_forever()
    return 0


def cmd_socket(args: argparse.Namespace) -> int:
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    from bot.app import Runtime, create_app

    settings = _settings(args, require_app_token=True)
    runtime = Runtime.from_settings(settings)
    app = create_app(settings, runtime)
    SocketModeHandler(app, settings.slack_app_token).start()
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    from bot.app import Runtime
    from bot.worker import run_forever

    settings = _settings(args)
    run_forever(Runtime.from_settings(settings))
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from bot.migrate import upgrade
    from bot.web import Server
    from bot.worker import start_background

    settings = _settings(args)
    upgrade(settings.database_url)
    runtime, wsgi = _web_app(settings)
    scheduler = start_background(runtime)
    server = Server(wsgi, host=args.host, port=args.port or settings.port)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print(
        f"MLOps maturity bot on http://localhost:{server.port}/slack/events "
        f"(database {redact_url(settings.database_url)}); Ctrl-C stops it."
    )
    try:
        server.serve_forever()
    finally:
        scheduler.shutdown(wait=False)
    return 0


def _one_line(error: Exception) -> str:
    text = " ".join(str(error).split()) or type(error).__name__
    if isinstance(error, URLError):
        text = f"Slack's Web API is not reachable ({error.reason}); check SLACK_API_URL"
    elif "invalid_auth" in text or "not_authed" in text or "token_revoked" in text:
        text += " (check SLACK_BOT_TOKEN)"
    return text


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mlops-bot",
        description="The MLOps maturity bot for Slack. Configuration comes from the "
        "environment or a .env file (see .env.example).",
    )
    subs = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def add(name: str, func, help_text: str) -> argparse.ArgumentParser:
        sub = subs.add_parser(name, help=help_text, description=help_text)
        sub.set_defaults(func=func)
        return sub

    for name, func, text in [
        ("run", cmd_run, "Local all-in-one: migrate, serve Slack's requests and run the worker."),
        ("web", cmd_web, "Serve Slack's requests over HTTP (POST /slack/events, GET /healthz)."),
    ]:
        sub = add(name, func, text)
        sub.add_argument("--host", default="0.0.0.0", help="address to listen on (0.0.0.0)")
        sub.add_argument("--port", type=int, default=None, help="port (default: PORT or 3000)")
        if name == "web":
            sub.add_argument("--threads", type=int, default=16, help="worker threads (16)")
    add("socket", cmd_socket, "Serve Slack's requests over Socket Mode (needs SLACK_APP_TOKEN).")
    add("worker", cmd_worker, "Run the scheduler tick and drain the outbox (one per deployment).")
    add("migrate", cmd_migrate, "Upgrade the database to the latest schema (alembic upgrade head).")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except ConfigError as error:
        print(f"mlops-bot: configuration error: {error}", file=sys.stderr)
        return 2
    except (BoltError, URLError, OSError) as error:
        # At start Bolt checks the token with auth.test: say what failed, in one line.
        print(f"mlops-bot: could not start: {_one_line(error)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0


if __name__ == "__main__":
    sys.exit(main())
