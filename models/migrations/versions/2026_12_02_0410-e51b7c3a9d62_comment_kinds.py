"""comment kinds: a comment may be an approver's question or the submitter's answer

Revision ID: e51b7c3a9d62
Revises: 9e4b7c2d1a60
Create Date: 2026-12-02 04:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "e51b7c3a9d62"
down_revision: str | None = "9e4b7c2d1a60"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "comments",
        sa.Column("kind", sa.String(length=16), server_default="comment", nullable=False),
    )


def downgrade() -> None:
    op.drop_column("comments", "kind")
