"""evidence dismissals: an owner's reason that a flagged contradiction is not one

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30 11:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "evidence_dismissals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.String(length=32), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=False),
        sa.Column("capability_id", sa.String(length=64), nullable=False),
        sa.Column("answer_id", sa.Integer(), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("dismissed_by", sa.String(length=32), nullable=False),
        sa.Column("dismissed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["answer_id"],
            ["answers.id"],
            name=op.f("fk_evidence_dismissals_answer_id_answers"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["team_id"],
            ["teams.id"],
            name=op.f("fk_evidence_dismissals_team_id_teams"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_evidence_dismissals_workspace_id_workspaces"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_evidence_dismissals")),
    )
    op.create_index(
        op.f("ix_evidence_dismissals_workspace_id"), "evidence_dismissals", ["workspace_id"]
    )
    op.create_index("ix_evidence_dismissals_team_id", "evidence_dismissals", ["team_id", "id"])


def downgrade() -> None:
    op.drop_index("ix_evidence_dismissals_team_id", table_name="evidence_dismissals")
    op.drop_index(op.f("ix_evidence_dismissals_workspace_id"), table_name="evidence_dismissals")
    op.drop_table("evidence_dismissals")
