"""approval steps: the chain's steps with who each waits on; decisions acting for someone

Revision ID: c93e1f2a7b64
Revises: 86d63ec5f046
Create Date: 2026-12-01 02:40:00.000000
"""

import json
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "c93e1f2a7b64"
down_revision: str | None = "86d63ec5f046"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "approval_steps",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("expense_id", sa.Uuid(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("approver_id", sa.Integer(), nullable=True),
        sa.Column("approver_name", sa.String(length=200), nullable=True),
        sa.Column("assignee_id", sa.Integer(), nullable=True),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reminded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("escalated_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["expense_id"], ["expenses.id"], name=op.f("fk_approval_steps_expense_id_expenses")
        ),
        sa.ForeignKeyConstraint(
            ["approver_id"], ["employees.id"], name=op.f("fk_approval_steps_approver_id_employees")
        ),
        sa.ForeignKeyConstraint(
            ["assignee_id"], ["employees.id"], name=op.f("fk_approval_steps_assignee_id_employees")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_approval_steps")),
        sa.UniqueConstraint(
            "expense_id", "position", name=op.f("uq_approval_steps_expense_id_position")
        ),
    )
    op.create_index(
        op.f("ix_approval_steps_expense_id"), "approval_steps", ["expense_id"], unique=False
    )
    op.create_index(
        op.f("ix_approval_steps_opened_at"), "approval_steps", ["opened_at"], unique=False
    )
    with op.batch_alter_table("decisions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("acting_for_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_decisions_acting_for_id_employees"),
            "employees",
            ["acting_for_id"],
            ["id"],
        )
    _steps_of_routed_expenses()


def _steps_of_routed_expenses() -> None:
    """Expenses routed before this table: one step per role, anyone holding it decides."""
    conn = op.get_bind()
    rows = conn.execute(
        sa.text(
            "SELECT id, steps, current_step, updated_at FROM expenses WHERE status <> 'submitted'"
        )
    ).all()
    for expense_id, steps, current_step, updated_at in rows:
        roles = json.loads(steps) if isinstance(steps, str) else (steps or [])
        for position, role in enumerate(roles):
            conn.execute(
                sa.text(
                    "INSERT INTO approval_steps (expense_id, position, kind, role, opened_at) "
                    "VALUES (:e, :p, :k, :r, :o)"
                ),
                {
                    "e": expense_id,
                    "p": position,
                    "k": "finance" if role == "finance" else "approvers",
                    "r": role,
                    "o": updated_at if position <= current_step else None,
                },
            )


def downgrade() -> None:
    with op.batch_alter_table("decisions", schema=None) as batch_op:
        batch_op.drop_constraint("fk_decisions_acting_for_id_employees", type_="foreignkey")
        batch_op.drop_column("acting_for_id")
    op.drop_index(op.f("ix_approval_steps_opened_at"), table_name="approval_steps")
    op.drop_index(op.f("ix_approval_steps_expense_id"), table_name="approval_steps")
    op.drop_table("approval_steps")
