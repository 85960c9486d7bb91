"""The policy's decision clauses, parsed so that every bad value is named by its field."""

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from functools import partial
from typing import Any, TypeVar

from app.domain.errors import PolicyError

T = TypeVar("T")
NOTHING: Mapping[str, Any] = {}
DEFAULT_DUPLICATE_WINDOW_DAYS = 30


class RuleAction(StrEnum):
    """What a broken rule does: `flag` sends the expense to a human, `reject` rejects it."""

    FLAG = "flag"
    REJECT = "reject"


@dataclass(frozen=True, slots=True)
class Forbidden:
    """A merchant (matched within the merchant's name) or a word (matched as a whole word)."""

    match: str
    action: RuleAction


@dataclass(frozen=True, slots=True)
class PolicyClauses:
    forbidden_merchants: tuple[Forbidden, ...] = ()
    forbidden_keywords: tuple[Forbidden, ...] = ()
    # Same submitter, amount and merchant within this many days; or the same receipt, ever.
    duplicate_window_days: int = DEFAULT_DUPLICATE_WINDOW_DAYS
    duplicate_action: RuleAction = RuleAction.FLAG
    # Per employee and calendar month (of the date incurred), by category, in the policy currency.
    monthly_caps: Mapping[str, Decimal] = field(default_factory=dict)
    flag_weekends: bool = False
    holidays: frozenset[date] = frozenset()
    # Lower auto-approval limits for some categories; the global limit still applies.
    auto_approve_below_by_category: Mapping[str, Decimal] = field(default_factory=dict)
    # The LLM advises and the would-be outcome is recorded, but a human decides everything.
    shadow_mode: bool = False


@dataclass(frozen=True, slots=True)
class Problem:
    field: str
    reason: str

    def __str__(self) -> str:
        return f"{self.field}: {self.reason}"


class InvalidPolicy(PolicyError):
    """Every problem found in a policy, each naming its field."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = tuple(problems)
        super().__init__("; ".join(str(p) for p in problems))


class _Collector:
    """Parses one field at a time, keeping each field's problem instead of stopping at the first."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def get(self, name: str, parse: Callable[[], T], default: T) -> T:
        try:
            return parse()
        except PolicyError as exc:
            self.problems.append(Problem(name, str(exc)))
            return default


def _amount(value: Any) -> Decimal:
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        raise PolicyError("is not a decimal") from None
    if isinstance(value, bool) or not amount.is_finite() or amount < 0:
        raise PolicyError("must be a non-negative number")
    return amount


def _table(raw: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    table = raw.get(key, {})
    if not isinstance(table, Mapping):
        raise PolicyError("must be a table")
    return table


def _flag(raw: Mapping[str, Any], key: str) -> bool:
    value = raw.get(key, False)
    if not isinstance(value, bool):
        raise PolicyError("must be true or false")
    return value


def _action(value: Any) -> RuleAction:
    try:
        return RuleAction(value)
    except ValueError:
        raise PolicyError('must be "flag" or "reject"') from None


def _forbidden(c: _Collector, raw: Mapping[str, Any], key: str) -> tuple[Forbidden, ...]:
    entries = raw.get(key, [])
    if not isinstance(entries, list):
        c.problems.append(Problem(key, "must be an array of tables ([[" + key + "]])"))
        return ()
    out: list[Forbidden] = []
    for i, entry in enumerate(entries):
        where = f"{key}[{i}]"
        if not isinstance(entry, Mapping):
            c.problems.append(Problem(where, "must be a table with `match` and `action`"))
            continue
        unknown = sorted(set(entry) - {"match", "action"})
        if unknown:
            c.problems.append(Problem(where, f"unknown key(s) {', '.join(unknown)}"))
        match = entry.get("match")
        if not isinstance(match, str) or not match.strip():
            c.problems.append(Problem(f"{where}.match", "must be a non-empty string"))
            continue
        action = c.get(f"{where}.action", partial(_action, entry.get("action")), None)
        if action is not None:
            out.append(Forbidden(match.strip().casefold(), action))
    return tuple(out)


def _amounts(c: _Collector, raw: Mapping[str, Any], key: str) -> dict[str, Decimal]:
    table = c.get(key, partial(_table, raw, key), NOTHING)
    out: dict[str, Decimal] = {}
    for name, value in table.items():
        amount = c.get(f"{key}.{name}", partial(_amount, value), None)
        if amount is not None:
            out[str(name).strip().lower()] = amount
    return out


def _window(value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise PolicyError("must be a whole number of days, at least 1")
    return value


def _holidays(values: Any) -> frozenset[date]:
    if not isinstance(values, list):
        raise PolicyError("must be a list of dates (2026-12-25)")
    days: set[date] = set()
    for value in values:
        if isinstance(value, date):
            days.add(value)
            continue
        try:
            days.add(date.fromisoformat(str(value)))
        except ValueError:
            raise PolicyError(f"{value!r} is not a date (2026-12-25)") from None
    return frozenset(days)


def parse_clauses(raw: Mapping[str, Any]) -> PolicyClauses:
    """The clauses, or InvalidPolicy naming every bad field. Absent clauses change nothing."""
    c = _Collector()
    duplicates = c.get("duplicates", partial(_table, raw, "duplicates"), NOTHING)
    calendar = c.get("calendar", partial(_table, raw, "calendar"), NOTHING)
    by_category = _amounts(c, raw, "auto_approve_below_by_category")
    clauses = PolicyClauses(
        forbidden_merchants=_forbidden(c, raw, "forbidden_merchants"),
        forbidden_keywords=_forbidden(c, raw, "forbidden_keywords"),
        duplicate_window_days=c.get(
            "duplicates.window_days",
            lambda: _window(duplicates.get("window_days", DEFAULT_DUPLICATE_WINDOW_DAYS)),
            DEFAULT_DUPLICATE_WINDOW_DAYS,
        ),
        duplicate_action=c.get(
            "duplicates.action",
            lambda: _action(duplicates.get("action", RuleAction.FLAG.value)),
            RuleAction.FLAG,
        ),
        monthly_caps=_amounts(c, raw, "monthly_caps"),
        flag_weekends=c.get(
            "calendar.flag_weekends", lambda: _flag(calendar, "flag_weekends"), False
        ),
        holidays=c.get(
            "calendar.holidays", lambda: _holidays(calendar.get("holidays", [])), frozenset()
        ),
        auto_approve_below_by_category=by_category,
        shadow_mode=c.get("shadow_mode", lambda: _flag(raw, "shadow_mode"), False),
    )
    try:
        overall = _amount(raw.get("auto_approve_below", "0"))
    except PolicyError:
        overall = None  # the base policy reports it
    for category, limit in by_category.items():
        if overall is not None and limit > overall:
            reason = f"{limit} is above the global auto_approve_below ({overall})"
            c.problems.append(Problem(f"auto_approve_below_by_category.{category}", reason))
    if c.problems:
        raise InvalidPolicy(c.problems)
    return clauses
