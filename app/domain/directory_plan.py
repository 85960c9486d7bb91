"""Planning a directory change against the whole directory: outcomes, managers, Slack ids."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum

from app.domain.directory import PersonRecord, Row, raise_problems
from app.domain.errors import RowProblem, WouldLockOut
from app.domain.roles import Role

# The fields a change compares, in the order they are reported.
FIELDS = ("name", "slack_user_id", "manager_email", "department", "cost_center", "roles")
Value = str | tuple[str, ...] | None


class Outcome(StrEnum):
    ADDED = "added"
    UPDATED = "updated"
    UNCHANGED = "unchanged"


@dataclass(frozen=True, slots=True)
class PlannedChange:
    line: int | None
    # What the employee will be, with the Slack id resolved where one is known.
    record: PersonRecord
    outcome: Outcome
    # field -> (before, after), for the fields that change.
    changes: Mapping[str, tuple[Value, Value]]


@dataclass(frozen=True, slots=True)
class Plan:
    changes: tuple[PlannedChange, ...]
    # email -> why a Slack id found by lookup was not stored.
    lookup_refused: Mapping[str, str]

    def count(self, outcome: Outcome) -> int:
        return sum(1 for change in self.changes if change.outcome is outcome)

    def needing_slack_id(self) -> list[str]:
        return [c.record.email for c in self.changes if c.record.slack_user_id is None]


def _value(person: PersonRecord, name: str) -> Value:
    value: Value = getattr(person, name)
    return value


def _diff(before: PersonRecord | None, after: PersonRecord) -> dict[str, tuple[Value, Value]]:
    changes = {}
    for name in FIELDS:
        old = _value(before, name) if before is not None else None
        new = _value(after, name)
        if old != new:
            changes[name] = (old, new)
    return changes


def _resolve_slack_ids(
    rows: Sequence[Row],
    stored: Mapping[str, PersonRecord],
    found: Mapping[str, str],
    problems: list[RowProblem],
) -> tuple[list[PersonRecord], dict[str, str]]:
    """Each row's Slack id: as given, else as stored, else as looked up, if nobody else has it."""
    in_rows = {row.record.email for row in rows}
    owner = {
        p.slack_user_id: p.email
        for p in stored.values()
        if p.slack_user_id and p.email not in in_rows
    }
    records = []
    for row in rows:
        record = row.record
        kept = stored[record.email].slack_user_id if record.email in stored else None
        slack_id = record.slack_user_id or kept
        if slack_id is not None:
            holder = owner.setdefault(slack_id, record.email)
            if holder != record.email:
                message = f"this Slack user id belongs to {holder}"
                problems.append(RowProblem(row.line, "slack_user_id", message))
        records.append(replace(record, slack_user_id=slack_id))
    refused = {}
    for index, record in enumerate(records):
        candidate = found.get(record.email)
        if record.slack_user_id is not None or candidate is None:
            continue
        holder = owner.setdefault(candidate, record.email)
        if holder != record.email:
            refused[record.email] = f"Slack user {candidate} is already linked to {holder}"
            continue
        records[index] = replace(record, slack_user_id=candidate)
    return records, refused


def _check_managers(
    rows: Sequence[Row], stored: Mapping[str, PersonRecord], problems: list[RowProblem]
) -> None:
    """Every manager exists (here or in the file), and no chain of managers loops."""
    manager_of = {p.email: p.manager_email for p in stored.values()}
    manager_of.update({row.record.email: row.record.manager_email for row in rows})
    line_of = {row.record.email: row.line for row in rows}
    for row in rows:
        manager = row.record.manager_email
        if manager is None:
            continue
        if manager == row.record.email:
            problems.append(RowProblem(row.line, "manager_email", "cannot be the employee"))
        elif manager not in manager_of:
            message = f"{manager} is neither in the directory nor in this change"
            problems.append(RowProblem(row.line, "manager_email", message))
    # Everyone a walk has passed already: their chains are reported or fine, so each person is
    # walked once and a long chain costs no more than its length.
    walked: set[str] = set()
    for row in rows:
        path, on_path = [row.record.email], {row.record.email}
        step = manager_of.get(row.record.email)
        while step in manager_of and step not in on_path and step not in walked:
            path.append(step)
            on_path.add(step)
            step = manager_of.get(step)
        walked.update(path)
        if step is None or step not in on_path:
            continue
        loop = path[path.index(step) :]
        changed = [email for email in loop if email in line_of]
        # A loop of one is reported above; a loop this change has no part in is not its fault.
        if len(loop) < 2 or not changed:
            continue
        first = min(changed, key=lambda email: line_of[email] or 0)
        chain = " -> ".join([*loop[loop.index(first) :], *loop[: loop.index(first)], first])
        problems.append(
            RowProblem(line_of[first], "manager_email", f"managers would loop: {chain}")
        )


def plan_changes(
    rows: Sequence[Row],
    stored: Mapping[str, PersonRecord],
    found: Mapping[str, str] | None = None,
) -> Plan:
    """What `rows` would do to the directory `stored` (everyone in it, by email); InvalidRows
    if any of it is refused.

    `found` are Slack ids looked up by email; one already linked to someone else is not
    stored and is reported in `lookup_refused` instead.
    """
    problems: list[RowProblem] = []
    records, refused = _resolve_slack_ids(rows, stored, found or {}, problems)
    _check_managers(rows, stored, problems)
    raise_problems(problems)
    changes = []
    for row, record in zip(rows, records, strict=True):
        before = stored.get(record.email)
        diff = _diff(before, record)
        if before is None:
            outcome = Outcome.ADDED
        else:
            outcome = Outcome.UPDATED if diff else Outcome.UNCHANGED
        changes.append(PlannedChange(row.line, record, outcome, diff))
    return Plan(tuple(changes), refused)


def check_keeps_admin(plan: Plan, admin_email: str) -> None:
    """An admin changing the directory may not take away their own admin role."""
    for change in plan.changes:
        if change.record.email == admin_email and Role.ADMIN.value not in change.record.roles:
            raise WouldLockOut("you cannot remove your own admin role; ask another admin")


def check_may_deactivate(admin_email: str, email: str) -> None:
    if admin_email == email:
        raise WouldLockOut("you cannot deactivate yourself; ask another admin")
