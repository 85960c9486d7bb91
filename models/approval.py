"""The steps of an expense's approval chain: who each waits on, and since when."""

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, UTCDateTime


class ApprovalStep(Base):
    """One step, planned when the expense is routed; its clock starts when it opens."""

    __tablename__ = "approval_steps"
    __table_args__ = (UniqueConstraint("expense_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    expense_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("expenses.id"), index=True)
    position: Mapped[int]
    kind: Mapped[str] = mapped_column(String(16))
    role: Mapped[str] = mapped_column(String(16))
    # The person the chain named for this step; None means anyone holding `role`.
    approver_id: Mapped[int | None] = mapped_column(ForeignKey("employees.id"))
    approver_name: Mapped[str | None] = mapped_column(String(200))
    # Who the step waits on now: the planned approver until it escalates.
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("employees.id"))
    opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
