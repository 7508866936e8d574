"""Where OAuth installations and one-time states live: our own tables, via our migrations.

slack_sdk ships SQLAlchemy stores, but they create their tables themselves (outside Alembic)
and need greenlet on SQLAlchemy 2.1; two small classes on our models keep one schema, one
migration history and both databases.

Bot tokens are stored encrypted (bot.crypto): the store encrypts on save and decrypts on
lookup, so nothing else ever sees the stored form, and a database backup holds no token.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from slack_sdk.oauth.installation_store import Bot, Installation, InstallationStore
from slack_sdk.oauth.state_store import OAuthStateStore
from sqlalchemy import delete, select
from sqlalchemy.orm import Session, sessionmaker

from bot.config import Settings
from bot.crypto import KEYS_VARIABLE, TokenCipher, TokenDecryptError, is_encrypted
from bot.models import Installation as InstallationRow
from bot.models import OAuthState, utcnow

log = logging.getLogger(__name__)


def _key(enterprise_id: str | None, team_id: str | None, is_enterprise_install: bool) -> str:
    return (enterprise_id if is_enterprise_install else team_id) or enterprise_id or ""


class DatabaseInstallationStore(InstallationStore):
    """One row per workspace (or org): the bot token Bolt authorizes each request with.

    Without a cipher (single-token mode, where nothing is installed) a save is refused
    rather than writing a token in plain text.
    """

    def __init__(self, session_factory: sessionmaker[Session], cipher: TokenCipher | None):
        self.session_factory = session_factory
        self.cipher = cipher

    @property
    def logger(self) -> logging.Logger:
        return log

    def save(self, installation: Installation) -> None:
        key = _key(
            installation.enterprise_id,
            installation.team_id,
            bool(installation.is_enterprise_install),
        )
        with self.session_factory.begin() as session:
            row = session.get(InstallationRow, key) or InstallationRow(key=key)
            row.enterprise_id = installation.enterprise_id
            row.team_id = installation.team_id
            row.team_name = installation.team_name
            row.is_enterprise_install = bool(installation.is_enterprise_install)
            row.app_id = installation.app_id
            row.bot_token = self._seal(installation.bot_token or "")
            row.bot_id = installation.bot_id
            row.bot_user_id = installation.bot_user_id
            row.bot_scopes = ",".join(installation.bot_scopes or [])
            row.installer_user_id = installation.user_id
            row.installed_at = utcnow()
            session.add(row)

    def save_bot(self, bot: Bot) -> None:  # only called for bots without an installation
        self.save(
            Installation(
                app_id=bot.app_id,
                enterprise_id=bot.enterprise_id,
                team_id=bot.team_id,
                bot_token=bot.bot_token,
                bot_id=bot.bot_id,
                bot_user_id=bot.bot_user_id,
                bot_scopes=bot.bot_scopes,
                user_id="",
                is_enterprise_install=bot.is_enterprise_install,
            )
        )

    def _seal(self, token: str) -> str:
        if not token:
            return ""
        if self.cipher is None:
            raise RuntimeError(f"{KEYS_VARIABLE} is not set: refusing to store a bot token")
        return self.cipher.encrypt(token)

    def _open(self, row: InstallationRow) -> str | None:
        """The row's token in clear, or None (and an error line) when no key opens it."""
        if not row.bot_token:
            return ""
        try:
            if self.cipher is None:
                raise TokenDecryptError(f"{KEYS_VARIABLE} is not set")
            return self.cipher.decrypt(row.bot_token)
        except TokenDecryptError as error:
            log.error(
                "the bot token of installation %s cannot be decrypted (%s): list the key it "
                "was encrypted with in %s, or reinstall the app there",
                row.key,
                error,
                KEYS_VARIABLE,
            )
            return None

    def bot_token(self, workspace_id: str) -> str | None:
        """The bot token of an installed workspace, for the worker's messages."""
        bot = self.find_bot(enterprise_id=None, team_id=workspace_id)
        return bot.bot_token if bot else None

    def _row(self, enterprise_id, team_id, is_enterprise_install) -> InstallationRow | None:
        with self.session_factory() as session:
            return session.get(
                InstallationRow, _key(enterprise_id, team_id, bool(is_enterprise_install))
            )

    def find_bot(self, *, enterprise_id, team_id, is_enterprise_install=False) -> Bot | None:
        installation = self.find_installation(
            enterprise_id=enterprise_id,
            team_id=team_id,
            is_enterprise_install=is_enterprise_install,
        )
        return installation.to_bot() if installation and installation.bot_token else None

    def find_installation(
        self, *, enterprise_id, team_id, user_id=None, is_enterprise_install=False
    ) -> Installation | None:
        row = self._row(enterprise_id, team_id, is_enterprise_install)
        if row is None:
            return None
        token = self._open(row)
        if token is None:
            return None
        return Installation(
            app_id=row.app_id,
            enterprise_id=row.enterprise_id,
            team_id=row.team_id,
            team_name=row.team_name,
            bot_token=token,
            bot_id=row.bot_id,
            bot_user_id=row.bot_user_id,
            bot_scopes=(row.bot_scopes or "").split(","),
            user_id=row.installer_user_id or "",
            is_enterprise_install=row.is_enterprise_install,
            installed_at=row.installed_at.timestamp(),
        )

    def delete_bot(self, *, enterprise_id, team_id) -> None:
        self.delete_installation(enterprise_id=enterprise_id, team_id=team_id)

    def delete_installation(self, *, enterprise_id, team_id, user_id=None) -> None:
        with self.session_factory.begin() as session:
            session.execute(
                delete(InstallationRow).where(
                    InstallationRow.key.in_([k for k in (team_id, enterprise_id) if k])
                )
            )

    def delete_all(self, *, enterprise_id, team_id) -> None:
        self.delete_installation(enterprise_id=enterprise_id, team_id=team_id)


class DatabaseOAuthStateStore(OAuthStateStore):
    """One-time states: issued for the install link, consumed once on the redirect."""

    def __init__(self, session_factory: sessionmaker[Session], expiration_seconds: int = 600):
        self.session_factory = session_factory
        self.expiration = timedelta(seconds=expiration_seconds)

    @property
    def logger(self) -> logging.Logger:
        return log

    def issue(self, *args, **kwargs) -> str:
        state = secrets.token_urlsafe(32)
        with self.session_factory.begin() as session:
            # Anyone on the internet may open the install page, and each visit stores a
            # state: expired ones go as new ones come, so they cannot pile up.
            session.execute(delete(OAuthState).where(OAuthState.expires_at <= utcnow()))
            session.add(OAuthState(state=state, expires_at=utcnow() + self.expiration))
        return state

    def consume(self, state: str) -> bool:
        with self.session_factory.begin() as session:
            row = session.scalar(select(OAuthState).where(OAuthState.state == state[:64]))
            if row is None:
                return False
            session.delete(row)
            return row.expires_at > utcnow()


def installation_store(
    settings: Settings, session_factory: sessionmaker[Session]
) -> DatabaseInstallationStore:
    """The store for `settings`: with a cipher whenever TOKEN_ENCRYPTION_KEYS is set."""
    keys = settings.token_encryption_keys
    return DatabaseInstallationStore(session_factory, TokenCipher(keys) if keys else None)


@dataclass
class Rotation:
    """What `secrets rotate` did: rows re-encrypted, already current, and ones no key opens."""

    total: int = 0
    rotated: int = 0
    current: int = 0
    unreadable: list[str] = field(default_factory=list)


def rotate_tokens(
    session_factory: sessionmaker[Session],
    cipher: TokenCipher,
    *,
    batch_size: int = 100,
    progress: Callable[[int, int], None] | None = None,
) -> Rotation:
    """Re-encrypt every stored token with the cipher's first key (and encrypt plain ones).

    One short transaction per batch, so a web process saving an installation meanwhile is
    never blocked for long; a row no key opens is left as it is and reported, never lost.
    Safe to run again: rows already under the first key are skipped.
    """
    with session_factory() as session:
        keys = list(session.scalars(select(InstallationRow.key).order_by(InstallationRow.key)))
    result = Rotation(total=len(keys))
    for start in range(0, len(keys), batch_size):
        batch = keys[start : start + batch_size]
        with session_factory.begin() as session:
            rows = session.scalars(
                select(InstallationRow).where(InstallationRow.key.in_(batch)).with_for_update()
            )
            for row in rows:
                if not row.bot_token or (
                    is_encrypted(row.bot_token) and cipher.is_current(row.bot_token)
                ):
                    result.current += 1
                    continue
                try:
                    row.bot_token = cipher.rotate(row.bot_token)
                except TokenDecryptError:
                    result.unreadable.append(row.key)
                    continue
                result.rotated += 1
        if progress is not None:
            progress(min(start + batch_size, len(keys)), len(keys))
    return result
