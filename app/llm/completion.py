"""A chat completion's JSON, read into just the fields the reviewer uses.

The SDK's own reading builds every model of the response field by field in Python; in a
128-thread worker it was a tenth of the CPU. This reads the raw body once with pydantic's
compiled validator. It is as lenient as the reviewer needs: unknown fields are ignored, and a
missing one is None, which the reviewer treats as no advice.
"""

from pydantic import BaseModel, ConfigDict


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="ignore")


class TokenOut(_Lenient):
    token: str
    logprob: float


class Logprobs(_Lenient):
    content: list[TokenOut] | None = None


class Message(_Lenient):
    content: str | None = None
    refusal: str | None = None


class Choice(_Lenient):
    finish_reason: str | None = None
    message: Message = Message()
    logprobs: Logprobs | None = None


class Usage(_Lenient):
    prompt_tokens: int = 0
    completion_tokens: int = 0


class Completion(_Lenient):
    model: str | None = None
    choices: list[Choice] = []
    usage: Usage | None = None
