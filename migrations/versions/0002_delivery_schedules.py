"""delivery schedules: per-owner nudge time, digest schedule change time

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27 06:40:00

Nudges are due per owner (co-owners live in different time zones, so one team-wide
"last nudged" would let the first owner's morning silence the others). A digest schedule
applies from its last change on, so editing it never sends a catch-up for a time that has
already passed.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("team_owners", schema=None) as batch_op:
        batch_op.add_column(sa.Column("last_nudged_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("digest_subscriptions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("digest_subscriptions", schema=None) as batch_op:
        batch_op.drop_column("updated_at")
    with op.batch_alter_table("team_owners", schema=None) as batch_op:
        batch_op.drop_column("last_nudged_at")
