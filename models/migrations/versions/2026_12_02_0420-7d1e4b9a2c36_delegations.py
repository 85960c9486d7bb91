"""delegations: who decides an approver's steps while they are away

Revision ID: 7d1e4b9a2c36
Revises: e51b7c3a9d62
Create Date: 2026-12-02 04:20:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "7d1e4b9a2c36"
down_revision: str | None = "e51b7c3a9d62"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "delegations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("principal_id", sa.Integer(), nullable=False),
        sa.Column("delegate_id", sa.Integer(), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["principal_id"], ["employees.id"], name=op.f("fk_delegations_principal_id_employees")
        ),
        sa.ForeignKeyConstraint(
            ["delegate_id"], ["employees.id"], name=op.f("fk_delegations_delegate_id_employees")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_delegations")),
    )
    op.create_index(
        op.f("ix_delegations_principal_id"), "delegations", ["principal_id"], unique=False
    )
    op.create_index(
        op.f("ix_delegations_delegate_id"), "delegations", ["delegate_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_delegations_delegate_id"), table_name="delegations")
    op.drop_index(op.f("ix_delegations_principal_id"), table_name="delegations")
    op.drop_table("delegations")
