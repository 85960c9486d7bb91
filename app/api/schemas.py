"""Request and response bodies of the HTTP API."""

import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from app.domain.errors import InvalidMoney
from app.domain.money import normalize_currency, parse_amount
from app.services.expenses import NewExpense

# The furthest time zone is UTC+14: a date is "in the future" only if it is future there too.
LATEST_OFFSET = timedelta(hours=14)


class ExpenseIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    # Currency is declared first so the amount can be checked against its minor unit.
    currency: str = Field(min_length=3, max_length=3, examples=["EUR"])
    amount: str = Field(max_length=32, examples=["42.50"])
    category: str = Field(min_length=1, max_length=64)
    merchant: str = Field(min_length=1, max_length=200)
    description: str = Field(min_length=1, max_length=2000)
    incurred_on: date
    receipt_url: AnyHttpUrl | None = Field(default=None)

    @field_validator("currency")
    @classmethod
    def _currency(cls, value: str) -> str:
        try:
            return normalize_currency(value)
        except InvalidMoney as exc:
            raise ValueError(str(exc)) from None

    @field_validator("amount")
    @classmethod
    def _amount(cls, value: str, info: ValidationInfo) -> str:
        currency = info.data.get("currency")
        if currency is None:
            raise ValueError("amount cannot be checked without a valid currency")
        try:
            return str(parse_amount(value, currency))
        except InvalidMoney as exc:
            raise ValueError(str(exc)) from None

    @field_validator("incurred_on")
    @classmethod
    def _not_future(cls, value: date) -> date:
        if value > (datetime.now(UTC) + LATEST_OFFSET).date():
            raise ValueError("incurred_on cannot be in the future")
        return value

    @field_validator("receipt_url")
    @classmethod
    def _url_length(cls, value: AnyHttpUrl | None) -> AnyHttpUrl | None:
        if value is not None and len(str(value)) > 2048:
            raise ValueError("receipt_url is longer than 2048 characters")
        return value

    def to_domain(self) -> NewExpense:
        return NewExpense(
            amount=Decimal(self.amount),
            currency=self.currency,
            category=self.category.lower(),
            merchant=self.merchant,
            description=self.description,
            incurred_on=self.incurred_on,
            receipt_url=str(self.receipt_url) if self.receipt_url else None,
        )


class Accepted(BaseModel):
    id: uuid.UUID
    status: str
    status_url: str


class DecisionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    step: int
    role: str
    outcome: str
    slack_user_id: str | None
    reason: str | None
    decided_at: datetime


class AuditEventOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    seq: int
    prev_hash: str
    hash: str
    format_version: int
    expense_id: uuid.UUID | None
    channel: str
    actor_kind: str
    actor_id: str | None
    actor_employee_id: int | None
    actor_email: str | None
    action: str
    from_status: str | None
    to_status: str | None
    amount: str | None
    currency: str | None
    policy_amount: str | None
    policy_currency: str | None
    fx_rate: str | None
    reason: str | None
    policy_version: str | None
    rule_trace: list[dict[str, Any]] | None
    llm_model: str | None
    llm_recommendation: str | None
    llm_confidence: float | None
    llm_reasons: list[str] | None
    details: dict[str, Any]
    created_at: datetime


class ExpenseOut(BaseModel):
    id: uuid.UUID
    status: str
    amount: str
    currency: str
    category: str
    merchant: str
    description: str
    incurred_on: date
    receipt_url: str | None
    steps: list[str]
    current_step: int
    route_reasons: list[str]
    policy_version: str | None
    llm_advice: dict[str, Any] | None
    created_at: datetime
    decisions: list[DecisionOut]
    history: list[AuditEventOut]


class AuditPage(BaseModel):
    events: list[AuditEventOut]
    next_cursor: str | None
