"""Roles and who may decide an approval step."""

from collections.abc import Collection
from enum import StrEnum

from app.domain.errors import DecisionRefused


class Role(StrEnum):
    EMPLOYEE = "employee"
    APPROVER = "approver"
    FINANCE = "finance"
    AUDITOR = "auditor"
    # Manages the directory: people, their roles and their deactivation.
    ADMIN = "admin"


def check_may_decide(
    *,
    decider_id: int | None,
    decider_active: bool,
    decider_roles: Collection[str],
    submitter_id: int,
    step_role: str,
) -> None:
    """Raise DecisionRefused unless this person may decide a step that needs `step_role`."""
    if decider_id is None:
        raise DecisionRefused("unknown_user", "Your Slack account is not linked to an employee.")
    if not decider_active:
        raise DecisionRefused("inactive", "Your employee account is deactivated.")
    if decider_id == submitter_id:
        raise DecisionRefused("self_approval", "You cannot decide your own expense.")
    if step_role not in decider_roles:
        raise DecisionRefused(
            "missing_role", f"This step needs the {step_role} role, which you do not have."
        )
