"""Request and response bodies of the admin API for the employee directory."""

from pydantic import BaseModel, ConfigDict, Field

from app.domain.directory_plan import Outcome
from app.domain.roles import Role
from app.services.directory import DirectoryEntry


class EmployeeIn(BaseModel):
    """One employee as they should be. Text is cleaned as for expenses, then the limits apply."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"name": "Ann Lee", "department": "Sales", "roles": ["approver"]}]
        },
    )

    name: str = Field(json_schema_extra={"minLength": 1, "maxLength": 200})
    slack_user_id: str | None = Field(
        default=None,
        description="U or W, then letters and digits. Absent or empty: keep the stored id, "
        "or look it up by email in Slack",
        json_schema_extra={"maxLength": 32},
    )
    manager_email: str | None = Field(
        default=None, description="An employee already in the directory"
    )
    department: str | None = Field(default=None, json_schema_extra={"maxLength": 100})
    cost_center: str | None = Field(default=None, json_schema_extra={"maxLength": 64})
    roles: list[Role] = Field(
        default_factory=list, max_length=len(Role), description="employee is always included"
    )


class EmployeePage(BaseModel):
    employees: list[DirectoryEntry]
    next_cursor: str | None


class ChangeOut(BaseModel):
    line: int | None = Field(description="The line of the CSV file")
    email: str
    outcome: Outcome
    changed: list[str] = Field(description="The fields that changed")


class LookupFailureOut(BaseModel):
    line: int | None
    email: str
    error: str = Field(description="Slack's error, e.g. users_not_found or ratelimited")


class EmployeeChangeOut(BaseModel):
    outcome: Outcome
    changed: list[str]
    employee: DirectoryEntry
    slack_lookup_failure: str | None = Field(
        description="Why no Slack id was found by email, if one was needed and not found"
    )


class ImportOut(BaseModel):
    added: int
    updated: int
    unchanged: int
    changes: list[ChangeOut] = Field(description="Every row that added or updated someone")
    slack_lookup_failures: list[LookupFailureOut] = Field(
        description="People left without a Slack id; importing again retries them"
    )


class DeactivationOut(BaseModel):
    deactivated: bool = Field(description="False if the employee already was deactivated")
    employee: DirectoryEntry
