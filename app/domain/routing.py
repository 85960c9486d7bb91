"""Who approves an expense: the chain of steps, and who may decide each step (duties kept apart)."""

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from app.domain.errors import DecisionRefused, PolicyError
from app.domain.roles import Role


class StepKind(StrEnum):
    MANAGER = "manager"
    DEPARTMENT = "department"
    COST_CENTER = "cost_center"
    # Anyone holding the step's role, in the approvals (or finance) channel.
    APPROVERS = "approvers"
    FINANCE = "finance"


@dataclass(frozen=True, slots=True)
class Person:
    """What routing needs to know about an employee."""

    id: int
    name: str
    roles: frozenset[str]
    manager_id: int | None = None
    department: str | None = None
    cost_center: str | None = None
    active: bool = True


@dataclass(frozen=True, slots=True)
class StepPlan:
    kind: StepKind
    role: Role
    # The one person who decides this step; None means anyone holding `role`.
    approver_id: int | None = None
    approver_name: str | None = None

    @property
    def label(self) -> str:
        """How the card names the step: "manager (Bob)", "finance", "any approver"."""
        if self.approver_name:
            return f"{self.kind.value.replace('_', ' ')} ({self.approver_name})"
        return "finance" if self.kind is StepKind.FINANCE else "any approver"


@dataclass(frozen=True, slots=True)
class Directory:
    """The people routing may name, resolved by the caller from the policy and the database."""

    people: Mapping[int, Person]
    department_approvers: Mapping[str, int]
    cost_center_approvers: Mapping[str, int]

    def usable(self, person_id: int | None, submitter: Person) -> Person | None:
        """The person, if they exist, are active and are not the submitter."""
        person = self.people.get(person_id) if person_id is not None else None
        if person is None or not person.active or person.id == submitter.id:
            return None
        return person


def first_step(submitter: Person, directory: Directory) -> StepPlan:
    """A department or cost-center approver replaces the manager; with neither and no manager,
    any approver in the approvals channel."""
    candidates = (
        (StepKind.DEPARTMENT, directory.department_approvers.get(submitter.department or "")),
        (StepKind.COST_CENTER, directory.cost_center_approvers.get(submitter.cost_center or "")),
        (StepKind.MANAGER, submitter.manager_id),
    )
    for kind, person_id in candidates:
        person = directory.usable(person_id, submitter)
        if person is not None:
            return StepPlan(kind, Role.APPROVER, person.id, person.name)
    return StepPlan(StepKind.APPROVERS, Role.APPROVER)


def plan_chain(
    submitter: Person, directory: Directory, *, needs_finance: bool
) -> tuple[StepPlan, ...]:
    steps = [first_step(submitter, directory)]
    if needs_finance:
        steps.append(StepPlan(StepKind.FINANCE, Role.FINANCE))
    return tuple(steps)


def check_may_decide(
    *,
    decider: Person | None,
    submitter_id: int,
    step: StepPlan,
    assignee_id: int | None,
    acting_for_id: int | None,
    approved_earlier_steps: Collection[int],
) -> None:
    """Raise DecisionRefused unless `decider` may decide `step` now.

    `assignee_id` is who the step waits on now (the planned approver, or who it escalated to);
    `acting_for_id` is the assignee when `decider` holds their delegation. Nobody decides their
    own expense, a step that is not theirs, or two steps of one chain, delegate or not.
    """
    if decider is None:
        raise DecisionRefused("unknown_user", "not linked to an employee")
    if not decider.active:
        raise DecisionRefused("inactive", "deactivated employee")
    if decider.id == submitter_id:
        raise DecisionRefused("self_approval", "own expense")
    if decider.id in approved_earlier_steps:
        raise DecisionRefused("second_step", "already approved an earlier step of this chain")
    if assignee_id is not None:
        if decider.id != assignee_id and acting_for_id != assignee_id:
            raise DecisionRefused("not_your_step", "the step waits on someone else")
        return
    if step.role.value not in decider.roles:
        raise DecisionRefused("missing_role", f"needs the {step.role.value} role")


def escalation_target(
    *,
    assignee: Person | None,
    backup: Person | None,
    people: Mapping[int, Person],
    submitter_id: int,
    approved_earlier_steps: Collection[int],
) -> Person | None:
    """Who takes over a step nobody decided in time: the assignee's manager, else the policy's
    backup approver; never the submitter, the assignee, or someone who approved an earlier step."""
    manager = people.get(assignee.manager_id) if assignee and assignee.manager_id else None
    for candidate in (manager, backup):
        if (
            candidate is not None
            and candidate.active
            and candidate.id != submitter_id
            and candidate.id not in approved_earlier_steps
            and (assignee is None or candidate.id != assignee.id)
        ):
            return candidate
    return None


@dataclass(frozen=True, slots=True)
class RoutingPolicy:
    """The policy's `[routing]` table: who replaces the manager, and who backs everyone up."""

    department_approvers: Mapping[str, str] = field(default_factory=dict)
    cost_center_approvers: Mapping[str, str] = field(default_factory=dict)
    backup_approver: str | None = None


def _emails(raw: Mapping[str, Any], key: str) -> dict[str, str]:
    table = raw.get(key, {})
    if not isinstance(table, Mapping) or not all(
        isinstance(v, str) and "@" in v for v in table.values()
    ):
        raise PolicyError(f"policy 'routing.{key}' must map names to email addresses")
    return {str(name).strip(): email.strip().lower() for name, email in table.items()}


def parse_routing(raw: Mapping[str, Any]) -> RoutingPolicy:
    table = raw.get("routing", {})
    if not isinstance(table, Mapping):
        raise PolicyError("policy 'routing' must be a table")
    backup = table.get("backup_approver")
    if backup is not None and (not isinstance(backup, str) or "@" not in backup):
        raise PolicyError("policy 'routing.backup_approver' must be an email address")
    return RoutingPolicy(
        department_approvers=_emails(table, "department_approvers"),
        cost_center_approvers=_emails(table, "cost_center_approvers"),
        backup_approver=backup.strip().lower() if backup else None,
    )
