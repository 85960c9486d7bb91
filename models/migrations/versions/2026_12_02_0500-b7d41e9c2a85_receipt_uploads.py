"""receipt uploads: the uploaded receipt's content type (its SHA-256 is receipt_sha256)

Revision ID: b7d41e9c2a85
Revises: 7d1e4b9a2c36
Create Date: 2026-12-02 05:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "b7d41e9c2a85"
down_revision: str | None = "7d1e4b9a2c36"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("expenses", sa.Column("receipt_content_type", sa.String(length=32)))


def downgrade() -> None:
    op.drop_column("expenses", "receipt_content_type")
