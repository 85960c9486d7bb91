"""The roles people hold; app/domain/routing.py says who may decide which step."""

from enum import StrEnum


class Role(StrEnum):
    EMPLOYEE = "employee"
    APPROVER = "approver"
    FINANCE = "finance"
    AUDITOR = "auditor"
    # Manages the directory: people, their roles and their deactivation.
    ADMIN = "admin"
