"""The app factory: `create_app(settings)` builds the Bolt app and nothing happens at import.

It wires the configured Web API client (so GovSlack or a local stand-in works everywhere),
a session factory every listener reaches through `handlers.base.listener`, Events API
de-duplication, the one error handler, and `handlers.register(app, settings)`.
"""

from __future__ import annotations

import logging
import secrets
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from slack_bolt import App, BoltResponse
from slack_bolt.oauth.oauth_settings import OAuthSettings
from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
)
from sqlalchemy import Engine, insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

import handlers
from bot.config import Settings
from bot.db import make_engine, make_session_factory
from bot.installations import DatabaseOAuthStateStore, installation_store
from bot.models import ProcessedEvent
from bot.signing import RotatingRequestVerification, RotatingSignatureVerifier
from handlers.base import error_message

log = logging.getLogger(__name__)

LISTENER_THREADS = 32


@dataclass
class Runtime:
    """What a running process shares: settings, the engine and its session factory."""

    settings: Settings
    engine: Engine
    session_factory: sessionmaker[Session]

    @classmethod
    def from_settings(cls, settings: Settings, engine: Engine | None = None) -> Runtime:
        engine = engine or make_engine(settings.database_url)
        configure_default_model(settings)
        return cls(settings, engine, make_session_factory(engine))


def configure_default_model(settings: Settings) -> None:
    """The model of workspaces that installed none: CHECKLIST_FILE, else Google's."""
    from bot.domain import BUILTIN_MODELS, builtin_model, load_model
    from bot.services import maturity

    path = settings.checklist_file
    if path is None:
        maturity.configure_default(None)
    elif path in BUILTIN_MODELS:
        maturity.configure_default(builtin_model(path))
    else:
        maturity.configure_default(load_model(path))


def signature_verifier(settings: Settings) -> RotatingSignatureVerifier:
    """Checks Slack's signatures with the signing secret, and the previous one if set.

    Socket Mode has no signing secret (it builds the web app only for its operator
    endpoints): then a random one stands in, and no request carries a valid signature.
    """
    return RotatingSignatureVerifier(
        settings.slack_signing_secret or secrets.token_hex(32),
        settings.slack_signing_secret_previous,
    )


def make_web_client(settings: Settings, *, retry_rate_limits: bool = True) -> WebClient:
    """A Web API client on the configured base URL.

    Listeners may retry once on a 429 after acknowledging; the outbox sender passes
    `retry_rate_limits=False` because it reschedules instead of sleeping.
    """
    client = WebClient(token=settings.slack_bot_token or None)
    return configure_web_client(client, settings, retry_rate_limits=retry_rate_limits)


def configure_web_client(
    client: WebClient, settings: Settings, *, retry_rate_limits: bool = True
) -> WebClient:
    """Point `client` at the configured Web API, with our retries and timeout."""
    client.base_url = settings.slack_api_url
    client.retry_handlers = [ConnectionErrorRetryHandler(max_retry_count=2)]
    if retry_rate_limits:
        client.retry_handlers.append(RateLimitErrorRetryHandler(max_retry_count=1))
    client.timeout = 10
    return client


def oauth_settings(settings: Settings, runtime: Runtime) -> OAuthSettings | None:
    """Install into many workspaces: Slack's OAuth v2 flow with our own stores.

    None in single-token mode, which stays the simple default. The pages are
    GET /slack/install (the "Add to Slack" button) and GET /slack/oauth_redirect.
    """
    if not settings.oauth:
        return None
    return OAuthSettings(
        client_id=settings.slack_client_id,
        client_secret=settings.slack_client_secret,
        scopes=list(settings.slack_scopes),
        installation_store=installation_store(settings, runtime.session_factory),
        state_store=DatabaseOAuthStateStore(runtime.session_factory),
        install_path="/slack/install",
        redirect_uri_path="/slack/oauth_redirect",
    )


def create_app(settings: Settings, runtime: Runtime | None = None) -> App:
    """Build the Bolt app for `settings`; pass `runtime` to share an engine with others."""
    runtime = runtime or Runtime.from_settings(settings)
    app = App(
        # Bolt makes the client from the token, then we point it at SLACK_API_URL: handing
        # Bolt a client of our own makes it warn on every start that SLACK_BOT_TOKEN (which
        # it reads from the environment itself) is unused.
        token=settings.slack_bot_token or None,
        signing_secret=settings.slack_signing_secret,
        # No auth.test at start: a Slack incident must not stop the process (a crash loop).
        # Bolt checks the token on the first request instead; bot.slack_status reports on
        # /healthz whether Slack answers.
        token_verification_enabled=False,
        # Bolt's own RequestVerification, given a verifier that also accepts the previous
        # signing secret during a rotation (bot.signing); the flag only keeps Bolt from adding
        # a second copy, and this one sits where Bolt's would, before authorization.
        request_verification_enabled=False,
        before_authorize=RotatingRequestVerification(
            settings.slack_signing_secret, settings.slack_signing_secret_previous
        ),
        oauth_settings=oauth_settings(settings, runtime),
        name="mlops-maturity-bot",
        # Bolt's default of 5 workers makes acks queue behind the work done after them;
        # match the web server's threads so every request can ack at once.
        listener_executor=ThreadPoolExecutor(
            max_workers=LISTENER_THREADS, thread_name_prefix="listener"
        ),
    )
    # The same client object serves the OAuth flow and the installation-store authorize.
    configure_web_client(app.client, settings)

    @app.middleware
    def provide_runtime(context, next):  # noqa: A002 - Bolt passes `next` by name
        context["settings"] = settings
        context["session_factory"] = runtime.session_factory
        return next()

    @app.middleware
    def drop_event_retries(body, next):  # noqa: A002
        """Slack re-sends events it believes failed; handle each event_id once."""
        if body.get("type") != "event_callback" or not body.get("event_id"):
            return next()
        try:
            with runtime.session_factory.begin() as session:
                session.execute(
                    insert(ProcessedEvent).values(
                        event_id=str(body["event_id"])[:64],
                        workspace_id=str(body.get("team_id") or "")[:32],
                    )
                )
        except IntegrityError:
            log.info("event %s already handled; acknowledging the retry", body["event_id"])
            return BoltResponse(status=200, body="")
        return next()

    @app.error
    def on_error(error, body, respond, client, context, logger):
        """Errors outside a listener (middleware): the same reply a listener would give."""
        message = error_message(error, settings.slash_command)
        try:
            if respond is not None and body.get("response_url"):
                respond(text=message, response_type="ephemeral", replace_original=False)
            elif context.user_id and body.get("type") in ("block_actions", "view_submission"):
                # App Home and modals have no response URL: tell the person in their DM.
                client.chat_postMessage(channel=context.user_id, text=message)
        except Exception:  # the reply is a courtesy; the log has the cause
            logger.warning("could not send the error reply", exc_info=True)

    handlers.register(app, settings)
    return app
