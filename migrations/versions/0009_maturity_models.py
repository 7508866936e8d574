"""maturity models: the models installed per workspace; why a level changed and in which model

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30 11:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "workspace_models",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("version", sa.String(length=32), nullable=False),
        sa.Column("source", sa.Text(), nullable=True),
        sa.Column("source_format", sa.String(length=8), nullable=False),
        sa.Column("is_primary", sa.Boolean(), nullable=False),
        sa.Column("installed_by", sa.String(length=32), nullable=True),
        sa.Column("installed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_workspace_models_workspace_id_workspaces"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_workspace_models")),
        sa.UniqueConstraint(
            "workspace_id", "name", name=op.f("uq_workspace_models_workspace_id_name")
        ),
    )
    op.create_index(op.f("ix_workspace_models_workspace_id"), "workspace_models", ["workspace_id"])
    with op.batch_alter_table("level_changes") as batch:
        batch.add_column(sa.Column("cause", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("model_ref", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("level_changes") as batch:
        batch.drop_column("model_ref")
        batch.drop_column("cause")
    op.drop_index(op.f("ix_workspace_models_workspace_id"), table_name="workspace_models")
    op.drop_table("workspace_models")
