"""What the bot tells one person privately when their click changed nothing, in Slack's words."""

from app.domain.workflow import Status
from app.services.decisions import DecisionOutcome, Result, Verdict

REFUSALS = {
    "unknown_user": "Your Slack account is not linked to an employee.",
    "self_approval": "You cannot decide your own expense.",
    "inactive": "Your employee account is deactivated, so you can no longer decide or comment.",
    "may_not_comment": "Only approvers and the submitter may comment.",
    "not_your_step": "This step waits on someone else; only they (or their delegate) decide it.",
    "second_step": "You approved an earlier step of this expense; someone else decides this one.",
    "not_submitter": "Only the submitter may answer or cancel this expense.",
}
GONE = "This expense no longer exists."
ANSWER_PASSED_ON = "Thanks: your answer is on the approval card, and the approver can decide again."
WAITS_FOR_ANSWER = "This expense waits for the submitter's answer to a question; decide after it."


def refusal_text(code: str | None, step_role: str | None) -> str:
    if code == "missing_role":
        return f"This step needs the {step_role or 'right'} role, which you do not have."
    return REFUSALS.get(code or "", "You cannot decide this step.")


def answer_text(outcome: DecisionOutcome | None) -> str | None:
    """The private answer to a click, or None when the card itself shows what happened."""
    if outcome is None:
        return GONE
    if outcome.result is Result.DECIDED:
        return None
    if outcome.result is Result.REFUSED:
        return refusal_text(outcome.refusal, outcome.step_role)
    if outcome.prior is None and outcome.status is Status.NEEDS_INFO:
        return WAITS_FOR_ANSWER
    if outcome.prior is None:
        status = (outcome.status or "closed").replace("_", " ")
        return f"This expense is {status}; there is nothing to decide."
    prior = outcome.prior
    who = f"<@{prior.slack_user_id}>" if prior.slack_user_id else "someone"
    verb = "approved" if prior.verdict is Verdict.APPROVE else "rejected"
    return f"Already {verb} by {who} at {prior.decided_at.strftime('%Y-%m-%d %H:%M UTC')}."
