"""The auditors' reports over HTTP: GET /audit/reports/{name}, and the same as CSV."""

import secrets
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response

from app.api.audit_filters import AuditFilterDep
from app.api.deps import CurrentAuditor, DbDep, SettingsDep
from app.api.problems import documented
from app.api.schemas import ReportOut
from app.domain.audit_export import csv_chunks
from app.domain.audit_reports import (
    DEFAULT_SAMPLE_RATE,
    Report,
    ReportName,
    parse_rate,
    parse_seed,
)
from app.policy_loader import load_policy
from app.services import audit_reports

router = APIRouter(
    prefix="/audit/reports",
    tags=["audit"],
    responses=documented(400, 401, 403, 413, 422, 429, 503),
)
CSV_MEDIA_TYPE = "text/csv; charset=utf-8"


def _report(
    name: ReportName,
    db: DbDep,
    settings: SettingsDep,
    flt: AuditFilterDep,
    rate: Annotated[
        str | None, Query(max_length=12, description="sample only: 0.05 or 5% (the default)")
    ] = None,
    seed: Annotated[
        str | None,
        Query(max_length=64, description="sample only: the same seed draws the same sample"),
    ] = None,
) -> Report:
    fraction = parse_rate(rate) if rate is not None else DEFAULT_SAMPLE_RATE
    chosen_seed = parse_seed(seed) if seed is not None else secrets.token_hex(4)
    currency = load_policy(settings.policy_file).currency
    with db.session() as session:
        return audit_reports.build(
            session, name, flt, currency, rate=Decimal(fraction), seed=chosen_seed
        )


ReportDep = Annotated[Report, Depends(_report)]


@router.get(
    "/{name}.csv",
    response_class=Response,
    responses={200: {"content": {CSV_MEDIA_TYPE: {"schema": {"type": "string"}}}}},
)
def report_csv(_auditor: CurrentAuditor, report: ReportDep) -> Response:
    """The report as CSV (the columns are in the README's "For auditors")."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    body = "".join(csv_chunks(report.rows, report.columns))
    return Response(
        body.encode("utf-8"),
        media_type=CSV_MEDIA_TYPE,
        headers={
            "Content-Disposition": f'attachment; filename="{report.name.value}-{stamp}.csv"',
            "Cache-Control": "no-store",
        },
    )


@router.get("/{name}", response_model=ReportOut)
def report_json(_auditor: CurrentAuditor, report: ReportDep) -> ReportOut:
    """sample: auto-approved expenses drawn for spot checks; sod: refused decisions;
    overrides: human decisions against the AI; timing: time to decision per step and approver."""
    rows: list[dict[str, Any]] = [
        dict(zip(report.columns, row, strict=True)) for row in report.rows
    ]
    return ReportOut(
        report=report.name.value,
        parameters=report.parameters,
        columns=list(report.columns),
        rows=rows,
    )
