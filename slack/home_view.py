"""The pure Block Kit builder of the bot's Home tab: steps to decide, and one's own expenses."""

from dataclasses import dataclass
from typing import Any

from slack.blocks import Block, button
from slack.ids import ActionId, BlockId, CallbackId, CardRef
from slack.text import escape, escape_within


@dataclass(frozen=True, slots=True)
class PendingItem:
    expense_id: str
    step: int
    step_label: str
    submitter_name: str
    amount: str
    currency: str
    merchant: str
    category: str


@dataclass(frozen=True, slots=True)
class OwnItem:
    amount: str
    currency: str
    merchant: str
    status: str
    submitted_on: str


def _section(text: str) -> Block:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def _header(text: str) -> Block:
    return {"type": "header", "text": {"type": "plain_text", "text": text}}


def _pending(item: PendingItem) -> list[Block]:
    ref = CardRef(e=item.expense_id, s=item.step).encode()
    return [
        _section(
            f"*{escape(item.amount)} {escape(item.currency)}* at "
            f"{escape_within(item.merchant, 200)} from {escape_within(item.submitter_name, 100)}"
            f" · {escape_within(item.category, 100)} · {escape_within(item.step_label, 200)}"
        ),
        {
            "type": "actions",
            # Unique per step: a view's block ids must differ.
            "block_id": f"{BlockId.ACTIONS.value}:{item.expense_id}:{item.step}",
            "elements": [
                button("Approve", ActionId.APPROVE, ref, style="primary"),
                button("Reject", ActionId.REJECT, ref, style="danger"),
                button("Ask a question", ActionId.ASK, ref),
            ],
        },
    ]


UNLINKED = "Your Slack account is not linked to an employee; ask an admin to add your Slack id."


def unlinked_home() -> dict[str, Any]:
    return {"type": "home", "callback_id": CallbackId.HOME.value, "blocks": [_section(UNLINKED)]}


def home_view(pending: list[PendingItem], own: list[OwnItem]) -> dict[str, Any]:
    blocks: list[Block] = [_header("Waiting for your decision")]
    if not pending:
        blocks.append(_section("Nothing waits for you."))
    for item in pending:
        blocks.extend(_pending(item))
    blocks.append({"type": "divider"})
    blocks.append(_header("Your recent expenses"))
    if not own:
        blocks.append(_section("You have not submitted any expenses."))
    for mine in own:
        blocks.append(
            _section(
                f"{escape(mine.submitted_on)} · {escape(mine.amount)} {escape(mine.currency)} at "
                f"{escape_within(mine.merchant, 200)}: *{escape(mine.status.replace('_', ' '))}*"
            )
        )
    return {"type": "home", "callback_id": CallbackId.HOME.value, "blocks": blocks}
