"""evidence: the tools a team connected, and what they showed per capability

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30 10:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "evidence_sources",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.String(length=32), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "mlflow",
                "repo",
                name="sourcekind",
                native_enum=False,
                length=16,
                create_constraint=False,
            ),
            nullable=False,
        ),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("options", sa.JSON(), nullable=False),
        sa.Column("created_by", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_checked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("last_head_commit", sa.String(length=64), nullable=True),
        sa.Column("next_check_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("refresh_requested_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["team_id"],
            ["teams.id"],
            name=op.f("fk_evidence_sources_team_id_teams"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_evidence_sources_workspace_id_workspaces"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_evidence_sources")),
        sa.UniqueConstraint("team_id", "kind", name=op.f("uq_evidence_sources_team_id_kind")),
    )
    op.create_index(op.f("ix_evidence_sources_workspace_id"), "evidence_sources", ["workspace_id"])
    op.create_index("ix_evidence_sources_next_check_at", "evidence_sources", ["next_check_at"])
    op.create_table(
        "evidence_facts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.String(length=32), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("capability_id", sa.String(length=64), nullable=False),
        sa.Column(
            "strength",
            sa.Enum(
                "strong",
                "weak",
                "none",
                name="strength",
                native_enum=False,
                length=16,
                create_constraint=False,
            ),
            nullable=False,
        ),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("observed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["source_id"],
            ["evidence_sources.id"],
            name=op.f("fk_evidence_facts_source_id_evidence_sources"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_evidence_facts_workspace_id_workspaces"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_evidence_facts")),
        sa.UniqueConstraint(
            "source_id", "capability_id", name=op.f("uq_evidence_facts_source_id_capability_id")
        ),
    )
    op.create_index(op.f("ix_evidence_facts_workspace_id"), "evidence_facts", ["workspace_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_evidence_facts_workspace_id"), table_name="evidence_facts")
    op.drop_table("evidence_facts")
    op.drop_index("ix_evidence_sources_next_check_at", table_name="evidence_sources")
    op.drop_index(op.f("ix_evidence_sources_workspace_id"), table_name="evidence_sources")
    op.drop_table("evidence_sources")
