"""encrypt the bot tokens of installations at rest

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30 07:40:00

The column becomes Text (a Fernet token is about twice as long as the Slack token inside
it) and every plain-text token is encrypted with the first key of TOKEN_ENCRYPTION_KEYS.
The keys come from `bot.migrate.upgrade(..., token_encryption_keys=...)` (what
`mlops-bot migrate` passes from its settings), else from the environment and .env.

Without keys the upgrade refuses only if there are plain-text tokens to encrypt, so a
single-token deployment (which stores none) needs no key. The downgrade decrypts, because
the code of revision 0004 reads the column as plain text; it also needs the keys then.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import context, op

from bot.config import ConfigError, load_settings
from bot.crypto import KEYS_VARIABLE, TokenCipher, is_encrypted, parse_keys

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

installations = sa.table("installations", sa.column("key", sa.String), sa.column("bot_token"))


def _cipher(needed_for: str) -> TokenCipher:
    keys = context.config.attributes.get("token_encryption_keys")
    if keys is None:
        keys = load_settings(require_slack=False).token_encryption_keys
    if not keys:
        raise ConfigError(
            f"{KEYS_VARIABLE} is not set, but {needed_for}: set it (make a key with "
            "`mlops-bot secrets generate-key`) and run the migration again."
        )
    return TokenCipher(parse_keys(",".join(keys)))


def _rows(connection) -> list[tuple[str, str]]:
    return list(connection.execute(sa.select(installations.c.key, installations.c.bot_token)))


def upgrade() -> None:
    connection = op.get_bind()
    plain = [(key, token) for key, token in _rows(connection) if token and not is_encrypted(token)]
    # Fail before changing anything when there is something to encrypt and no key to do it.
    cipher = _cipher(f"{len(plain)} installation(s) hold a plain-text bot token") if plain else None
    with op.batch_alter_table("installations") as batch:
        batch.alter_column("bot_token", type_=sa.Text(), existing_nullable=False)
    for key, token in plain:
        connection.execute(
            installations.update()
            .where(installations.c.key == key)
            .values(bot_token=cipher.encrypt(token))
        )


def downgrade() -> None:
    connection = op.get_bind()
    sealed = [(key, token) for key, token in _rows(connection) if is_encrypted(token)]
    if sealed:
        cipher = _cipher(f"{len(sealed)} installation(s) hold an encrypted token to decrypt")
        for key, token in sealed:
            connection.execute(
                installations.update()
                .where(installations.c.key == key)
                .values(bot_token=cipher.decrypt(token))
            )
    with op.batch_alter_table("installations") as batch:
        batch.alter_column("bot_token", type_=sa.String(length=255), existing_nullable=False)
