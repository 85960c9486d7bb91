"""Routing: who each step waits on, and segregation of duties for every decider."""

import pytest

from app.domain.errors import DecisionRefused
from app.domain.roles import Role
from app.domain.routing import (
    Directory,
    Person,
    StepKind,
    StepPlan,
    check_may_decide,
    plan_chain,
)

BOB = Person(2, "Bob", frozenset({"employee", "approver"}))
EVE = Person(5, "Eve", frozenset({"employee", "approver"}), department="engineering")
CAROL = Person(3, "Carol", frozenset({"employee", "approver", "finance"}))
GONE = Person(6, "Gone", frozenset({"employee", "approver"}), active=False)
ALICE = Person(1, "Alice", frozenset({"employee"}), manager_id=2, department="sales")


def directory(**tables: dict[str, int]) -> Directory:
    people = {p.id: p for p in (BOB, EVE, CAROL, GONE, ALICE)}
    return Directory(people, tables.get("departments", {}), tables.get("cost_centers", {}))


def test_the_manager_decides_step_one_and_finance_follows_above_the_threshold() -> None:
    chain = plan_chain(ALICE, directory(), needs_finance=True)
    assert chain == (
        StepPlan(StepKind.MANAGER, Role.APPROVER, 2, "Bob"),
        StepPlan(StepKind.FINANCE, Role.FINANCE),
    )
    assert [s.label for s in chain] == ["manager (Bob)", "finance"]


def test_a_department_approver_replaces_the_manager_then_a_cost_center_one() -> None:
    by_department = plan_chain(ALICE, directory(departments={"sales": 5}), needs_finance=False)
    assert by_department == (StepPlan(StepKind.DEPARTMENT, Role.APPROVER, 5, "Eve"),)
    alice_cc = Person(1, "Alice", frozenset({"employee"}), manager_id=2, cost_center="cc-9")
    by_cost_center = plan_chain(alice_cc, directory(cost_centers={"cc-9": 3}), needs_finance=False)
    assert by_cost_center[0].label == "cost center (Carol)"


@pytest.mark.parametrize(
    "submitter",
    [
        Person(1, "Alice", frozenset({"employee"})),  # no manager
        Person(1, "Alice", frozenset({"employee"}), manager_id=6),  # manager deactivated
        Person(1, "Alice", frozenset({"employee"}), manager_id=99),  # manager unknown
    ],
)
def test_with_no_usable_manager_any_approver_decides(submitter: Person) -> None:
    assert plan_chain(submitter, directory(), needs_finance=False) == (
        StepPlan(StepKind.APPROVERS, Role.APPROVER),
    )


def test_nobody_is_routed_to_themselves() -> None:
    eve = Person(
        5, "Eve", frozenset({"employee", "approver"}), department="engineering", manager_id=2
    )
    chain = plan_chain(eve, directory(departments={"engineering": 5}), needs_finance=False)
    assert chain[0] == StepPlan(StepKind.MANAGER, Role.APPROVER, 2, "Bob")


MANAGER_STEP = StepPlan(StepKind.MANAGER, Role.APPROVER, 2, "Bob")
FINANCE_STEP = StepPlan(StepKind.FINANCE, Role.FINANCE)


def refusal(
    decider: Person | None,
    step: StepPlan = MANAGER_STEP,
    *,
    assignee: int | None = 2,
    acting_for: int | None = None,
    earlier: tuple[int, ...] = (),
) -> str | None:
    try:
        check_may_decide(
            decider=decider,
            submitter_id=ALICE.id,
            step=step,
            assignee_id=assignee,
            acting_for_id=acting_for,
            approved_earlier_steps=earlier,
        )
    except DecisionRefused as refused:
        return refused.code
    return None


def test_segregation_of_duties() -> None:
    assert refusal(BOB) is None
    assert refusal(None) == "unknown_user"
    assert refusal(GONE) == "inactive"
    assert refusal(ALICE) == "self_approval"
    assert refusal(CAROL) == "not_your_step"  # an approver, but the step is Bob's
    assert refusal(EVE, acting_for=2) is None  # Eve holds Bob's delegation
    assert refusal(EVE, acting_for=3) == "not_your_step"  # a delegation from someone else
    assert refusal(CAROL, FINANCE_STEP, assignee=None) is None
    assert refusal(BOB, FINANCE_STEP, assignee=None) == "missing_role"
    # Carol approved step 1; holding the finance role does not let her approve step 2 too.
    assert refusal(CAROL, FINANCE_STEP, assignee=None, earlier=(3,)) == "second_step"
    # A delegate is held to the same rules: no second step through someone else's delegation.
    assert refusal(EVE, acting_for=2, earlier=(5,)) == "second_step"
