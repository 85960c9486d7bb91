"""The admin API for the employee directory: list, upsert one, import a CSV, deactivate."""

from dataclasses import replace
from functools import partial
from typing import Annotated

from fastapi import APIRouter, Body, Depends, Path, Query, Response, status

from app.api.audit import Cursor
from app.api.deps import CurrentAdmin, DbDep, SettingsDep
from app.api.directory_schemas import (
    ChangeOut,
    DeactivationOut,
    EmployeeChangeOut,
    EmployeeIn,
    EmployeePage,
    ImportOut,
    LookupFailureOut,
)
from app.api.problems import documented
from app.directory_changes import Report, change_directory
from app.domain.audit import Actor, Channel
from app.domain.directory import Row, SlackLookup, normalize_email, person_record, read_csv
from app.domain.directory_plan import Outcome, check_may_deactivate
from app.domain.errors import InvalidInput, InvalidRows, RowProblem
from app.services import directory
from models import Employee
from slack.client import make_web_client
from slack.directory import lookup_slack_ids

router = APIRouter(
    prefix="/admin", tags=["admin"], responses=documented(400, 401, 403, 413, 422, 429, 503)
)

EmailPath = Annotated[
    str,
    Path(max_length=320, description="The employee's email", examples=["ann@corp.example"]),
]
CSV_EXAMPLE = (
    "email,name,slack_user_id,manager_email,department,cost_center,roles\n"
    "ann@corp.example,Ann Lee,,bob@corp.example,Sales,CC-100,\n"
    "bob@corp.example,Bob Stone,,,Sales,CC-100,approver;finance\n"
)


def slack_lookup(settings: SettingsDep) -> SlackLookup:
    return partial(lookup_slack_ids, make_web_client(settings))


SlackLookupDep = Annotated[SlackLookup, Depends(slack_lookup)]


def _actor(admin: Employee) -> Actor:
    return Actor.employee(admin.id, admin.email)


def _path_email(email: str) -> str:
    try:
        return normalize_email("email", email)
    except InvalidInput as exc:
        raise InvalidRows([RowProblem(None, "path.email", str(exc))]) from None


def _in_body(exc: InvalidRows) -> InvalidRows:
    """Name the fields of a single change as request fields (the email is in the path)."""
    where = {"email": "path.email"}
    return InvalidRows(
        [replace(p, field=where.get(p.field, f"body.{p.field}")) for p in exc.problems]
    )


@router.get("/employees", response_model=EmployeePage)
def list_employees(
    _admin: CurrentAdmin,
    db: DbDep,
    cursor: Cursor = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> EmployeePage:
    after_id = int(cursor) if cursor is not None else None
    with db.session() as session:
        people = directory.listed(session, after_id=after_id, limit=limit)
    out = list(people)
    next_cursor = str(out[-1].id) if len(out) == limit else None
    return EmployeePage(employees=out, next_cursor=next_cursor)


@router.put(
    "/employees/{email}",
    response_model=EmployeeChangeOut,
    responses={201: {"model": EmployeeChangeOut}, **documented(409)},
)
def put_employee(
    email: EmailPath,
    body: EmployeeIn,
    admin: CurrentAdmin,
    db: DbDep,
    lookup: SlackLookupDep,
    response: Response,
) -> EmployeeChangeOut:
    """Add or update one employee (201 when added). Their active flag is left as it is."""
    address = _path_email(email)
    try:
        record = person_record(
            line=None,
            email=address,
            name=body.name,
            slack_user_id=body.slack_user_id,
            manager_email=body.manager_email,
            department=body.department,
            cost_center=body.cost_center,
            roles=[role.value for role in body.roles],
        )
        report = change_directory(
            db,
            [Row(None, record)],
            actor=_actor(admin),
            channel=Channel.API,
            lookup=lookup,
            admin_email=admin.email,
        )
    except InvalidRows as exc:
        raise _in_body(exc) from None
    change = report.plan.changes[0]
    if change.outcome is Outcome.ADDED:
        response.status_code = status.HTTP_201_CREATED
    with db.session() as session:
        employee = directory.listed_one(session, address)
    failure = report.lookup_failures[0].error if report.lookup_failures else None
    return EmployeeChangeOut(
        outcome=change.outcome,
        changed=list(change.changes),
        employee=employee,
        slack_lookup_failure=failure,
    )


def _import_out(report: Report) -> ImportOut:
    plan = report.plan
    return ImportOut(
        added=plan.count(Outcome.ADDED),
        updated=plan.count(Outcome.UPDATED),
        unchanged=plan.count(Outcome.UNCHANGED),
        changes=[
            ChangeOut(line=c.line, email=c.record.email, outcome=c.outcome, changed=list(c.changes))
            for c in plan.changes
            if c.outcome is not Outcome.UNCHANGED
        ],
        slack_lookup_failures=[
            LookupFailureOut(line=f.line, email=f.email, error=f.error)
            for f in report.lookup_failures
        ],
    )


@router.post("/employees/import", response_model=ImportOut, responses=documented(409))
def import_employees(
    body: Annotated[
        bytes,
        Body(
            media_type="text/csv",
            description="UTF-8 CSV with the header "
            "email,name,slack_user_id,manager_email,department,cost_center,roles; "
            "roles separated by ';'",
            examples=[CSV_EXAMPLE],
        ),
    ],
    admin: CurrentAdmin,
    db: DbDep,
    lookup: SlackLookupDep,
) -> ImportOut:
    """Add or update everyone in the file, in one transaction; a bad row changes nothing."""
    rows = read_csv(body)
    report = change_directory(
        db, rows, actor=_actor(admin), channel=Channel.API, lookup=lookup, admin_email=admin.email
    )
    return _import_out(report)


@router.post(
    "/employees/{email}/deactivate", response_model=DeactivationOut, responses=documented(404, 409)
)
def deactivate_employee(email: EmailPath, admin: CurrentAdmin, db: DbDep) -> DeactivationOut:
    """Their tokens stop working and they can no longer decide; their history stays."""
    address = _path_email(email)
    check_may_deactivate(admin.email, address)
    with db.session() as session:
        changed = directory.deactivate(session, address, actor=_actor(admin), channel=Channel.API)
        employee = directory.listed_one(session, address)
    return DeactivationOut(deactivated=changed, employee=employee)
