"""decision requests recorded on slack request receipts

Revision ID: b7d41c0e9a3f
Revises: 5c2e8a91d7f4
Create Date: 2026-12-01 02:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "b7d41c0e9a3f"
down_revision: str | None = "5c2e8a91d7f4"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    json_type = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
    with op.batch_alter_table("slack_request_receipts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("decision_request", json_type, nullable=True))
        batch_op.add_column(sa.Column("processed_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("slack_request_receipts", schema=None) as batch_op:
        batch_op.drop_column("processed_at")
        batch_op.drop_column("decision_request")
