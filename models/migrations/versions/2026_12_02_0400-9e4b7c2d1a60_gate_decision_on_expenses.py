"""gate decision on expenses: route, policy SHA-256, rule trace; receipt SHA-256 for duplicates

Revision ID: 9e4b7c2d1a60
Revises: 3f9a1c7e5b20
Create Date: 2026-12-02 04:00:00.000000
"""

import hashlib
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "9e4b7c2d1a60"
down_revision: str | None = "3f9a1c7e5b20"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("expenses", schema=None) as batch_op:
        batch_op.add_column(sa.Column("receipt_sha256", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("gate_route", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("policy_sha256", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("rule_trace", JSON, nullable=True))
        batch_op.create_index(
            batch_op.f("ix_expenses_receipt_sha256"), ["receipt_sha256"], unique=False
        )
    # Earlier expenses' receipts count as already claimed (same key as app/domain/history.py).
    expenses = sa.table(
        "expenses",
        sa.column("id", sa.Uuid()),
        sa.column("receipt_url", sa.String()),
        sa.column("receipt_sha256", sa.String()),
    )
    conn = op.get_bind()
    rows = conn.execute(
        sa.select(expenses.c.id, expenses.c.receipt_url).where(expenses.c.receipt_url.is_not(None))
    ).all()
    for expense_id, url in rows:
        key = hashlib.sha256(url.strip().encode()).hexdigest()
        conn.execute(
            expenses.update().where(expenses.c.id == expense_id).values(receipt_sha256=key)
        )


def downgrade() -> None:
    with op.batch_alter_table("expenses", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_expenses_receipt_sha256"))
        batch_op.drop_column("rule_trace")
        batch_op.drop_column("policy_sha256")
        batch_op.drop_column("gate_route")
        batch_op.drop_column("receipt_sha256")
