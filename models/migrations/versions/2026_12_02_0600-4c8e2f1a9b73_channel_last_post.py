"""channel pacing: when the last post to each channel began

Revision ID: 4c8e2f1a9b73
Revises: b7d41e9c2a85
Create Date: 2026-12-02 06:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "4c8e2f1a9b73"
down_revision: str | None = "b7d41e9c2a85"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "slack_channel_pace", sa.Column("last_post_at", sa.DateTime(timezone=True), nullable=True)
    )


def downgrade() -> None:
    op.drop_column("slack_channel_pace", "last_post_at")
