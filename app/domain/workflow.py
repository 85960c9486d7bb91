"""The approval state machine: one transition table; nothing else sets a status."""

from enum import StrEnum

from app.domain.errors import InvalidTransition


class Status(StrEnum):
    SUBMITTED = "submitted"
    PENDING_APPROVAL = "pending_approval"
    # An approver asked the submitter a question; the step waits for the answer.
    NEEDS_INFO = "needs_info"
    APPROVED = "approved"
    REJECTED = "rejected"
    # The submitter withdrew it before the final decision.
    CANCELLED = "cancelled"
    # Nobody decided in time and there was no one left to escalate to: not a rejection.
    EXPIRED = "expired"


class Action(StrEnum):
    AUTO_APPROVE = "auto_approve"
    # Only for a rule the policy marks as auto-rejecting.
    AUTO_REJECT = "auto_reject"
    ROUTE_TO_HUMAN = "route_to_human"
    APPROVE_STEP = "approve_step"  # a step is approved and another step follows
    APPROVE = "approve"  # the last step is approved
    REJECT = "reject"
    ASK = "ask"  # an approver asks the submitter a question
    ANSWER = "answer"  # the submitter answers; the step returns to its approver
    CANCEL = "cancel"
    EXPIRE = "expire"


WAITING = (Status.PENDING_APPROVAL, Status.NEEDS_INFO)
TRANSITIONS: dict[tuple[Status, Action], Status] = {
    (Status.SUBMITTED, Action.AUTO_APPROVE): Status.APPROVED,
    (Status.SUBMITTED, Action.AUTO_REJECT): Status.REJECTED,
    (Status.SUBMITTED, Action.ROUTE_TO_HUMAN): Status.PENDING_APPROVAL,
    (Status.PENDING_APPROVAL, Action.APPROVE_STEP): Status.PENDING_APPROVAL,
    (Status.PENDING_APPROVAL, Action.APPROVE): Status.APPROVED,
    (Status.PENDING_APPROVAL, Action.REJECT): Status.REJECTED,
    (Status.PENDING_APPROVAL, Action.ASK): Status.NEEDS_INFO,
    (Status.NEEDS_INFO, Action.ANSWER): Status.PENDING_APPROVAL,
    (Status.SUBMITTED, Action.CANCEL): Status.CANCELLED,
    **{(status, Action.CANCEL): Status.CANCELLED for status in WAITING},
    **{(status, Action.EXPIRE): Status.EXPIRED for status in WAITING},
}

FINAL_STATUSES = frozenset({Status.APPROVED, Status.REJECTED, Status.CANCELLED, Status.EXPIRED})


def step_is_open(status: Status, current_step: int, step: int) -> bool:
    """Whether `step` of an expense in `status`, now at `current_step`, still awaits a decision.

    The one place this is decided: for a click, for a modal, and for a card's buttons.
    """
    return status == Status.PENDING_APPROVAL and current_step == step


def next_status(status: Status, action: Action) -> Status:
    try:
        return TRANSITIONS[(status, action)]
    except KeyError:
        raise InvalidTransition(status.value, action.value) from None


def approval_action(step_index: int, step_count: int) -> Action:
    """Approving the last step finishes the expense; any earlier step only advances it."""
    return Action.APPROVE if step_index + 1 >= step_count else Action.APPROVE_STEP
