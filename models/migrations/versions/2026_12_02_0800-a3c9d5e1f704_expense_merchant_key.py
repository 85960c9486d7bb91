"""expense merchant key: the merchant as the duplicate rule compares it, indexed per submitter

Revision ID: a3c9d5e1f704
Revises: 4c8e2f1a9b73
Create Date: 2026-12-02 08:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "a3c9d5e1f704"
down_revision: str | None = "4c8e2f1a9b73"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH = 5000


def upgrade() -> None:
    op.add_column("expenses", sa.Column("merchant_key", sa.Text(), nullable=True))
    # Python's casefold (as app/domain/history.py's merchant_key), which SQL's lower() is not.
    expenses = sa.table(
        "expenses",
        sa.column("id", sa.Uuid()),
        sa.column("merchant", sa.String()),
        sa.column("merchant_key", sa.Text()),
    )
    conn = op.get_bind()
    pending = sa.select(expenses.c.id, expenses.c.merchant).where(expenses.c.merchant_key.is_(None))
    while rows := conn.execute(pending.limit(BATCH)).all():
        conn.execute(
            expenses.update()
            .where(expenses.c.id == sa.bindparam("row_id"))
            .values(merchant_key=sa.bindparam("key")),
            [{"row_id": row_id, "key": merchant.strip().casefold()} for row_id, merchant in rows],
        )
    with op.batch_alter_table("expenses", schema=None) as batch_op:
        batch_op.alter_column("merchant_key", existing_type=sa.Text(), nullable=False)
        batch_op.create_index(
            "ix_expenses_submitter_merchant_key", ["submitter_id", "merchant_key"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("expenses", schema=None) as batch_op:
        batch_op.drop_index("ix_expenses_submitter_merchant_key")
        batch_op.drop_column("merchant_key")
