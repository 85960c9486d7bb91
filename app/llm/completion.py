"""A chat completion's JSON, read into just the fields the reviewer uses.

The SDK's own reading builds every model of the response field by field in Python; in a
128-thread worker it was a tenth of the CPU. This reads the raw body once with pydantic's
compiled validator. It is as lenient as the reviewer needs: unknown fields are ignored (pydantic's
default), and a missing one is empty, which the reviewer treats as no advice.
"""

from pydantic import BaseModel, Field


class TokenOut(BaseModel):
    token: str
    logprob: float


class Logprobs(BaseModel):
    content: list[TokenOut] | None = None


class Message(BaseModel):
    content: str | None = None
    refusal: str | None = None


class Choice(BaseModel):
    finish_reason: str | None = None
    message: Message = Field(default_factory=Message)
    logprobs: Logprobs | None = None


class Usage(BaseModel):
    prompt_tokens: int = 0
    completion_tokens: int = 0


class Completion(BaseModel):
    model: str | None = None
    choices: list[Choice] = Field(default_factory=list)
    usage: Usage | None = None
