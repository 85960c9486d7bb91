"""The submitter's side of the conversation: POST /expenses/{id}/comments and /cancel."""

import uuid

from fastapi import APIRouter, HTTPException, status
from pydantic import BaseModel, ConfigDict, Field, field_validator

from app.api.deps import DbDep, TokenHash, authenticated
from app.api.problems import documented
from app.domain.errors import InvalidInput
from app.domain.text import clean_text
from app.domain.workflow import Status
from app.logs import bind
from app.services import conversation
from app.services.conversation import Speaker
from app.services.decisions import MAX_REASON_LENGTH, DecisionOutcome, Result

router = APIRouter(
    prefix="/expenses",
    tags=["expenses"],
    responses=documented(400, 401, 403, 404, 409, 413, 422, 429, 503),
)


class CommentIn(BaseModel):
    """The answer to an approver's question, or a comment while the expense is undecided."""

    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=1, max_length=MAX_REASON_LENGTH)

    @field_validator("text")
    @classmethod
    def _clean(cls, value: str) -> str:
        try:
            cleaned = clean_text("text", value, max_length=MAX_REASON_LENGTH, multiline=True)
        except InvalidInput as exc:
            raise ValueError(str(exc)) from None
        if not cleaned:
            raise ValueError("write something")
        return cleaned


class ExpenseStatusOut(BaseModel):
    id: uuid.UUID
    status: Status


def _refused_or_closed(outcome: DecisionOutcome, attempted: str) -> None:
    """Raised after the transaction committed, so the refusal's audit event stays."""
    if outcome.result is Result.REFUSED:
        raise HTTPException(status.HTTP_403_FORBIDDEN, f"only the submitter may {attempted} it")
    if outcome.result is Result.ALREADY_DECIDED:
        now = (outcome.status or "closed").replace("_", " ")
        raise HTTPException(
            status.HTTP_409_CONFLICT, f"the expense is {now}; nothing to {attempted}"
        )


@router.post(
    "/{expense_id}/comments", status_code=status.HTTP_201_CREATED, response_model=ExpenseStatusOut
)
def post_comment(
    expense_id: uuid.UUID, body: CommentIn, token_hash: TokenHash, db: DbDep
) -> ExpenseStatusOut:
    """While the expense needs info this is the answer, and the step returns to its approver."""
    bind(expense_id=expense_id)
    with db.session() as session:
        employee = authenticated(session, token_hash)
        speaker = Speaker.api(employee)
        outcome = conversation.answer(
            session, expense_id=expense_id, speaker=speaker, text=body.text
        )
        now = conversation.status_of(session, expense_id)
    _refused_or_closed(outcome, "answer")
    return ExpenseStatusOut(id=expense_id, status=now)


@router.post("/{expense_id}/cancel", response_model=ExpenseStatusOut)
def cancel_expense(expense_id: uuid.UUID, token_hash: TokenHash, db: DbDep) -> ExpenseStatusOut:
    """The submitter withdraws the expense before its final decision."""
    bind(expense_id=expense_id)
    with db.session() as session:
        employee = authenticated(session, token_hash)
        outcome = conversation.cancel(session, expense_id=expense_id, speaker=Speaker.api(employee))
    _refused_or_closed(outcome, "cancel")
    return ExpenseStatusOut(id=expense_id, status=Status.CANCELLED)
