"""A decision someone asked for in Slack, recorded when Slack was answered and applied later."""

import uuid
from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any


class RequestKind(StrEnum):
    APPROVE = "approve"
    REJECT = "reject"
    COMMENT = "comment"
    ASK = "ask"
    # The submitter's reply in the thread of a question sent to them.
    ANSWER = "answer"


@dataclass(frozen=True, slots=True)
class DecisionRequest:
    kind: RequestKind
    expense_id: uuid.UUID
    step: int
    slack_user_id: str
    # Where to answer the person privately.
    channel: str
    reason: str | None = None

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["kind"] = self.kind.value
        data["expense_id"] = str(self.expense_id)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "DecisionRequest":
        return cls(
            kind=RequestKind(data["kind"]),
            expense_id=uuid.UUID(data["expense_id"]),
            step=int(data["step"]),
            slack_user_id=str(data["slack_user_id"]),
            channel=str(data["channel"]),
            reason=data.get("reason"),
        )
