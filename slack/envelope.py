"""The outer shape of what Slack sends; anything else is refused before Bolt reads it.

Bolt assumes Slack's shapes (a `user` that is an object, a `view` with a `type`, ...) and
answers 500 when a signed body breaks them. Slack never sends such bodies, so they are a 400.
"""

import json
from typing import Any
from urllib.parse import parse_qs

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator


class _Shape(BaseModel):
    model_config = ConfigDict(extra="allow", strict=True)


class _Id(_Shape):
    id: str


class _Action(_Shape):
    action_id: str
    type: str
    block_id: str | None = None
    value: str | None = None


class _ViewState(_Shape):
    values: dict[str, dict[str, dict[str, Any]]]


class _View(_Shape):
    type: str
    callback_id: str
    state: _ViewState | None = None
    private_metadata: str | None = None


# What Bolt reads without checking, per interaction type.
REQUIRED_PARTS = {
    "block_actions": ("actions",),
    "view_submission": ("view",),
    "view_closed": ("view",),
}


class Interaction(_Shape):
    """block_actions, view_submission, view_closed, shortcuts: form field `payload`."""

    type: str
    api_app_id: str | None = None
    team: _Id | None = None
    enterprise: _Id | None = None
    user: _Id
    channel: _Id | None = None
    actions: list[_Action] | None = Field(default=None, min_length=1)
    view: _View | None = None
    trigger_id: str | None = None

    @model_validator(mode="after")
    def _parts_its_type_needs(self) -> "Interaction":
        needs = REQUIRED_PARTS.get(self.type, ())
        if any(getattr(self, part) is None for part in needs):
            raise ValueError(f"a {self.type} payload needs {', '.join(needs)}")
        return self


class Command(_Shape):
    """A slash command: plain form fields."""

    command: str
    team_id: str
    user_id: str
    api_app_id: str | None = None
    enterprise_id: str | None = None
    text: str = ""
    trigger_id: str | None = None
    channel_id: str | None = None


class _Event(_Shape):
    type: str
    user: str | None = None


class EventCallback(_Shape):
    """The Events API, as JSON."""

    type: str
    team_id: str | None = None
    api_app_id: str | None = None
    event: _Event | None = None
    challenge: str | None = None


class NotASlackPayload(ValueError):
    pass


def _single_values(form: dict[str, list[str]]) -> dict[str, str]:
    if any(len(values) != 1 for values in form.values()):
        raise NotASlackPayload("a form field is repeated")
    return {name: values[0] for name, values in form.items()}


def check_envelope(body: bytes, content_type: str) -> None:
    """Raise NotASlackPayload unless `body` has the shape of something Slack sends."""
    try:
        text = body.decode("utf-8")
        if content_type.startswith("application/json"):
            EventCallback.model_validate(json.loads(text))
            return
        form = _single_values(parse_qs(text, keep_blank_values=True, strict_parsing=True))
        if "payload" in form:
            Interaction.model_validate(json.loads(form["payload"]))
        else:
            Command.model_validate(form)
    except (ValueError, ValidationError) as exc:  # JSONDecodeError and UnicodeError are ValueErrors
        raise NotASlackPayload(str(exc)[:200]) from None
