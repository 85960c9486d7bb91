"""The audit filters as query parameters, shared by the list, the exports and the reports."""

from typing import Annotated

from fastapi import Depends, Query

from app.domain.audit_filter import AuditFilter, parse_filter

_WHEN = "A date (YYYY-MM-DD, the whole UTC day) or a date and time (YYYY-MM-DDTHH:MM[:SS]Z)"


def audit_filter(
    since: Annotated[str | None, Query(max_length=40, description=f"From: {_WHEN}")] = None,
    until: Annotated[str | None, Query(max_length=40, description=f"To, included: {_WHEN}")] = None,
    expense_id: Annotated[str | None, Query(max_length=40, description="One expense")] = None,
    submitter: Annotated[
        str | None, Query(max_length=320, description="The submitter's email (expense filter)")
    ] = None,
    actor: Annotated[
        str | None, Query(max_length=320, description="Who acted: an email or a Slack user id")
    ] = None,
    action: Annotated[str | None, Query(max_length=40, description="An event's action")] = None,
    decided_by: Annotated[
        str | None, Query(max_length=10, description="`ai` or `human` (expense filter)")
    ] = None,
    outcome: Annotated[
        str | None,
        Query(max_length=40, description="A final status: approved, rejected (expense filter)"),
    ] = None,
    policy_version: Annotated[
        str | None, Query(max_length=64, description="The policy version an event names")
    ] = None,
    category: Annotated[
        str | None, Query(max_length=64, description="The expense's category (expense filter)")
    ] = None,
    min_amount: Annotated[
        str | None,
        Query(max_length=20, description="In the policy currency, included (expense filter)"),
    ] = None,
    max_amount: Annotated[
        str | None,
        Query(max_length=20, description="In the policy currency, included (expense filter)"),
    ] = None,
) -> AuditFilter:
    """A bad value is a 422 naming the parameter (raised by the domain's parser)."""
    given = {
        "since": since,
        "until": until,
        "expense_id": expense_id,
        "submitter": submitter,
        "actor": actor,
        "action": action,
        "decided_by": decided_by,
        "outcome": outcome,
        "policy_version": policy_version,
        "category": category,
        "min_amount": min_amount,
        "max_amount": max_amount,
    }
    return parse_filter({name: value for name, value in given.items() if value is not None})


AuditFilterDep = Annotated[AuditFilter, Depends(audit_filter)]
