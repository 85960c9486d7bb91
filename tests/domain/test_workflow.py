"""The transition table and who may decide."""

import pytest

from app.domain.errors import DecisionRefused, DomainError, InvalidTransition
from app.domain.policy import parse_policy
from app.domain.roles import check_may_decide
from app.domain.workflow import TRANSITIONS, Action, Status, approval_action, next_status


def test_every_transition_in_the_table_and_nothing_else() -> None:
    for status in Status:
        for action in Action:
            if (status, action) in TRANSITIONS:
                assert next_status(status, action) is TRANSITIONS[(status, action)]
            else:
                with pytest.raises(InvalidTransition):
                    next_status(status, action)


def test_final_states_are_final() -> None:
    for action in Action:
        for final in (Status.APPROVED, Status.REJECTED):
            with pytest.raises(InvalidTransition):
                next_status(final, action)


def test_last_step_approves_earlier_steps_advance() -> None:
    assert approval_action(0, 1) is Action.APPROVE
    assert approval_action(0, 2) is Action.APPROVE_STEP
    assert approval_action(1, 2) is Action.APPROVE


@pytest.mark.parametrize(
    ("decider_id", "roles", "code"),
    [
        (None, (), "unknown_user"),
        (7, ("approver",), "self_approval"),
        (8, ("employee",), "missing_role"),
        (8, ("approver",), "missing_role"),
    ],
)
def test_refusals(decider_id: int | None, roles: tuple[str, ...], code: str) -> None:
    step_role = "finance" if code == "missing_role" and "approver" in roles else "approver"
    with pytest.raises(DecisionRefused) as refused:
        check_may_decide(
            decider_id=decider_id,
            decider_active=True,
            decider_roles=roles,
            submitter_id=7,
            step_role=step_role,
        )
    assert refused.value.code == code


def test_allowed_decider() -> None:
    check_may_decide(
        decider_id=8,
        decider_active=True,
        decider_roles=("approver",),
        submitter_id=7,
        step_role="approver",
    )


def test_a_deactivated_employee_may_not_decide_whatever_their_roles() -> None:
    with pytest.raises(DecisionRefused) as refused:
        check_may_decide(
            decider_id=8,
            decider_active=False,
            decider_roles=("approver", "finance"),
            submitter_id=7,
            step_role="approver",
        )
    assert refused.value.code == "inactive"


@pytest.mark.parametrize(
    "broken",
    [
        {},
        {"version": "1", "currency": "XXQ", "allowed_categories": []},
        {"version": "1", "currency": "USD", "allowed_categories": "travel"},
        {
            "version": "1",
            "currency": "USD",
            "allowed_categories": [],
            "auto_approve_below": "x",
            "finance_required_from": "1",
        },
    ],
)
def test_broken_policies_are_refused(broken: dict[str, object]) -> None:
    with pytest.raises(DomainError):
        parse_policy(broken)
