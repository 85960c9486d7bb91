"""What an auditor asks of the log: the filters, parsed from text and refused by name when bad.

Filters that describe an expense (submitter, decided_by, outcome, category, amounts) select every
event of the expenses that match; the others select events. All of them must hold.
"""

import re
import uuid
from dataclasses import dataclass, fields
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from enum import StrEnum

from app.domain.audit import AuditAction
from app.domain.errors import InvalidInput
from app.domain.policy import CATEGORY_MAX_LENGTH, VERSION_MAX_LENGTH
from app.domain.workflow import FINAL_STATUSES

EMAIL_MAX_LENGTH = 320
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_DATETIME = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,6})?)?"
    r"(Z|[+-][0-9]{2}:[0-9]{2})?"
)
_UUID = re.compile(
    r"[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}"
)
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+")
_SLACK_ID = re.compile(r"[A-Z0-9]{2,32}")
_AMOUNT = re.compile(r"[0-9]{1,14}(\.[0-9]{1,4})?")
# One line of visible text: what a version or a category can be.
_LINE = re.compile(r"[^\x00-\x1f\x7f]+")


class InvalidFilter(InvalidInput):
    """A filter value is refused; it names the query parameter."""

    location = "query"


class DecidedBy(StrEnum):
    AI = "ai"
    HUMAN = "human"


@dataclass(frozen=True, slots=True)
class AuditFilter:
    since: datetime | None = None
    # The first moment no longer included (a date as `until` includes that whole day).
    until: datetime | None = None
    expense_id: uuid.UUID | None = None
    submitter: str | None = None
    actor: str | None = None
    action: str | None = None
    decided_by: DecidedBy | None = None
    outcome: str | None = None
    policy_version: str | None = None
    category: str | None = None
    min_amount: Decimal | None = None
    max_amount: Decimal | None = None

    @property
    def selects_expenses(self) -> bool:
        """True when some filter describes the expense rather than the event."""
        return any(
            value is not None
            for value in (
                self.submitter,
                self.decided_by,
                self.outcome,
                self.category,
                self.min_amount,
                self.max_amount,
            )
        )


FILTER_NAMES: tuple[str, ...] = tuple(f.name for f in fields(AuditFilter))
EVERYTHING = AuditFilter()


def _moment(name: str, text: str, *, end: bool) -> datetime:
    """A date or a datetime, in UTC. A date means its whole day; a naive time is UTC."""
    try:
        if _DATE.fullmatch(text):
            day = date.fromisoformat(text)
            start = datetime.combine(day, time(), tzinfo=UTC)
            return start + timedelta(days=1) if end else start
        if _DATETIME.fullmatch(text):
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
            moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
            moment = moment.astimezone(UTC)
            # `until` names a moment still included; the filter keeps the first one excluded.
            return moment + timedelta(microseconds=1) if end else moment
    except (ValueError, OverflowError):
        raise InvalidFilter(name, f"{name} is not a real date or time") from None
    raise InvalidFilter(
        name, f"{name} must be a date (YYYY-MM-DD) or a date and time (YYYY-MM-DDTHH:MM[:SS]Z)"
    )


def _choice(name: str, text: str, allowed: list[str]) -> str:
    if text not in allowed:
        raise InvalidFilter(name, f"{name} must be one of: {', '.join(allowed)}")
    return text


def _line(name: str, text: str, max_length: int) -> str:
    if len(text) > max_length or not _LINE.fullmatch(text):
        raise InvalidFilter(name, f"{name} must be one line of at most {max_length} characters")
    return text


def _email(name: str, text: str) -> str:
    if len(text) > EMAIL_MAX_LENGTH or not _EMAIL.fullmatch(text):
        raise InvalidFilter(name, f"{name} must be an email address")
    return text.lower()


def _amount(name: str, text: str) -> Decimal:
    if not _AMOUNT.fullmatch(text):
        raise InvalidFilter(name, f"{name} must be a plain decimal amount such as 250 or 99.50")
    return Decimal(text)


def parse_filter(values: dict[str, str]) -> AuditFilter:
    """Build a filter from text values (query parameters, form fields, command-line options).

    Names that are not filters are ignored; empty values mean "not given".
    """
    given = {name: values[name].strip() for name in FILTER_NAMES if values.get(name, "").strip()}
    since = _moment("since", given["since"], end=False) if "since" in given else None
    until = _moment("until", given["until"], end=True) if "until" in given else None
    if since is not None and until is not None and until <= since:
        raise InvalidFilter("until", "until is before since")
    expense_id = None
    if "expense_id" in given:
        if not _UUID.fullmatch(given["expense_id"]):
            raise InvalidFilter("expense_id", "expense_id must be an expense's id (a UUID)")
        expense_id = uuid.UUID(given["expense_id"])
    actor = given.get("actor")
    if actor is not None:
        if _SLACK_ID.fullmatch(actor):
            pass
        elif len(actor) <= EMAIL_MAX_LENGTH and _EMAIL.fullmatch(actor):
            actor = actor.lower()
        else:
            raise InvalidFilter("actor", "actor must be an email address or a Slack user id")
    low = _amount("min_amount", given["min_amount"]) if "min_amount" in given else None
    high = _amount("max_amount", given["max_amount"]) if "max_amount" in given else None
    if low is not None and high is not None and high < low:
        raise InvalidFilter("max_amount", "max_amount is below min_amount")
    finals = sorted(status.value for status in FINAL_STATUSES)
    return AuditFilter(
        since=since,
        until=until,
        expense_id=expense_id,
        submitter=_email("submitter", given["submitter"]) if "submitter" in given else None,
        actor=actor,
        action=_choice("action", given["action"], [a.value for a in AuditAction])
        if "action" in given
        else None,
        decided_by=DecidedBy(
            _choice("decided_by", given["decided_by"], [d.value for d in DecidedBy])
        )
        if "decided_by" in given
        else None,
        outcome=_choice("outcome", given["outcome"], finals) if "outcome" in given else None,
        policy_version=_line("policy_version", given["policy_version"], VERSION_MAX_LENGTH)
        if "policy_version" in given
        else None,
        category=_line("category", given["category"], CATEGORY_MAX_LENGTH).lower()
        if "category" in given
        else None,
        min_amount=low,
        max_amount=high,
    )


def month_bounds(month: str) -> tuple[datetime, datetime]:
    """`YYYY-MM` -> its first moment and the next month's first moment (UTC)."""
    if not re.fullmatch(r"[0-9]{4}-(0[1-9]|1[0-2])", month):
        raise InvalidFilter("month", "month must be written YYYY-MM")
    first = date.fromisoformat(f"{month}-01")
    following = date(first.year + first.month // 12, first.month % 12 + 1, 1)
    return (
        datetime.combine(first, time(), tzinfo=UTC),
        datetime.combine(following, time(), tzinfo=UTC),
    )


def month_filter(month: str) -> AuditFilter:
    """The filter for one calendar month (UTC)."""
    start, end = month_bounds(month)
    return AuditFilter(since=start, until=end)
