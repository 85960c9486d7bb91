"""pacing slot and refresh time on slack messages

Revision ID: 5c2e8a91d7f4
Revises: 01476c48d779
Create Date: 2026-12-01 01:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "5c2e8a91d7f4"
down_revision: str | None = "01476c48d779"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("slack_messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("slot_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("refreshed_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("slack_messages", schema=None) as batch_op:
        batch_op.drop_column("refreshed_at")
        batch_op.drop_column("slot_at")
