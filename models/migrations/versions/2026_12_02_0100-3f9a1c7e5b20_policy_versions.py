"""policy versions: the text of every policy a decision was made under

Revision ID: 3f9a1c7e5b20
Revises: d2a8f5c14e07
Create Date: 2026-12-02 01:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "3f9a1c7e5b20"
down_revision: str | None = "d2a8f5c14e07"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "policy_versions",
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("version", sa.String(length=64), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("first_used_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("sha256", name=op.f("pk_policy_versions")),
    )
    op.create_index(
        op.f("ix_policy_versions_version"), "policy_versions", ["version"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_policy_versions_version"), table_name="policy_versions")
    op.drop_table("policy_versions")
