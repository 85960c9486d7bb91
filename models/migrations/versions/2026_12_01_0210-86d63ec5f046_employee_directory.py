"""employee directory: department, cost center and an active flag

Revision ID: 86d63ec5f046
Revises: b7d41c0e9a3f
Create Date: 2026-12-01 02:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "86d63ec5f046"
down_revision: str | None = "b7d41c0e9a3f"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("employees", schema=None) as batch_op:
        batch_op.add_column(sa.Column("department", sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column("cost_center", sa.String(length=64), nullable=True))
        # Everyone already in the directory stays active.
        batch_op.add_column(
            sa.Column("active", sa.Boolean(), server_default=sa.true(), nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("employees", schema=None) as batch_op:
        batch_op.drop_column("active")
        batch_op.drop_column("cost_center")
        batch_op.drop_column("department")
