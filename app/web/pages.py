"""The auditor page's routes: sign in with a token once, then read, filter, follow an expense's
story, check the chain and download exports. Nothing here changes the log or any expense."""

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, FastAPI, Form, Request
from starlette.responses import RedirectResponse, Response

from app.api.access import audit_refusal
from app.api.audit import export_response
from app.api.deps import get_db, get_settings_dep
from app.api.rate_limit import TokenLimiter
from app.domain.audit import AuditAction
from app.domain.audit_chain import ChainPoint, Verdict
from app.domain.audit_filter import FILTER_NAMES, AuditFilter, InvalidFilter, parse_filter
from app.domain.roles import Role
from app.domain.timeline import AUDITOR, story
from app.domain.workflow import FINAL_STATUSES
from app.policy_loader import load_policy
from app.services import audit_browse, timeline
from app.services.audit_export import ExportFormat, export_chunks
from app.services.audit_verify import last_event, verify
from app.services.employees import authenticate_hash, hash_token
from app.settings import Settings
from app.web.render import HERE, page, secured
from app.web.session import FORM_COOKIE, SESSION_COOKIE, PageCookies, PageSession, same
from models import Employee, Expense

router = APIRouter(prefix="/audit", include_in_schema=False)
# Below this many events the page checks the whole chain by itself when it has no result yet.
AUTO_VERIFY_MAX_EVENTS = 50_000
NOT_AUDITOR = "This page is for auditors: your account does not have the auditor role."
FILTER_CHOICES = {
    "action": [a.value for a in AuditAction],
    "decided_by": ["ai", "human"],
    "outcome": sorted(s.value for s in FINAL_STATUSES),
}
CSS = (HERE / "static" / "audit.css").read_text(encoding="utf-8")


@dataclass(frozen=True, slots=True)
class Checked:
    at: datetime
    verdict: Verdict


@dataclass(frozen=True, slots=True)
class Visitor:
    employee: Employee
    session: PageSession


def _cookies(request: Request) -> PageCookies:
    cookies: PageCookies = request.app.state.page_cookies
    return cookies


def _to_sign_in(request: Request, *, end_session: bool = False) -> Response:
    response = RedirectResponse("/audit/sign-in", status_code=303)
    if end_session:
        _cookies(request).clear(response, SESSION_COOKIE)
    return secured(response)


def _refused(request: Request, employee: Employee, *, end_session: bool) -> Response:
    """A 403 page; the refusal is audited, like the API's."""
    audit_refusal(get_db(request), request, employee, NOT_AUDITOR)
    response = page("refused.html", 403, message=NOT_AUDITOR)
    if end_session:
        _cookies(request).clear(response, SESSION_COOKIE)
    return response


def _visitor(request: Request) -> Visitor | Response:
    """The signed-in auditor, checked afresh: a revoked token or a lost role ends it now."""
    session = _cookies(request).session(request.cookies.get(SESSION_COOKIE))
    if session is None:
        return _to_sign_in(request)
    limiter: TokenLimiter = request.app.state.token_limiter
    limiter.check(session.token_hash)
    with get_db(request).session() as db_session:
        employee = authenticate_hash(db_session, session.token_hash)
    if employee is None:
        return _to_sign_in(request, end_session=True)
    if Role.AUDITOR.value not in employee.roles:
        return _refused(request, employee, end_session=True)
    return Visitor(employee, session)


def _filter(request: Request) -> tuple[dict[str, str], AuditFilter | InvalidFilter]:
    given = {k: v for k, v in request.query_params.items() if k in FILTER_NAMES and v.strip()}
    try:
        return given, parse_filter(given)
    except InvalidFilter as exc:
        return given, exc


def _chain_status(request: Request, head: ChainPoint | None) -> Checked | None:
    checked: Checked | None = getattr(request.app.state, "audit_checked", None)
    if checked is None and head is not None and head.seq <= AUTO_VERIFY_MAX_EVENTS:
        checked = _verify_now(request)
    return checked


def _verify_now(request: Request) -> Checked:
    checked = Checked(datetime.now(UTC), verify(get_db(request).engine))
    request.app.state.audit_checked = checked
    return checked


@router.get("/static/audit.css")
def stylesheet() -> Response:
    response = Response(CSS, media_type="text/css; charset=utf-8")
    secured(response)
    response.headers["Cache-Control"] = "max-age=3600"
    return response


def _sign_in_page(request: Request, status_code: int = 200, error: str | None = None) -> Response:
    cookies = _cookies(request)
    nonce, new_cookie = cookies.form_nonce(request.cookies.get(FORM_COOKIE))
    response = page("sign_in.html", status_code, error=error, csrf=nonce)
    if new_cookie is not None:
        cookies.set_form_cookie(response, new_cookie)
    return response


@router.get("/sign-in")
def sign_in_form(request: Request) -> Response:
    if _cookies(request).session(request.cookies.get(SESSION_COOKIE)) is not None:
        return secured(RedirectResponse("/audit/", status_code=303))
    return _sign_in_page(request)


@router.post("/sign-in")
def sign_in(
    request: Request,
    token: Annotated[str, Form(max_length=200)] = "",
    csrf: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    cookies = _cookies(request)
    if not cookies.form_ok(request.cookies.get(FORM_COOKIE), csrf):
        return _sign_in_page(request, 400, "The form had expired. Please sign in again.")
    token_hash = hash_token(token.strip())
    limiter: TokenLimiter = request.app.state.token_limiter
    limiter.check(token_hash)
    with get_db(request).session() as db_session:
        employee = authenticate_hash(db_session, token_hash) if token.strip() else None
    if employee is None:
        return _sign_in_page(request, 401, "That token is not valid, or it was revoked.")
    if Role.AUDITOR.value not in employee.roles:
        return _refused(request, employee, end_session=False)
    response = secured(RedirectResponse("/audit/", status_code=303))
    cookies.start_session(response, token_hash)
    return response


@router.post("/sign-out")
def sign_out(request: Request, csrf: Annotated[str, Form(max_length=100)] = "") -> Response:
    session = _cookies(request).session(request.cookies.get(SESSION_COOKIE))
    if session is not None and not same(session.csrf, csrf):
        return page(
            "refused.html", 400, message="That sign-out form was not ours; still signed in."
        )
    return _to_sign_in(request, end_session=True)


@router.get("/")
def index(request: Request) -> Response:
    visitor = _visitor(request)
    if isinstance(visitor, Response):
        return visitor
    given, flt = _filter(request)
    currency = load_policy(get_settings_dep(request).policy_file).currency
    before_text = request.query_params.get("before", "")
    before = int(before_text) if before_text.isdigit() and len(before_text) < 19 else None
    rows: list[audit_browse.ExpenseRow] = []
    older = None
    with get_db(request).session() as db_session:
        head = last_event(db_session.connection())
        if isinstance(flt, AuditFilter):
            rows, older = audit_browse.expense_rows(db_session, flt, currency, before=before)
    query = urlencode(given)
    return page(
        "index.html",
        422 if isinstance(flt, InvalidFilter) else 200,
        auditor=visitor.employee,
        csrf=visitor.session.csrf,
        values=given,
        choices=FILTER_CHOICES,
        error=flt if isinstance(flt, InvalidFilter) else None,
        rows=rows,
        older=f"?{urlencode({**given, 'before': older})}" if older else None,
        query=query,
        head=head,
        checked=_chain_status(request, head),
        currency=currency,
    )


@router.get("/verify")
def verify_page(request: Request) -> Response:
    visitor = _visitor(request)
    if isinstance(visitor, Response):
        return visitor
    checked = _verify_now(request)
    return page("verify.html", auditor=visitor.employee, csrf=visitor.session.csrf, checked=checked)


@router.get("/expenses/{expense_id}")
def expense_page(request: Request, expense_id: uuid.UUID) -> Response:
    visitor = _visitor(request)
    if isinstance(visitor, Response):
        return visitor
    with get_db(request).session() as db_session:
        expense = db_session.get(Expense, expense_id)
        if expense is None:
            return page("refused.html", 404, message="There is no expense with that id.")
        submitter = db_session.get(Employee, expense.submitter_id)
        entries = story(timeline.entries(db_session, expense_id), AUDITOR)
        summary = audit_browse.expense_rows(
            db_session, AuditFilter(expense_id=expense_id), expense.currency
        )[0]
    return page(
        "expense.html",
        auditor=visitor.employee,
        csrf=visitor.session.csrf,
        expense=expense,
        submitter=submitter,
        row=summary[0] if summary else None,
        entries=entries,
    )


@router.get("/download/events.{fmt}")
def download(request: Request, fmt: ExportFormat) -> Response:
    visitor = _visitor(request)
    if isinstance(visitor, Response):
        return visitor
    _given, flt = _filter(request)
    if isinstance(flt, InvalidFilter):
        return page("refused.html", 422, message=f"{flt.field}: {flt}")
    currency = load_policy(get_settings_dep(request).policy_file).currency
    return secured(export_response(export_chunks(get_db(request).engine, flt, currency, fmt), fmt))


def install(api: FastAPI, settings: Settings) -> None:
    """Adds the page to the app; its cookies are Secure when the bot is served over https."""
    secure = settings.public_base_url.startswith("https://")
    api.state.page_cookies = PageCookies(settings.session_secret.get_secret_value(), secure=secure)
    api.state.audit_checked = None
    api.include_router(router)
