"""Request and response bodies of the HTTP API."""

import re
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from pydantic import (
    AnyHttpUrl,
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationInfo,
    field_validator,
)
from pydantic import ValidationError as PydanticValidationError

from app.domain.advice import ConfidenceMethod, Recommendation
from app.domain.errors import InvalidInput, InvalidMoney
from app.domain.money import normalize_currency, parse_amount
from app.domain.text import clean_text
from app.domain.timeline import TimelineEntry
from app.domain.workflow import Status
from app.services.expenses import NewExpense

ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
TEXT_LIMITS = {"category": 64, "merchant": 200, "description": 2000, "receipt_url": 2048}
_HTTP_URL: TypeAdapter[AnyHttpUrl] = TypeAdapter(AnyHttpUrl)


def _clean(field: str, value: str, *, multiline: bool = False) -> str:
    try:
        return clean_text(field, value, max_length=TEXT_LIMITS[field], multiline=multiline)
    except InvalidInput as exc:
        raise ValueError(str(exc)) from None


def _example(schema: dict[str, Any]) -> None:
    """A body that is valid today, for the docs and for schemathesis' examples phase."""
    schema["examples"] = [
        {
            "amount": "42.50",
            "currency": "EUR",
            "category": "meals",
            "merchant": "Cafe",
            "description": "Team lunch",
            "incurred_on": datetime.now(UTC).date().isoformat(),
        }
    ]


class ExpenseIn(BaseModel):
    """A new expense. Text is normalised to NFC with control and bidi characters removed,
    then trimmed; the lengths below apply after that."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=_example)

    # Currency is declared first so the amount can be checked against its minor unit.
    # The JSON schema documents the constraints; the validators below enforce them with
    # messages a person can act on.
    currency: str = Field(
        description="ISO 4217 code of money in circulation (case-insensitive)",
        json_schema_extra={"pattern": "^[A-Za-z]{3}$"},
    )
    amount: str = Field(
        description="Plain decimal string: ASCII digits and at most one '.'; positive, within "
        "the currency's minor units and the policy's maximum",
        json_schema_extra={"pattern": r"^[0-9]{1,14}(\.[0-9]{1,4})?$", "maxLength": 32},
    )
    category: str = Field(
        description="One line", json_schema_extra={"minLength": 1, "maxLength": 64}
    )
    merchant: str = Field(
        description="One line", json_schema_extra={"minLength": 1, "maxLength": 200}
    )
    description: str = Field(json_schema_extra={"minLength": 1, "maxLength": 2000})
    incurred_on: date = Field(
        description="YYYY-MM-DD, no later than tomorrow and within the policy's claim age"
    )
    receipt_url: str | None = Field(
        default=None,
        description="http(s) link, kept as given; it counts as a receipt only when it is https "
        "on a host the policy allows. The server never fetches it.",
        json_schema_extra={"format": "uri", "maxLength": 2048},
    )

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

    @field_validator("incurred_on", mode="before")
    @classmethod
    def _iso_date_only(cls, value: object) -> object:
        # Pydantic would also take a timestamp or a datetime; a claim has a calendar date.
        if not (isinstance(value, str) and ISO_DATE.fullmatch(value)):
            raise ValueError("incurred_on must be a date written YYYY-MM-DD")
        return value

    @field_validator("category")
    @classmethod
    def _category(cls, value: str) -> str:
        return _clean("category", value).lower()

    @field_validator("merchant")
    @classmethod
    def _merchant(cls, value: str) -> str:
        return _clean("merchant", value)

    @field_validator("description")
    @classmethod
    def _description(cls, value: str) -> str:
        return _clean("description", value, multiline=True)

    @field_validator("receipt_url")
    @classmethod
    def _receipt_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        cleaned = _clean("receipt_url", value)
        try:
            url = str(_HTTP_URL.validate_python(cleaned))
        except PydanticValidationError:
            raise ValueError("receipt_url must be an http or https URL") from None
        if len(url) > TEXT_LIMITS["receipt_url"]:
            raise ValueError("receipt_url is too long")
        return url

    def to_domain(self) -> NewExpense:
        return NewExpense(
            amount=Decimal(self.amount),
            currency=self.currency,
            category=self.category,
            merchant=self.merchant,
            description=self.description,
            incurred_on=self.incurred_on,
            receipt_url=self.receipt_url,
        )


class Accepted(BaseModel):
    id: uuid.UUID
    status: Status
    status_url: str


class DecisionOut(BaseModel):
    step: int
    role: str
    outcome: str
    decided_by: str | None = Field(description="The approver's name")
    acting_for: str | None = Field(
        default=None, description="The approver a delegate decided for, by name; else null"
    )
    slack_user_id: str | None
    reason: str | None
    decided_at: datetime


class AdviceOut(BaseModel):
    """The AI's advice. Its reasons are shown to auditors, and to submitters if the policy says."""

    recommendation: Recommendation | None
    confidence: float | None
    confidence_method: ConfidenceMethod | None = Field(
        default=None,
        description="logprobs: measured from the model's token probabilities; self_reported: "
        "the number it wrote, at the policy's discount",
    )
    model: str | None
    reasons: list[str] | None
    unavailable: str | None = Field(description="Why there was no advice, if there was none")


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


class ReceiptFileOut(BaseModel):
    sha256: str
    content_type: str


class ExpenseOut(BaseModel):
    id: uuid.UUID
    status: Status
    amount: str
    currency: str
    category: str
    merchant: str
    description: str
    incurred_on: date
    receipt_url: str | None
    receipt_file: ReceiptFileOut | None = Field(
        default=None, description="The uploaded receipt: its SHA-256 and type, if any"
    )
    steps: list[str]
    current_step: int
    route_reasons: list[str]
    policy_version: str | None
    llm_advice: AdviceOut | None
    created_at: datetime
    decisions: list[DecisionOut]
    history: list[AuditEventOut] | None = Field(description="The audit history; auditors only")


class AuditPage(BaseModel):
    events: list[AuditEventOut]
    next_cursor: str | None


class TimelineOut(BaseModel):
    expense_id: uuid.UUID
    status: str
    submitter: str = Field(description="The submitter's name")
    amount: str
    currency: str
    category: str
    merchant: str
    entries: list[TimelineEntry] = Field(
        description="Oldest first. Blank for submitters: actor_id, actor_email, details, and the "
        "model's reasons unless the policy shows them; refusals are left out"
    )


class ReportOut(BaseModel):
    report: str
    parameters: dict[str, str] = Field(description="What reproduces it: the sample's seed, rate")
    columns: list[str]
    rows: list[dict[str, Any]]
