"""The transition table and who may decide."""

import pytest

from app.domain.errors import DomainError, InvalidTransition
from app.domain.policy import parse_policy
from app.domain.workflow import (
    FINAL_STATUSES,
    TRANSITIONS,
    Action,
    Status,
    approval_action,
    next_status,
)


def test_every_transition_in_the_table_and_nothing_else() -> None:
    for status in Status:
        for action in Action:
            if (status, action) in TRANSITIONS:
                assert next_status(status, action) is TRANSITIONS[(status, action)]
            else:
                with pytest.raises(InvalidTransition):
                    next_status(status, action)


def test_only_a_submitted_expense_can_be_auto_rejected() -> None:
    assert next_status(Status.SUBMITTED, Action.AUTO_REJECT) is Status.REJECTED
    assert [s for s in Status if (s, Action.AUTO_REJECT) in TRANSITIONS] == [Status.SUBMITTED]


def test_final_states_are_final() -> None:
    for action in Action:
        for final in FINAL_STATUSES:
            with pytest.raises(InvalidTransition):
                next_status(final, action)


def test_last_step_approves_earlier_steps_advance() -> None:
    assert approval_action(0, 1) is Action.APPROVE
    assert approval_action(0, 2) is Action.APPROVE_STEP
    assert approval_action(1, 2) is Action.APPROVE


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
