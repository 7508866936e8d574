"""digest pictures: a subscription's charts switch and the last trend picture it shared

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-30 11:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("digest_subscriptions") as batch:
        batch.add_column(
            sa.Column("charts", sa.Boolean(), nullable=False, server_default=sa.true())
        )
        batch.add_column(sa.Column("picture_file_id", sa.String(length=32), nullable=True))
        batch.add_column(sa.Column("picture_alt_text", sa.Text(), nullable=True))
        batch.add_column(sa.Column("picture_shared_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("digest_subscriptions") as batch:
        batch.drop_column("picture_shared_at")
        batch.drop_column("picture_alt_text")
        batch.drop_column("picture_file_id")
        batch.drop_column("charts")
