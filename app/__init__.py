"""Expense approval bot: the FastAPI service and the pure domain core."""

from app import _imports

_imports.prefer_project_slack()
