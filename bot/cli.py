"""`mlops-bot`: one console script, one subcommand per process kind.

Configuration errors end the program with one line naming the variable and how to get it,
and exit status 2; nobody setting the bot up should have to read a traceback.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.error import URLError

from slack_bolt.error import BoltError
from sqlalchemy.exc import SQLAlchemyError

from bot.config import ConfigError, Settings, load_settings, redact_url
from bot.migrate import SchemaBehind

if TYPE_CHECKING:
    from bot.app import Runtime

log = logging.getLogger("mlops-bot")


def _configure_logging(
    level: str, log_format: str = "text", settings: Settings | None = None
) -> None:
    """Configure the root handlers, and put the secret redaction on them: every subcommand
    comes through here before it logs anything, at any level."""
    from bot.redaction import install, secrets_in

    logging.basicConfig(
        level=getattr(logging, level, logging.INFO),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if log_format == "json":  # one JSON object per line, for log pipelines
        from bot.logs import JsonFormatter

        for handler in logging.getLogger().handlers:
            handler.setFormatter(JsonFormatter())
    known = secrets_in(os.environ)
    if settings is not None:  # values from .env too, by the same names
        known += secrets_in(
            {
                field.name.upper(): value
                for field in dataclasses.fields(settings)
                if isinstance(value := getattr(settings, field.name), str)
            }
        )
    install(known)


def _settings(args: argparse.Namespace, **kwargs) -> Settings:
    settings = load_settings(**kwargs)
    _configure_logging(settings.log_level, settings.log_format, settings)
    return settings


def _existing_database(settings: Settings) -> Runtime:
    """The runtime of an operator tool that reads what is there (export, outbox, workspace).

    SQLite creates a missing file on first connect, so a mistyped path would quietly give
    an empty database (and an empty export); these tools say so instead.
    """
    from bot.app import Runtime
    from bot.db import sqlite_file

    path = sqlite_file(settings.database_url)
    if path is not None and not path.is_file():
        raise ConfigError(
            f"DATABASE_URL names {path}, which does not exist (in {Path.cwd()}): a wrong "
            "path? `mlops-bot migrate` creates a new database."
        )
    return Runtime.from_settings(settings)


def cmd_migrate(args: argparse.Namespace) -> int:
    from bot.migrate import upgrade

    settings = _settings(args, require_slack=False)
    upgrade(settings.database_url, token_encryption_keys=settings.token_encryption_keys)
    done = f"database at {redact_url(settings.database_url)} is at the latest schema"
    if settings.log_format == "json":  # a release phase's log is all JSON, this line too
        log.info(done)
    else:
        print(done)
    return 0


def _require_current_schema(settings: Settings) -> None:
    """Refuse to serve or work on a database that is not migrated to this version.

    Otherwise every person would hear "I can't reach my database" while the database is
    fine. A database that does not answer yet is left to the process's own retries.
    """
    from sqlalchemy.exc import SQLAlchemyError

    from bot.db import make_engine
    from bot.migrate import schema_is_current

    engine = make_engine(settings.database_url)
    try:
        current = schema_is_current(engine)
    except SQLAlchemyError:
        return
    finally:
        engine.dispose()
    if not current:
        raise SchemaBehind()


def cmd_web(args: argparse.Namespace) -> int:
    settings = _settings(args)
    _require_current_schema(settings)
    port = args.port or settings.port
    workers = args.workers or int(os.environ.get("WEB_CONCURRENCY") or 1)
    if workers > 1:
        # before anything imports prometheus_client (bot.web does): multiprocess metrics
        from bot.multiprocess import GunicornServer

        GunicornServer(settings, args.host, port, workers, args.threads).run()
        return 0
    from bot.web import Server, build_web_app

    Server(
        build_web_app(settings),
        host=args.host,
        port=port,
        threads=args.threads,
        operator_host=settings.metrics_host,
        operator_port=settings.metrics_port,
    ).serve_forever()
    return 0


def cmd_socket(args: argparse.Namespace) -> int:
    from bot import socket_mode
    from bot.app import Runtime

    settings = _settings(args, require_app_token=True, require_signing_secret=False)
    _require_current_schema(settings)
    socket_mode.serve(
        settings,
        Runtime.from_settings(settings),
        on_ready=lambda: print("connected to Slack over Socket Mode; Ctrl-C stops it.", flush=True),
    )
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    from bot.app import Runtime
    from bot.worker import run_forever

    settings = _settings(args, require_signing_secret=False)  # it sends, never receives
    _require_current_schema(settings)
    run_forever(Runtime.from_settings(settings), drain_only=args.drain_only)
    return 0


def cmd_sandbox(args: argparse.Namespace) -> int:
    from bot.sandbox.server import serve

    _configure_logging(load_settings(require_slack=False).log_level)
    return serve(
        host=args.host,
        port=args.port,
        demo=args.demo,
        database_url=args.database,
        socket_mode=args.socket_mode,
    )


def _sandbox_reason(settings: Settings) -> str:
    """Why `run` started the sandbox: the credentials are unset, or still placeholders."""
    names = "SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET"
    if {"SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET"} & settings.placeholders:
        why = f"{names} are still the placeholders of .env.example"
    else:
        why = f"{names} are not set"
    return f"{why}, so this is the sandbox (set them, see .env.example, to connect to Slack)."


def cmd_run(args: argparse.Namespace) -> int:
    from bot.migrate import upgrade
    from bot.web import Server, build_web_app
    from bot.worker import start_background

    loose = load_settings(require_slack=False)
    if args.socket_mode and loose.slack_bot_token:
        return _run_socket_mode(args)
    if not loose.slack_bot_token and not loose.slack_signing_secret:
        # Nobody should need a Slack workspace to try the bot: without credentials, `run`
        # (and so `make run`) starts the sandbox, which plays Slack's part in the browser.
        from bot.sandbox.server import DEFAULT_DATABASE_URL, serve

        _configure_logging(loose.log_level)
        return serve(
            host="127.0.0.1" if args.host == "0.0.0.0" else args.host,
            port=loose.port if args.port is None else args.port,
            demo=True,
            database_url=DEFAULT_DATABASE_URL,
            socket_mode=args.socket_mode,
            reason=_sandbox_reason(loose),
        )
    settings = _settings(args)
    upgrade(settings.database_url, token_encryption_keys=settings.token_encryption_keys)
    wsgi = build_web_app(settings)
    scheduler = start_background(wsgi.runtime)
    server = Server(
        wsgi,
        host=args.host,
        port=args.port or settings.port,
        operator_host=settings.metrics_host,
        operator_port=settings.metrics_port,
    )
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print(
        f"MLOps maturity bot on http://localhost:{server.port}/slack/events "
        f"(database {redact_url(settings.database_url)}); Ctrl-C stops it.",
        flush=True,  # before the server answers anything, even with stdout on a pipe
    )
    try:
        server.serve_forever()
    finally:
        scheduler.shutdown(wait=False)
    return 0


def _run_socket_mode(args: argparse.Namespace) -> int:
    """`run --socket-mode`: migrate, the worker on background threads, Socket Mode in front."""
    from bot import socket_mode
    from bot.app import Runtime
    from bot.migrate import upgrade
    from bot.worker import start_background

    settings = _settings(args, require_app_token=True, require_signing_secret=False)
    upgrade(settings.database_url)
    runtime = Runtime.from_settings(settings)
    scheduler = start_background(runtime)

    def ready() -> None:
        print(
            "MLOps maturity bot connected to Slack over Socket Mode, with its worker "
            f"(database {redact_url(settings.database_url)}); Ctrl-C stops it.",
            flush=True,
        )

    try:
        socket_mode.serve(settings, runtime, on_ready=ready)
    finally:
        scheduler.shutdown(wait=False)
    return 0


def cmd_jobs_due(args: argparse.Namespace) -> int:
    """Enqueue what is due at --at and drain once: for operators and tests."""
    from datetime import UTC, datetime

    from bot.app import Runtime
    from bot.worker import tick

    try:
        at = datetime.fromisoformat(args.at)
    except ValueError:
        print(
            f"mlops-bot: --at must be an ISO time such as 2026-11-30T09:00Z, got {args.at!r}",
            file=sys.stderr,
        )
        return 2
    at = at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)
    settings = _settings(args, require_signing_secret=False)
    counts = tick(Runtime.from_settings(settings), at)
    print(f"due at {at:%Y-%m-%d %H:%M} UTC: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    return 0


def cmd_outbox(args: argparse.Namespace) -> int:
    """Counts by state and the latest failures; `retry KEY` sends a failed one again."""
    from bot.db import session_scope
    from bot.outbox import retry_key, summary

    settings = _settings(args, require_slack=False)
    runtime = _existing_database(settings)
    with session_scope(runtime.session_factory) as session:
        if args.action == "retry":
            if not args.key:
                print(
                    "mlops-bot: outbox retry needs a KEY (see `mlops-bot outbox`)", file=sys.stderr
                )
                return 2
            try:
                print(retry_key(session, args.key))
            except (LookupError, ValueError) as error:
                print(f"mlops-bot: {error.args[0]}", file=sys.stderr)
                return 1
            return 0
        counts, failures = summary(session)
    print("outbox: " + ", ".join(f"{state} {n}" for state, n in counts.items()))
    if failures:
        print("latest failures:")
    for row in failures:
        print(f"  {row.state:6} {row.idempotency_key}  attempts {row.attempts}: {row.last_error}")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    """The heatmap pages and the trend as files in a folder, with progress on stderr; needs
    only the database, like export."""
    from sqlalchemy.exc import SQLAlchemyError

    from bot.db import read_only, session_scope
    from bot.models import Workspace, utcnow
    from bot.pictures.heatmap import heatmap_pages, page_count
    from bot.services import pictures as picture_service
    from messages import plural

    settings = _settings(args, require_slack=False)
    runtime = _existing_database(settings)
    output = Path(args.output)
    try:
        output.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        print(f"mlops-bot: could not create {output}: {error.strerror}", file=sys.stderr)
        return 1
    written = []

    def write(name: str, data: bytes) -> None:
        path = output / name
        path.write_bytes(data)
        written.append(path)

    try:
        with session_scope(runtime.session_factory) as session:
            read_only(session)
            if session.get(Workspace, args.workspace) is None:
                print(f"mlops-bot: no workspace {args.workspace} in the database", file=sys.stderr)
                return 1
            rows = picture_service.heatmap_rows(session, args.workspace)
            pages = page_count(len(rows))
            print(
                f"{plural(len(rows), 'team')}: {plural(pages, 'heatmap page')} and the trend",
                file=sys.stderr,
            )
            checklist = picture_service.model(session, args.workspace)
            pages_drawn = heatmap_pages(rows, checklist, fmt=args.format)
            for number, page in enumerate(pages_drawn, start=1):
                write(page.picture.filename, page.picture.data)
                print(f"[{number}/{pages + 1}] wrote {written[-1]}", file=sys.stderr)
            trend = picture_service.trend_picture(
                session, args.workspace, utcnow(), fmt=args.format
            )
            write(trend.filename, trend.data)
            print(f"[{pages + 1}/{pages + 1}] wrote {written[-1]}", file=sys.stderr)
    except SQLAlchemyError as error:
        print(
            f"mlops-bot: could not read {redact_url(settings.database_url)} "
            f"({type(error).__name__}); is it migrated (`mlops-bot migrate`)?",
            file=sys.stderr,
        )
        return 1
    except OSError as error:
        print(f"mlops-bot: could not write to {output}: {error.strerror}", file=sys.stderr)
        return 1
    finally:
        runtime.engine.dispose()
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    """Answers and level history of one workspace (or team) as CSV or JSON; needs only the
    database, so an operator can take the data out without any Slack credentials."""
    from sqlalchemy.exc import SQLAlchemyError

    from bot.db import read_only, session_scope
    from bot.models import Workspace
    from bot.services import export as export_service
    from bot.services.teams import find_team
    from messages import plural

    settings = _settings(args, require_slack=False)
    runtime = _existing_database(settings)
    try:
        with session_scope(runtime.session_factory) as session:
            read_only(session)
            if session.get(Workspace, args.workspace) is None:
                print(f"mlops-bot: no workspace {args.workspace} in the database", file=sys.stderr)
                return 1
            team = None
            if args.team is not None:
                team = find_team(session, args.workspace, args.team)
                if team is None:
                    print(
                        f"mlops-bot: workspace {args.workspace} has no team called {args.team!r}",
                        file=sys.stderr,
                    )
                    return 1
            data = export_service.collect(session, args.workspace, team, notes=not args.no_notes)
    except SQLAlchemyError as error:
        print(
            f"mlops-bot: could not read {redact_url(settings.database_url)} "
            f"({type(error).__name__}); is it migrated (`mlops-bot migrate`)?",
            file=sys.stderr,
        )
        return 1
    finally:
        runtime.engine.dispose()
    if args.format == "json":
        payload = export_service.to_json(data).encode("utf-8")
    else:
        text = export_service.to_csv(data)
        # A file gets the byte order mark Excel needs; a pipe gets plain UTF-8.
        payload = export_service.encode_csv(text) if args.output else text.encode("utf-8")
    if args.output:
        try:
            with open(args.output, "wb") as handle:
                handle.write(payload)
        except OSError as error:
            print(f"mlops-bot: could not write {args.output}: {error.strerror}", file=sys.stderr)
            return 1
    else:
        sys.stdout.buffer.write(payload)
        sys.stdout.buffer.flush()
    summary = (
        f"{plural(len(data.answers), 'answer')} and "
        f"{plural(len(data.level_changes), 'level change')}"
    )
    if data.empty:
        print(f"mlops-bot: nothing to export yet ({summary})", file=sys.stderr)
    elif args.output:
        print(f"wrote {summary} to {args.output}", file=sys.stderr)
    return 0


def cmd_workspace_purge(args: argparse.Namespace) -> int:
    """Delete every row of one workspace now (an uninstalled one goes after the retention)."""
    from bot.db import session_scope
    from bot.services import workspaces

    settings = _settings(args, require_slack=False)
    runtime = _existing_database(settings)
    try:
        with session_scope(runtime.session_factory) as session:
            deleted = workspaces.purge(session, args.team_id)
    finally:
        runtime.engine.dispose()
    if not any(deleted.values()):
        print(f"mlops-bot: no data for workspace {args.team_id}", file=sys.stderr)
        return 1
    print(
        f"purged workspace {args.team_id}: "
        + ", ".join(f"{table} {count}" for table, count in deleted.items() if count)
    )
    return 0


def cmd_workspace_list(args: argparse.Namespace) -> int:
    """The workspaces the database knows: id, name, teams, since when, installed or not."""
    from bot.db import read_only, session_scope
    from bot.services import workspaces

    settings = _settings(args, require_slack=False)
    runtime = _existing_database(settings)
    try:
        with session_scope(runtime.session_factory) as session:
            read_only(session)
            rows = workspaces.summaries(session)
    finally:
        runtime.engine.dispose()
    if not rows:
        print(
            f"mlops-bot: no workspaces in {redact_url(settings.database_url)} yet (one appears "
            "when it first uses the bot)",
            file=sys.stderr,
        )
        return 0
    table = [("WORKSPACE", "NAME", "TEAMS", "ASSESSED", "FIRST SEEN", "STATE")]
    for row in rows:
        state = f"uninstalled {row.uninstalled_at:%Y-%m-%d}" if row.uninstalled_at else "installed"
        table.append(
            (
                row.id,
                row.name or "-",
                str(row.teams),
                str(row.assessed),
                f"{row.first_seen:%Y-%m-%d}",
                state,
            )
        )
    widths = [max(len(line[i]) for line in table) for i in range(len(table[0]))]
    for line in table:
        print("  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip())
    return 0


def cmd_model_validate(args: argparse.Namespace) -> int:
    """Check a model file: every mistake on its own line, naming the line and the field."""
    from bot.domain import ModelFileError, load_model

    try:
        model = load_model(args.file)
    except ModelFileError as error:
        for problem in error.problems:
            print(problem, file=sys.stderr)
        count = len(error.problems)
        print(
            f"mlops-bot: {args.file} has {count} mistake{'s' if count != 1 else ''}",
            file=sys.stderr,
        )
        return 1
    print(
        f"{args.file}: {model.title} ({model.name}, version {model.version}) is valid: "
        f"{len(model.level_names)} levels (L0 to L{model.top_level}), "
        f"{len(model.capabilities)} capabilities, {len(model.steps)} steps"
    )
    return 0


def _model_session(args: argparse.Namespace):
    from bot.db import session_scope

    settings = _settings(args, require_slack=False)
    runtime = _existing_database(settings)
    _require_current_schema(settings)
    return runtime, session_scope(runtime.session_factory)


def cmd_model_install(args: argparse.Namespace) -> int:
    """Install a built-in model or a model file in a workspace (and optionally make it primary)."""
    from bot.domain import ModelFileError
    from bot.errors import UserError
    from bot.services import maturity

    try:
        model, source, source_format = maturity.resolve_source(args.model)
    except ModelFileError as error:
        for problem in error.problems:
            print(problem, file=sys.stderr)
        print(f"mlops-bot: nothing installed; fix {args.model} first", file=sys.stderr)
        return 1
    runtime, scope = _model_session(args)
    try:
        with scope as session:
            try:
                row, replaced = maturity.install(
                    session, args.workspace, model, source, source_format=source_format
                )
                switch = (
                    maturity.use(session, args.workspace, model.name, "cli") if args.use else None
                )
            except UserError as error:
                session.rollback()
                print(f"mlops-bot: {error}", file=sys.stderr)
                return 1
            names = [
                r.name + (" (primary)" if r.is_primary else "")
                for r in maturity.installed(session, args.workspace)
            ]
    finally:
        runtime.engine.dispose()
    verb = "updated to" if replaced else "installed:"
    print(f"{args.workspace}: {verb} {model.title} ({model.name}, version {model.version})")
    if switch is not None and switch.changed:
        moved = len(switch.changed)
        print(
            f"{moved} {'team has' if moved == 1 else 'teams have'} a different level in it "
            "(recorded as a model change, not announced)"
        )
    print("models: " + ", ".join(names))
    return 0


def cmd_model_list(args: argparse.Namespace) -> int:
    """The models installed in a workspace, the primary first."""
    from bot.db import read_only
    from bot.services import maturity

    runtime, scope = _model_session(args)
    try:
        with scope as session:
            read_only(session)
            rows = maturity.installed(session, args.workspace)
            models = maturity.for_workspace(session, args.workspace)
            lines = [
                f"{m.name}\t{m.version}\t{'primary' if m is models.primary else 'also shown'}"
                f"\t{m.title}"
                for m in models.all
            ]
    finally:
        runtime.engine.dispose()
    if not rows:
        print(f"{args.workspace}: no model installed; it uses the default:", file=sys.stderr)
    print("\n".join(lines))
    return 0


def cmd_model_remove(args: argparse.Namespace) -> int:
    """Remove an installed model that is not the primary one; answers stay."""
    from bot.errors import UserError
    from bot.services import maturity

    runtime, scope = _model_session(args)
    try:
        with scope as session:
            try:
                maturity.remove(session, args.workspace, args.name)
            except UserError as error:
                session.rollback()
                print(f"mlops-bot: {error}", file=sys.stderr)
                return 1
    finally:
        runtime.engine.dispose()
    print(f"{args.workspace}: removed {args.name}; every answer is kept")
    return 0


def cmd_person_forget(args: argparse.Namespace) -> int:
    """Remove one person's id (and names) from a workspace's data, on their request."""
    import re

    from bot.app import Runtime
    from bot.db import session_scope
    from bot.models import Workspace
    from bot.services import privacy

    if not re.fullmatch(r"[UW][A-Z0-9]{1,31}", args.user):
        print(
            f"mlops-bot: --user must be a Slack user id such as U0456EFGH, got {args.user!r}",
            file=sys.stderr,
        )
        return 2
    settings = _settings(args, require_slack=False)
    runtime = Runtime.from_settings(settings)
    try:
        with session_scope(runtime.session_factory) as session:
            if session.get(Workspace, args.workspace) is None:
                print(f"mlops-bot: no workspace {args.workspace} in the database", file=sys.stderr)
                return 1
            changed = privacy.forget(session, args.workspace, args.user, args.name or ())
    finally:
        runtime.engine.dispose()
    if not changed:
        print(f"forgot {args.user} in workspace {args.workspace}: nothing to change")
    else:
        print(
            f"forgot {args.user} in workspace {args.workspace}: "
            + ", ".join(f"{table} {count}" for table, count in changed.items())
        )
    return 0


def _progress(label: str):
    """A `done/total` counter on stderr: rewritten in place on a terminal, a line per step
    in a log, so a long run shows it is moving either way."""
    tty = sys.stderr.isatty()

    def show(done: int, total: int) -> None:
        prefix = "\r" if tty else ""
        end = "" if tty and done < total else "\n"
        print(f"{prefix}{label}: {done}/{total}", end=end, file=sys.stderr, flush=True)

    return show


def cmd_secrets_generate_key(args: argparse.Namespace) -> int:
    """Print a new key for TOKEN_ENCRYPTION_KEYS (nothing is stored)."""
    from bot.crypto import generate_key

    print(generate_key())
    return 0


def cmd_secrets_rotate(args: argparse.Namespace) -> int:
    """Re-encrypt every stored bot token with the first key of TOKEN_ENCRYPTION_KEYS."""
    from bot.app import Runtime
    from bot.crypto import KEYS_VARIABLE, TokenCipher
    from bot.installations import rotate_tokens
    from messages import plural

    settings = _settings(args, require_slack=False)
    if not settings.token_encryption_keys:
        raise ConfigError(
            f"{KEYS_VARIABLE} is not set: list the new key first, then the old ones "
            "(make a key with `mlops-bot secrets generate-key`)."
        )
    runtime = Runtime.from_settings(settings)
    try:
        result = rotate_tokens(
            runtime.session_factory,
            TokenCipher(settings.token_encryption_keys),
            progress=_progress("re-encrypting bot tokens"),
        )
    finally:
        runtime.engine.dispose()
    print(
        f"{plural(result.rotated, 'token')} re-encrypted with the first key, "
        f"{result.current} already current, of {plural(result.total, 'installation')}"
    )
    if result.unreadable:
        one = len(result.unreadable) == 1
        print(
            f"mlops-bot: {plural(len(result.unreadable), 'token')} "
            f"{'opens' if one else 'open'} with none of the keys and "
            f"{'was left as it is' if one else 'were left as they are'} "
            f"({', '.join(result.unreadable)}): add the key {'it was' if one else 'they were'} "
            f"encrypted with to {KEYS_VARIABLE} and run this again, or reinstall there",
            file=sys.stderr,
        )
        return 1
    if len(settings.token_encryption_keys) > 1:
        print(f"every token now opens with the first key: the others can leave {KEYS_VARIABLE}")
    return 0


def _one_line(error: Exception) -> str:
    text = " ".join(str(error).split()) or type(error).__name__
    if isinstance(error, URLError):
        text = f"Slack's Web API is not reachable ({error.reason}); check SLACK_API_URL"
    elif "invalid_auth" in text or "not_authed" in text or "token_revoked" in text:
        text += " (check SLACK_BOT_TOKEN)"
    return text


def cmd_evidence_refresh(args: argparse.Namespace) -> int:
    """Read teams' MLflow servers and repositories now, showing progress line by line."""
    import time

    from bot.evidence import refresh
    from messages import plural

    settings = _settings(args, require_slack=False)
    runtime = _existing_database(settings)
    started = time.monotonic()

    def progress(done: int, total: int, outcome) -> None:
        result = {"read": "read", "unchanged": "unchanged (same head)", "error": "FAILED"}
        line = (
            f"[{done}] {outcome.team} {outcome.kind.value} {outcome.url}: "
            f"{result[outcome.result]} in {outcome.seconds:.1f} s"
        )
        if outcome.detail:
            line += f": {outcome.detail}"
        print(line, flush=True)

    try:
        result = refresh.refresh(
            runtime.session_factory,
            settings,
            force=True,
            workspace_id=args.workspace,
            team_name=args.team,
            concurrency=args.concurrency,
            progress=progress,
        )
    finally:
        runtime.engine.dispose()
    counts = result.as_counts()
    if not result.outcomes:
        where = f" of {args.team!r}" if args.team else ""
        where += f" in {args.workspace}" if args.workspace else ""
        print(f"mlops-bot: no connected sources{where} to refresh", file=sys.stderr)
        return 0
    print(
        f"{plural(len(result.outcomes), 'source')} in {time.monotonic() - started:.1f} s: "
        f"{counts['read']} read, {counts['unchanged']} unchanged, {counts['error']} failed"
    )
    return 1 if counts["error"] else 0


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
        if name == "run":
            sub.add_argument(
                "--socket-mode",
                action="store_true",
                help="take Slack's requests over Socket Mode (SLACK_APP_TOKEN), not HTTP",
            )
        if name == "web":
            sub.add_argument("--threads", type=int, default=16, help="threads per process (16)")
            sub.add_argument(
                "--workers",
                type=int,
                default=None,
                help="processes (default: WEB_CONCURRENCY or 1); more than 1 runs gunicorn",
            )
    sandbox = add(
        "sandbox",
        cmd_sandbox,
        "Try the bot without Slack: the real bot, a local stand-in for Slack and a web page.",
    )
    sandbox.add_argument("--demo", action="store_true", help="seed a demo organisation")
    sandbox.add_argument("--host", default="127.0.0.1", help="address of the page (127.0.0.1)")
    sandbox.add_argument("--port", type=int, default=3000, help="port of the page (3000)")
    sandbox.add_argument(
        "--socket-mode",
        action="store_true",
        help="the bot takes the stand-in's requests over Socket Mode instead of HTTP",
    )
    sandbox.add_argument(
        "--database",
        default="sqlite:///mlops-sandbox.db",
        help="the sandbox's own database (sqlite:///mlops-sandbox.db); never DATABASE_URL",
    )
    add("socket", cmd_socket, "Serve Slack's requests over Socket Mode (needs SLACK_APP_TOKEN).")
    worker = add(
        "worker",
        cmd_worker,
        "Run the scheduler tick and drain the outbox (one is enough; overlaps are harmless).",
    )
    worker.add_argument(
        "--drain-only",
        action="store_true",
        help="only send the outbox (extra workers for capacity; run one without it to tick)",
    )
    add("migrate", cmd_migrate, "Upgrade the database to the latest schema (alembic upgrade head).")

    def group(name: str, help_text: str, metavar: str = "ACTION"):
        """`mlops-bot NAME ACTION ...`; bare `mlops-bot NAME` prints the group's help."""
        parent = add(name, lambda a: (parent.print_help(), 2)[1], help_text)
        actions = parent.add_subparsers(dest=f"{name}_command", metavar=metavar)

        def action(action_name: str, func, help_text: str, description: str | None = None):
            sub = actions.add_parser(action_name, help=help_text, description=description)
            sub.set_defaults(func=func)
            return sub

        return action

    def workspace_argument(sub: argparse.ArgumentParser) -> None:
        sub.add_argument("--workspace", required=True, help="the Slack team id, e.g. T0123ABCD")

    jobs = group("jobs", "Operator tools for the scheduler.", metavar="JOBS_COMMAND")
    due = jobs(
        "due",
        cmd_jobs_due,
        "Enqueue what is due at a moment and drain the outbox once.",
        "Enqueue the digests, nudges and reminders due at --at and send them now.",
    )
    due.add_argument("--at", required=True, help="ISO time, e.g. 2026-11-30T09:00Z (UTC if bare)")
    outbox = add(
        "outbox",
        cmd_outbox,
        "Show outbox counts by state and the latest failures; `outbox retry KEY` resends one.",
    )
    outbox.add_argument("action", nargs="?", choices=["retry"], help="retry a failed delivery")
    outbox.add_argument("key", nargs="?", help="the idempotency key to retry")
    export = add(
        "export",
        cmd_export,
        "Write a workspace's answers and level history as CSV or JSON (DATABASE_URL only).",
    )
    workspace_argument(export)
    export.add_argument("--format", choices=["csv", "json"], default="csv", help="csv (default)")
    export.add_argument("--team", metavar="NAME", help="only this team (any case)")
    export.add_argument("--output", metavar="FILE", help="write to FILE instead of stdout")
    export.add_argument(
        "--no-notes",
        action="store_true",
        help="leave answer notes out (for a file to pass on; see EXPORT_PERMISSION)",
    )
    report = add(
        "report",
        cmd_report,
        "Write the maturity heatmap (a file per 50 teams) and the trend as pictures to a folder.",
    )
    workspace_argument(report)
    report.add_argument("--output", required=True, metavar="DIR", help="the folder to write to")
    report.add_argument("--format", choices=["png", "svg"], default="png", help="png (default)")
    workspace = group("workspace", "Operator tools for workspaces.")
    purge = workspace(
        "purge",
        cmd_workspace_purge,
        "Delete all of one workspace's data now (DATABASE_URL only).",
        "Delete every team, answer, assessment, delivery and installation of a "
        "workspace. Uninstalled workspaces are purged on their own after DATA_RETENTION_DAYS.",
    )
    purge.add_argument("team_id", help="the Slack team id, e.g. T0123ABCD")
    workspace(
        "list",
        cmd_workspace_list,
        "Show the workspaces the database knows (DATABASE_URL only).",
        "Every workspace in the database: its Slack team id (what export and "
        "purge take), name, teams, teams with a level, first seen, installed or not.",
    )
    model = group(
        "model",
        "Maturity models: check a model file, install one in a workspace (docs/model-file.md).",
    )
    validate = model(
        "validate",
        cmd_model_validate,
        "Check a model file (YAML or JSON) and print every mistake.",
        "Check a model file: each mistake on its own line, naming the line and the "
        "field. Exit status 1 when there is any. Needs no database.",
    )
    validate.add_argument("file", help="the model file, e.g. acme.yaml")
    install = model(
        "install",
        cmd_model_install,
        "Install a model in a workspace: a built-in (google, microsoft) or a file.",
        "Install a model in a workspace (DATABASE_URL only). The first model "
        "installed is added beside the default, which stays primary; --use makes the new one "
        "primary. Installing a model of the same name again updates it to the new version.",
    )
    workspace_argument(install)
    install.add_argument("model", help="google, microsoft, or a model file's path")
    install.add_argument("--use", action="store_true", help="make it the primary model")
    listing_models = model(
        "list",
        cmd_model_list,
        "The models a workspace uses, the primary first (DATABASE_URL only).",
    )
    listing_models.add_argument("--workspace", required=True, help="the Slack team id")
    remove = model(
        "remove", cmd_model_remove, "Remove an installed model that is not primary (answers stay)."
    )
    remove.add_argument("--workspace", required=True, help="the Slack team id")
    remove.add_argument("name", help="the model's name, e.g. microsoft")
    person = group("person", "Operator tools for one person's data.")
    forget = person(
        "forget",
        cmd_person_forget,
        "Remove one person's id and name from a workspace's data (DATABASE_URL only).",
        "On a person's request: replace their user id with a placeholder in the "
        "history, remove their mentions (and --name) from notes and team names, and delete "
        "their team ownerships, cached profile and messages addressed to them. Answers stay. "
        "See docs/data.md.",
    )
    workspace_argument(forget)
    forget.add_argument("--user", required=True, help="their Slack user id, e.g. U0456EFGH")
    forget.add_argument(
        "--name",
        action="append",
        metavar="NAME",
        help="a name of theirs to remove from free text too (repeatable; any case)",
    )
    evidence = group("evidence", "Operator tools for evidence.")
    evidence_refresh = evidence(
        "refresh",
        cmd_evidence_refresh,
        "Read teams' connected MLflow servers and repositories now (DATABASE_URL only).",
        "Read every connected source now (or one workspace's, or one team's), "
        "whether or not it is due, printing a line per source; exits 1 if any failed. The "
        "worker does this on its own: MLflow every 6 hours, repositories daily.",
    )
    evidence_refresh.add_argument("--workspace", metavar="T", help="only this Slack team id")
    evidence_refresh.add_argument("--team", metavar="NAME", help="only teams of this name")
    evidence_refresh.add_argument(
        "--concurrency", type=int, default=4, help="sources read at once (4)"
    )
    secrets_cmd = group("secrets", "Encryption keys of stored tokens.")
    secrets_cmd(
        "generate-key",
        cmd_secrets_generate_key,
        "Print a new key for TOKEN_ENCRYPTION_KEYS.",
        "Print a new random Fernet key. Put it first in TOKEN_ENCRYPTION_KEYS "
        "(comma-separated; the first encrypts, all decrypt), then run `secrets rotate`.",
    )
    secrets_cmd(
        "rotate",
        cmd_secrets_rotate,
        "Re-encrypt every stored bot token with the first key (DATABASE_URL only).",
        "Re-encrypt every stored bot token with the first key of "
        "TOKEN_ENCRYPTION_KEYS; afterwards the other keys can be removed. Safe to run again.",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except ConfigError as error:
        print(f"mlops-bot: configuration error: {error}", file=sys.stderr)
        return 2
    except SchemaBehind as error:
        print(f"mlops-bot: {error}", file=sys.stderr)
        return 2
    except SQLAlchemyError as error:
        # e.g. `migrate` on a database that does not exist: the driver's words, one line.
        from bot.db import describe_database_error

        print(
            f"mlops-bot: database error: {describe_database_error(error)} (check DATABASE_URL)",
            file=sys.stderr,
        )
        return 1
    except (BoltError, URLError, OSError) as error:
        # At start Bolt checks the token with auth.test: say what failed, in one line.
        print(f"mlops-bot: could not start: {_one_line(error)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0


if __name__ == "__main__":
    sys.exit(main())
