"""card step on slack messages

Revision ID: 16711ce5ae2e
Revises: a4405346a51b
Create Date: 2026-11-22 02:41:24.844004
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "16711ce5ae2e"
down_revision: str | None = "a4405346a51b"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("slack_messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("step", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("slack_messages", schema=None) as batch_op:
        batch_op.drop_column("step")
