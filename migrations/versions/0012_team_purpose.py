"""team purpose: production, research, proof of concept or single-use, and its history

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-30 10:45:00

Google's model says Level 0 is fine for research, proofs of concept and single-use models.
Existing teams become production teams (what the bot assumed so far) whose purpose nobody
has confirmed yet (`purpose_set_at` NULL), so their next full assessment asks.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("teams", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("purpose", sa.String(length=20), nullable=False, server_default="production")
        )
        batch_op.add_column(sa.Column("purpose_set_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(
            sa.Column("nudges_anyway", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    op.create_table(
        "purpose_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.String(length=32), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=False),
        sa.Column("from_purpose", sa.String(length=20), nullable=True),
        sa.Column("to_purpose", sa.String(length=20), nullable=False),
        sa.Column("changed_by", sa.String(length=32), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["team_id"],
            ["teams.id"],
            name=op.f("fk_purpose_changes_team_id_teams"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_purpose_changes_workspace_id_workspaces"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_purpose_changes")),
    )
    with op.batch_alter_table("purpose_changes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_purpose_changes_team_id"), ["team_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_purpose_changes_workspace_id"), ["workspace_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("purpose_changes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_purpose_changes_workspace_id"))
        batch_op.drop_index(batch_op.f("ix_purpose_changes_team_id"))
    op.drop_table("purpose_changes")
    with op.batch_alter_table("teams", schema=None) as batch_op:
        batch_op.drop_column("nudges_anyway")
        batch_op.drop_column("purpose_set_at")
        batch_op.drop_column("purpose")
