"""Action, callback and block ids, and the typed references carried in buttons and modals."""

import uuid
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field


class ActionId(StrEnum):
    APPROVE = "expense_approve"
    REJECT = "expense_reject"
    COMMENT = "expense_comment"
    ASK = "expense_ask"


class CallbackId(StrEnum):
    REJECT_MODAL = "expense_reject_modal"
    COMMENT_MODAL = "expense_comment_modal"
    ASK_MODAL = "expense_ask_modal"
    HOME = "expense_home"


class BlockId(StrEnum):
    ACTIONS = "expense_actions"
    REASON = "reason"


REASON_INPUT = "reason_input"
METADATA_EVENT_TYPE = "expense_bot_message"


class CardRef(BaseModel):
    """Which expense and approval step a button or modal belongs to."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    expense_id: uuid.UUID = Field(alias="e")
    step: int = Field(alias="s", ge=0, le=20)

    def encode(self) -> str:
        return self.model_dump_json(by_alias=True)


class ModalRef(CardRef):
    """A CardRef plus the channel to answer in, kept in a modal's private_metadata."""

    channel: str = Field(alias="c", max_length=32)
