"""Directory changes for the CLI and the admin API: two transactions, Slack lookups between.

This is boundary code (it commits), shared by two boundaries. A Slack lookup is a network call
per person; holding the transaction and the directory lock across them would stall every other
directory change for as long as Slack takes. So the change is validated against a first read,
the missing Slack ids are looked up with no transaction open, and then the directory is locked,
read again, validated again (someone may have changed it meanwhile) and written.
"""

from collections.abc import Sequence
from dataclasses import dataclass

from app.db import Database
from app.domain.audit import Actor, Channel
from app.domain.directory import LookupResults, Row, SlackLookup
from app.domain.directory_plan import Plan, check_keeps_admin, plan_changes
from app.services import directory


@dataclass(frozen=True, slots=True)
class LookupFailure:
    line: int | None
    email: str
    error: str


@dataclass(frozen=True, slots=True)
class Report:
    plan: Plan
    lookup_failures: tuple[LookupFailure, ...]


def change_directory(
    db: Database,
    rows: Sequence[Row],
    *,
    actor: Actor,
    channel: Channel,
    lookup: SlackLookup | None,
    admin_email: str | None = None,
) -> Report:
    """Apply `rows` as one transaction, or raise InvalidRows and change nothing.

    `admin_email`: the admin making the change, who may not remove their own admin role.
    """
    with db.session() as session:
        first = plan_changes(rows, directory.stored_people(session))
    if admin_email is not None:
        check_keeps_admin(first, admin_email)
    needing = first.needing_slack_id()
    results = lookup(needing) if lookup is not None and needing else LookupResults()
    with db.session() as session:
        directory.lock_directory(session)
        plan = plan_changes(rows, directory.stored_people(session), results.found)
        if admin_email is not None:
            check_keeps_admin(plan, admin_email)
        directory.apply_plan(session, plan, actor=actor, channel=channel)
    errors = {**results.failed, **plan.lookup_refused}
    failures = tuple(
        LookupFailure(change.line, change.record.email, errors[change.record.email])
        for change in plan.changes
        if change.record.email in errors
    )
    return Report(plan, failures)
