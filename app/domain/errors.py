"""Domain errors; the edges map them to HTTP codes, Slack messages and CLI exit codes."""


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
