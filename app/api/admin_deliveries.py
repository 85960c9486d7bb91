"""GET /admin/delivery-problems: the Slack messages Slack refused for good (admins only)."""

import uuid
from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel

from app.api.deps import CurrentAdmin, DbDep
from app.api.problems import documented
from app.services.deliveries import delivery_problems
from models.base import utcnow

router = APIRouter(
    prefix="/admin", tags=["admin"], responses=documented(400, 401, 403, 422, 429, 503)
)


class DeliveryProblem(BaseModel):
    expense_id: uuid.UUID | None
    kind: str
    step: int | None
    channel: str | None
    error: str | None
    failed_at: datetime


@router.get("/delivery-problems", response_model=list[DeliveryProblem])
def list_delivery_problems(
    _admin: CurrentAdmin,
    db: DbDep,
    days: Annotated[int, Query(ge=1, le=90, description="How far back to look")] = 7,
) -> list[DeliveryProblem]:
    with db.session() as session:
        rows = delivery_problems(session, since=utcnow() - timedelta(days=days))
        return [
            DeliveryProblem(
                expense_id=r.expense_id,
                kind=r.kind,
                step=r.step,
                channel=r.channel,
                error=r.error,
                failed_at=r.failed_at,
            )
            for r in rows
            if r.failed_at is not None
        ]
