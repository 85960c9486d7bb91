"""Domain errors; the edges map them to HTTP codes, Slack messages and CLI exit codes."""

from collections.abc import Sequence
from dataclasses import dataclass


class DomainError(Exception):
    """Base for every error the core raises on purpose."""


class InvalidMoney(DomainError):
    pass


class PolicyError(DomainError):
    pass


class InvalidTransition(DomainError):
    def __init__(self, status: str, action: str) -> None:
        super().__init__(f"cannot {action} an expense that is {status}")
        self.status = status
        self.action = action


class NotFound(DomainError):
    pass


class IdempotencyConflict(DomainError):
    pass


class DecisionRefused(DomainError):
    """An approver may not make this decision; `code` names the rule that refused it."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class InvalidInput(DomainError):
    """A value a person typed is refused; `field` names where it came from."""

    # Where the field was: the request body, or the query string.
    location = "body"

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True, slots=True)
class RowProblem:
    """One refused value in a directory change: the line of the file (if any) and the field."""

    line: int | None
    field: str
    message: str

    def __str__(self) -> str:
        where = f"line {self.line}, {self.field}" if self.line is not None else self.field
        return f"{where}: {self.message}"


class InvalidRows(DomainError):
    """A directory change is refused as a whole; every problem found is listed."""

    def __init__(self, problems: Sequence[RowProblem]) -> None:
        self.problems = tuple(problems)
        listed = "\n".join(f"  {problem}" for problem in self.problems)
        super().__init__(f"nothing was changed; fix these and try again:\n{listed}")


class WouldLockOut(DomainError):
    """An admin may not remove their own access: someone else must do it."""
