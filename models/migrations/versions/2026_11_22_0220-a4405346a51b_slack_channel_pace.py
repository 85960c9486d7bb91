"""slack channel pace

Revision ID: a4405346a51b
Revises: fa8c5d227c4a
Create Date: 2026-11-22 02:20:37.537266
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "a4405346a51b"
down_revision: str | None = "fa8c5d227c4a"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "slack_channel_pace",
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("next_slot_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("channel", name=op.f("pk_slack_channel_pace")),
    )


def downgrade() -> None:
    op.drop_table("slack_channel_pace")
