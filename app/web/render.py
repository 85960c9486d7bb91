"""Rendering the auditor pages: Jinja2 with autoescaping, words for the log's codes, and the
security headers every page carries."""

from datetime import datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from starlette.responses import HTMLResponse, Response

HERE = Path(__file__).parent
# No scripts at all, styles from our own file, forms only to ourselves, never framed.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
ACTION_WORDS = {
    "submitted": "Submitted",
    "llm_reviewed": "AI review",
    "auto_approved": "Auto-approved",
    "auto_rejected": "Auto-rejected",
    "routed_to_human": "Sent to approvers",
    "step_approved": "Step approved",
    "approved": "Approved",
    "rejected": "Rejected",
    "commented": "Comment",
    "decision_refused": "Decision refused",
    "slack_request_refused": "Slack request refused",
    "access_refused": "Access refused",
    "employee_added": "Employee added",
    "token_created": "Token created",
    "reminded": "Reminder sent",
    "escalated": "Escalated",
    "expired": "Expired",
    "delegated": "Delegation",
}
STATUS_WORDS = {
    "submitted": "Submitted",
    "pending_approval": "Waiting for approval",
    "approved": "Approved",
    "rejected": "Rejected",
    "expired": "Expired (nobody decided in time)",
}


def _when(moment: datetime | None) -> str:
    return "" if moment is None else moment.strftime("%Y-%m-%d %H:%M:%S UTC")


def _words(code: str | None, table: dict[str, str]) -> str:
    if code is None:
        return ""
    return table.get(code, code.replace("_", " ").capitalize())


templates = Environment(
    loader=FileSystemLoader(HERE / "templates"),
    autoescape=True,  # everything a person typed is escaped, in every template
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
templates.filters["when"] = _when
templates.filters["action"] = lambda code: _words(code, ACTION_WORDS)
templates.filters["status"] = lambda code: _words(code, STATUS_WORDS)


def secured(response: Response) -> Response:
    response.headers.update(SECURITY_HEADERS)
    return response


def page(name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    html = templates.get_template(name).render(**context)
    response = HTMLResponse(html, status_code=status_code)
    secured(response)
    return response
