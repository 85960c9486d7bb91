"""Out-of-office delegations: who may decide an approver's steps, acting for them, until when."""

from datetime import datetime

from sqlalchemy import ForeignKey
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, UTCDateTime, utcnow


class Delegation(Base):
    """`delegate` decides `principal`'s steps from `starts_at` until (not including) `ends_at`."""

    __tablename__ = "delegations"

    id: Mapped[int] = mapped_column(primary_key=True)
    principal_id: Mapped[int] = mapped_column(ForeignKey("employees.id"), index=True)
    delegate_id: Mapped[int] = mapped_column(ForeignKey("employees.id"), index=True)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # A newer delegation by the same principal ends this one early.
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
