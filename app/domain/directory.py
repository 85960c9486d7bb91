"""The employee directory's records: what a valid person is, and reading people from CSV."""

import csv
import io
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from app.domain.errors import InvalidInput, InvalidRows, RowProblem
from app.domain.roles import Role
from app.domain.text import clean_text

T = TypeVar("T")

COLUMNS = (
    "email",
    "name",
    "slack_user_id",
    "manager_email",
    "department",
    "cost_center",
    "roles",
)
ROLE_SEPARATOR = ";"
ROLE_NAMES = frozenset(role.value for role in Role)
# Enough to fix a file in one go, without an answer as large as the file.
MAX_PROBLEMS = 100
TEXT_LIMITS = {"name": 200, "department": 100, "cost_center": 64}
EMAIL_MAX = 320
# ASCII addresses only; the domain has at least one dot. Checked after lower-casing.
EMAIL = re.compile(
    r"[a-z0-9!#$%&'*+/=?^_`{|}~.-]{1,64}"
    r"@[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)+"
)
# Slack user ids: U (or W on Enterprise Grid) and upper-case letters and digits.
SLACK_USER_ID = re.compile(r"[UW][A-Z0-9]{2,31}")
# Column names are shown back only when they look like column names.
PRINTABLE_COLUMN = re.compile(r"[a-z0-9_ -]{1,40}")


@dataclass(frozen=True, slots=True)
class PersonRecord:
    """The state a directory change asks for, for one person."""

    email: str
    name: str
    # None: keep the Slack id already stored, or look it up by email.
    slack_user_id: str | None
    manager_email: str | None
    department: str | None
    cost_center: str | None
    roles: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Row:
    """A record and where it came from: its line in a file, or None for a single change."""

    line: int | None
    record: PersonRecord


@dataclass(frozen=True, slots=True)
class LookupResults:
    """Slack ids found by email, and why the others were not found."""

    found: dict[str, str] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)


# Looks up Slack user ids for these emails; never raises for a failed lookup.
SlackLookup = Callable[[Sequence[str]], LookupResults]


def normalize_email(field_name: str, value: str) -> str:
    email = value.strip().lower()
    if not email:
        raise InvalidInput(field_name, "must not be empty")
    if len(email) > EMAIL_MAX or not EMAIL.fullmatch(email):
        raise InvalidInput(field_name, "is not an email address")
    return email


def _optional_email(field_name: str, value: str | None) -> str | None:
    return normalize_email(field_name, value) if value and value.strip() else None


def _optional_text(field_name: str, value: str | None) -> str | None:
    if value is None or not value.strip():
        return None
    return clean_text(field_name, value, max_length=TEXT_LIMITS[field_name])


def _slack_user_id(field_name: str, value: str | None) -> str | None:
    if value is None or not value.strip():
        return None
    user_id = value.strip().upper()
    if not SLACK_USER_ID.fullmatch(user_id):
        raise InvalidInput(field_name, "is not a Slack user id (U or W, then letters and digits)")
    return user_id


def _roles(field_name: str, values: Iterable[str]) -> tuple[str, ...]:
    roles = {Role.EMPLOYEE.value}
    for value in values:
        name = value.strip().lower()
        if not name:
            continue
        if name not in ROLE_NAMES:
            known = ", ".join(role.value for role in Role)
            raise InvalidInput(field_name, f"names a role that does not exist (roles: {known})")
        roles.add(name)
    return tuple(sorted(roles))


def person_record(
    *,
    line: int | None,
    email: str,
    name: str,
    slack_user_id: str | None,
    manager_email: str | None,
    department: str | None,
    cost_center: str | None,
    roles: Iterable[str],
) -> PersonRecord:
    """Check every field; raise InvalidRows naming each bad one (values are never echoed)."""
    problems: list[RowProblem] = []

    def check(validate: Callable[[], T]) -> T | None:
        try:
            return validate()
        except InvalidInput as exc:
            problems.append(RowProblem(line, exc.field, str(exc)))
            return None

    record_email = check(lambda: normalize_email("email", email))
    record_name = check(lambda: clean_text("name", name, max_length=TEXT_LIMITS["name"]))
    slack_id = check(lambda: _slack_user_id("slack_user_id", slack_user_id))
    manager = check(lambda: _optional_email("manager_email", manager_email))
    dept = check(lambda: _optional_text("department", department))
    center = check(lambda: _optional_text("cost_center", cost_center))
    record_roles = check(lambda: _roles("roles", roles))
    if problems:
        raise InvalidRows(problems)
    assert record_email is not None
    assert record_name is not None
    assert record_roles is not None
    return PersonRecord(record_email, record_name, slack_id, manager, dept, center, record_roles)


def _column_label(position: int, name: str) -> str:
    return repr(name) if PRINTABLE_COLUMN.fullmatch(name) else f"column {position}"


def _header(line: int, cells: list[str]) -> list[str]:
    names = [cell.strip().lower() for cell in cells]
    problems = []
    unknown = [_column_label(i, n) for i, n in enumerate(names, 1) if n not in COLUMNS]
    if unknown:
        problems.append(f"unknown columns {', '.join(unknown)}")
    missing = [name for name in COLUMNS if name not in names]
    if missing:
        problems.append(f"missing columns {', '.join(missing)}")
    repeated = sorted({n for n in names if names.count(n) > 1 and n in COLUMNS})
    if repeated:
        problems.append(f"repeated columns {', '.join(repeated)}")
    if problems:
        expected = ",".join(COLUMNS)
        message = "; ".join(problems) + f" (the header names these columns: {expected})"
        raise InvalidRows([RowProblem(line, "header", message)])
    return names


def _decode(data: bytes) -> str:
    try:
        text = data.decode("utf-8-sig")  # spreadsheets often start UTF-8 files with a BOM
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise InvalidRows([RowProblem(line, "file", "is not UTF-8 text")]) from None
    if "\x00" in text:
        line = text.count("\n", 0, text.index("\x00")) + 1
        raise InvalidRows([RowProblem(line, "file", "contains a NUL character")])
    return text


def _repeats(rows: Sequence[Row]) -> list[RowProblem]:
    """An email or a Slack id given twice in one file: which line wins is anyone's guess."""
    problems = []
    first_email: dict[str, int | None] = {}
    first_slack: dict[str, int | None] = {}
    for row in rows:
        record = row.record
        if record.email in first_email:
            message = f"{record.email} is also on line {first_email[record.email]}"
            problems.append(RowProblem(row.line, "email", message))
        first_email.setdefault(record.email, row.line)
        if record.slack_user_id is None:
            continue
        if record.slack_user_id in first_slack:
            message = f"the same Slack user id is on line {first_slack[record.slack_user_id]}"
            problems.append(RowProblem(row.line, "slack_user_id", message))
        first_slack.setdefault(record.slack_user_id, row.line)
    return problems


def raise_problems(problems: list[RowProblem]) -> None:
    if not problems:
        return
    problems.sort(key=lambda p: (p.line or 0, COLUMNS.index(p.field) if p.field in COLUMNS else 0))
    shown = problems[:MAX_PROBLEMS]
    if len(problems) > MAX_PROBLEMS:
        shown.append(RowProblem(None, "file", f"{len(problems) - MAX_PROBLEMS} more problems"))
    raise InvalidRows(shown)


def read_csv(data: bytes) -> list[Row]:
    """Every row of a directory file, or InvalidRows naming each bad line and field."""
    reader = csv.reader(io.StringIO(_decode(data), newline=""), strict=True)
    header: list[str] | None = None
    rows: list[Row] = []
    problems: list[RowProblem] = []
    next_line = 1
    try:
        for cells in reader:
            line, next_line = next_line, reader.line_num + 1
            if not any(cell.strip() for cell in cells):
                continue
            if header is None:
                header = _header(line, cells)
                continue
            if len(cells) != len(header):
                message = f"has {len(cells)} fields; the header has {len(header)}"
                problems.append(RowProblem(line, "row", message))
                continue
            values = dict(zip(header, cells, strict=True))
            try:
                record = person_record(
                    line=line,
                    email=values["email"],
                    name=values["name"],
                    slack_user_id=values["slack_user_id"],
                    manager_email=values["manager_email"],
                    department=values["department"],
                    cost_center=values["cost_center"],
                    roles=values["roles"].split(ROLE_SEPARATOR),
                )
            except InvalidRows as exc:
                problems.extend(exc.problems)
                continue
            rows.append(Row(line, record))
    except csv.Error as exc:
        problems.append(RowProblem(reader.line_num, "row", f"is not valid CSV ({exc})"))
    if header is None and not problems:
        message = f"the file is empty; its first line names the columns: {','.join(COLUMNS)}"
        problems.append(RowProblem(1, "header", message))
    problems.extend(_repeats(rows))
    raise_problems(problems)
    return rows
