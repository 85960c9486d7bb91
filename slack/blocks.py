"""Pure Block Kit builders for approval cards, modals and notices. No I/O here."""

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from app.domain.advice import Advice, ConfidenceMethod, LlmUnavailable
from app.domain.workflow import Status, step_is_open
from slack.ids import REASON_INPUT, ActionId, BlockId, CallbackId, CardRef, ModalRef
from slack.text import escape, escape_within

Block = dict[str, Any]
SECTION_LIMIT = 3000
MAX_NOTES = 6
# How the approver is told where the confidence came from.
CONFIDENCE_METHOD_LABELS = {
    ConfidenceMethod.LOGPROBS: "measured from token probabilities",
    ConfidenceMethod.SELF_REPORTED: "self-reported, discounted",
}


@dataclass(frozen=True, slots=True)
class DecisionView:
    step: int
    role: str
    outcome: str
    slack_user_id: str | None
    reason: str | None
    decided_at: datetime
    # The approver whose delegate decided, by name; None when they decided themselves.
    acting_for: str | None = None


@dataclass(frozen=True, slots=True)
class EscalationView:
    """A step nobody decided in time passed from one person to another."""

    at: datetime
    to_name: str
    to_slack_id: str | None
    from_name: str | None = None
    from_slack_id: str | None = None


@dataclass(frozen=True, slots=True)
class NoteView:
    """A question to the submitter, or their answer, as the card shows it."""

    kind: str
    slack_user_id: str | None
    author_name: str
    text: str


@dataclass(frozen=True, slots=True)
class CardView:
    expense_id: str
    step: int
    steps: tuple[str, ...]
    status: Status
    current_step: int
    submitter_name: str
    submitter_slack_id: str | None
    amount: str
    currency: str
    category: str
    merchant: str
    incurred_on: str
    description: str
    receipt_url: str | None
    # Whether the link counts as a receipt: https on a host the policy allows.
    receipt_counted: bool
    route_reasons: tuple[str, ...]
    llm_advice: Advice | None
    policy_version: str | None
    decisions: tuple[DecisionView, ...] = field(default_factory=tuple)
    escalation: EscalationView | None = None
    conversation: tuple[NoteView, ...] = field(default_factory=tuple)
    # The uploaded receipt: an expiring signed link through the app, and the file's type.
    receipt_file_url: str | None = None
    receipt_file_type: str | None = None

    @property
    def awaiting_this_step(self) -> bool:
        return step_is_open(self.status, self.current_step, self.step)


def _mrkdwn(text: str) -> Block:
    return {"type": "mrkdwn", "text": text}


def _section(text: str) -> Block:
    return {"type": "section", "text": _mrkdwn(text)}


def _context(text: str) -> Block:
    return {"type": "context", "elements": [_mrkdwn(text)]}


def _who(slack_user_id: str | None, name: str) -> str:
    return f"<@{slack_user_id}>" if slack_user_id else escape(name)


def _link(url: str, label: str) -> str:
    # Inside <url|label> only & < > are escaped; a | would end the URL early.
    return f"<{escape(url).replace('|', '%7C')}|{label}>"


def _receipt_text(view: CardView) -> str:
    lines = []
    if view.receipt_file_url:
        kind = (view.receipt_file_type or "file").rsplit("/", 1)[-1].upper()
        lines.append(_link(view.receipt_file_url, f"open uploaded receipt ({escape(kind)})"))
    if view.receipt_url and not view.receipt_counted:
        lines.append("link not counted (not https on an allowed receipt host)")
    elif view.receipt_url:
        lines.append(_link(view.receipt_url, "open receipt"))
    return "\n".join(lines) or "none"


def _advice_text(advice: Advice | None) -> str:
    if advice is None:
        return "*AI advice:* none"
    if isinstance(advice, LlmUnavailable):
        return f"*AI advice:* unavailable ({escape_within(advice.reason, 300)})"
    model = escape_within(advice.model, 200)
    head = (
        f"*AI advice:* {escape(advice.recommendation.value)} "
        f"(confidence {advice.confidence:.2f}, "
        f"{CONFIDENCE_METHOD_LABELS[advice.confidence_method]}, {model})"
    )
    # Each reason is escaped once, here; the section is trimmed by whole reasons, never re-escaped.
    text = head
    for reason in advice.reasons[:5]:
        line = f"\n• {escape_within(str(reason), 300)}"
        if len(text) + len(line) > SECTION_LIMIT:
            break
        text += line
    return text


def _outcome_line(d: DecisionView, steps: tuple[str, ...]) -> str:
    verb = "Approved" if d.outcome == "approve" else "Rejected"
    who = f"<@{d.slack_user_id}>" if d.slack_user_id else "someone"
    when = d.decided_at.strftime("%Y-%m-%d %H:%M UTC")
    label = f"step {d.step + 1}/{len(steps)} ({d.role})"
    reason = f": {escape_within(d.reason, 500)}" if d.reason else ""
    if d.acting_for:
        who += f" acting for {escape_within(d.acting_for, 200)}"
    return f"{'✅' if d.outcome == 'approve' else '❌'} {verb} {label} by {who} at {when}{reason}"


def _escalation_line(e: EscalationView) -> str:
    to = _who(e.to_slack_id, e.to_name)
    line = f"⏫ Escalated to {to} at {e.at.strftime('%Y-%m-%d %H:%M UTC')}: nobody decided in time."
    if e.from_name or e.from_slack_id:
        line += f" {_who(e.from_slack_id, e.from_name or '')} can no longer decide this step."
    return line


def card_text(view: CardView) -> str:
    """Notification fallback text; Slack shows it where blocks cannot be shown."""
    return (
        f"Expense approval needed: {view.amount} {view.currency} at "
        f"{escape_within(view.merchant, 100)} from {escape_within(view.submitter_name, 100)}"
    )


def undeliverable_notice(error: str) -> str:
    """Said on a card posted to the approvals channel because its direct message failed."""
    return (
        f":warning: Posted here because Slack refused the direct message ({escape(error)}). "
        "Whoever the step waits on can decide it here."
    )


def approval_card(view: CardView, notice: str | None = None) -> list[Block]:
    ref = CardRef(e=view.expense_id, s=view.step).encode()
    step_label = (
        f"Step {view.step + 1} of {len(view.steps)}: {escape_within(view.steps[view.step], 200)}"
    )
    blocks: list[Block] = [
        {
            "type": "header",
            "text": {"type": "plain_text", "text": "Expense approval", "emoji": True},
        },
        {
            "type": "section",
            "fields": [
                _mrkdwn(f"*Submitter:*\n{_who(view.submitter_slack_id, view.submitter_name)}"),
                _mrkdwn(f"*Amount:*\n{escape(view.amount)} {escape(view.currency)}"),
                _mrkdwn(f"*Category:*\n{escape_within(view.category, 200)}"),
                _mrkdwn(f"*Merchant:*\n{escape_within(view.merchant, 500)}"),
                _mrkdwn(f"*Date:*\n{escape(view.incurred_on)}"),
                _mrkdwn(f"*Receipt:*\n{_receipt_text(view)}"),
            ],
        },
        _section("*Description:*\n" + escape_within(view.description, SECTION_LIMIT - 20)),
        _section(_advice_text(view.llm_advice)),
    ]
    if notice:
        blocks.insert(1, _context(notice))
    if view.route_reasons:
        reasons = "\n".join(f"• {escape_within(r, 300)}" for r in view.route_reasons[:8])
        blocks.append(_section(escape_within("*Why a human decides:*\n", 40) + reasons))
    blocks.append(_context(f"{step_label} · policy {escape(view.policy_version or 'unknown')}"))
    if view.escalation is not None:
        blocks.append(_context(_escalation_line(view.escalation)))
    for decision in view.decisions:
        blocks.append(_context(_outcome_line(decision, view.steps)))
    # The latest exchanges only: a card holds at most 50 blocks.
    for note in view.conversation[-MAX_NOTES:]:
        blocks.append(_section(_note_line(note)))
    if view.awaiting_this_step:
        blocks.append(
            {
                "type": "actions",
                "block_id": BlockId.ACTIONS.value,
                "elements": [
                    button("Approve", ActionId.APPROVE, ref, style="primary"),
                    button("Reject", ActionId.REJECT, ref, style="danger"),
                    button("Ask a question", ActionId.ASK, ref),
                    button("Comment", ActionId.COMMENT, ref),
                ],
            }
        )
    else:
        blocks.append(_section(f"*Outcome:* {_status_phrase(view)}"))
    return blocks


def _note_line(note: NoteView) -> str:
    who = _who(note.slack_user_id, note.author_name)
    verb = {"question": "❓ {} asked", "answer": "💬 {} answered"}.get(note.kind, "💬 {}")
    return f"{verb.format(who)}: {escape_within(note.text, 2500)}"


def _status_phrase(view: CardView) -> str:
    if view.status == Status.PENDING_APPROVAL:
        return f"waiting for step {view.current_step + 1} ({view.steps[view.current_step]})"
    if view.status == Status.EXPIRED:
        return (
            "⌛ expired: nobody decided in time. Not a rejection; the submitter may submit again."
        )
    if view.status == Status.NEEDS_INFO:
        return "waiting for the submitter to answer the question above"
    if view.status == Status.CANCELLED:
        return "cancelled by the submitter"
    return view.status.replace("_", " ")


def button(label: str, action: ActionId, value: str, style: str | None = None) -> Block:
    button: Block = {
        "type": "button",
        "text": {"type": "plain_text", "text": label},
        "action_id": action.value,
        "value": value,
    }
    if style:
        button["style"] = style
    return button


# Each modal's title, submit button and input label.
MODAL_WORDS = {
    CallbackId.REJECT_MODAL: ("Reject expense", "Reject", "Reason"),
    CallbackId.COMMENT_MODAL: ("Comment", "Post comment", "Comment"),
    CallbackId.ASK_MODAL: ("Ask the submitter", "Ask", "Question"),
}


def reason_modal(callback: CallbackId, ref: ModalRef) -> dict[str, Any]:
    title, submit, label = MODAL_WORDS[callback]
    return {
        "type": "modal",
        "callback_id": callback.value,
        "private_metadata": ref.encode(),
        "title": {"type": "plain_text", "text": title},
        "submit": {"type": "plain_text", "text": submit},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [
            {
                "type": "input",
                "block_id": BlockId.REASON.value,
                "label": {"type": "plain_text", "text": label},
                "element": {
                    "type": "plain_text_input",
                    "action_id": REASON_INPUT,
                    "multiline": True,
                    "max_length": 2000,
                },
            }
        ],
    }


def comment_text(slack_user_id: str, text: str) -> str:
    return f"💬 <@{slack_user_id}>: {escape_within(text, 2500)}"


def outcome_notice(
    *, status: str, amount: str, currency: str, merchant: str, decisions: tuple[DecisionView, ...]
) -> str:
    """The direct message that tells the submitter how their expense ended."""
    head = f"Your expense of {escape(amount)} {escape(currency)} at {escape_within(merchant, 200)}"
    if status == Status.EXPIRED:
        return f"{head} expired: nobody decided it in time. It was not rejected; submit it again."
    if status == Status.CANCELLED:
        return f"{head} was cancelled, as you asked."
    if not decisions:
        return f"{head} was {status.replace('_', ' ')} automatically under policy."
    last = decisions[-1]
    verb = "approved" if status == "approved" else "rejected"
    who = f"<@{last.slack_user_id}>" if last.slack_user_id else "an approver"
    reason = f" Reason: {escape_within(last.reason, 1500)}" if last.reason else ""
    return f"{head} was {verb} by {who}.{reason}"


def reminder_text(view: CardView, since: datetime) -> str:
    """The nudge to whoever a step waits on, by direct message or in the card's thread."""
    who = _who(view.submitter_slack_id, view.submitter_name)
    return (
        f"⏰ Reminder: the expense of {escape(view.amount)} {escape(view.currency)} at "
        f"{escape_within(view.merchant, 200)} from {who} has waited for a decision since "
        f"{since.strftime('%Y-%m-%d %H:%M UTC')}."
    )


def step_notice(
    *, amount: str, currency: str, merchant: str, decided: DecisionView, next_step: str | None
) -> str:
    """The direct message that tells the submitter a step was approved and what comes next."""
    head = f"Your expense of {escape(amount)} {escape(currency)} at {escape_within(merchant, 200)}"
    who = f"<@{decided.slack_user_id}>" if decided.slack_user_id else "an approver"
    after = f" It now waits on {escape_within(next_step, 200)}." if next_step else ""
    return f"{head} was approved by {who} (step {decided.step + 1}).{after}"


def question_notice(
    *, asker_slack_id: str | None, amount: str, currency: str, merchant: str, question: str
) -> str:
    """The direct message that asks the submitter a question; they answer in its thread."""
    who = f"<@{asker_slack_id}>" if asker_slack_id else "An approver"
    return (
        f"{who} has a question about your expense of {escape(amount)} {escape(currency)} at "
        f"{escape_within(merchant, 200)}:\n>{escape_within(question, 2500)}\n"
        "Reply in this thread to answer; the approver decides after your answer."
    )
