"""The submitter uploads one (POST /expenses/{id}/receipt); signed links serve it."""

import uuid
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request, Response, UploadFile, status
from pydantic import BaseModel

from app.api.access import audit_refusal
from app.api.deps import DbDep, SettingsDep, TokenHash, authenticated
from app.api.problems import documented
from app.domain.receipt_files import ReceiptType, sniff
from app.logs import bind
from app.policy_loader import load_policy
from app.receipt_links import ReceiptLinks
from app.receipt_store import SHA256_PATTERN, ReceiptStore
from app.services import receipts
from app.services.receipts import Attached

router = APIRouter(tags=["receipts"], responses=documented(400, 401, 413, 422, 429, 503))

NOT_SUBMITTER = "only the submitter may attach a receipt"


class ReceiptOut(BaseModel):
    expense_id: uuid.UUID
    sha256: str
    content_type: ReceiptType
    bytes: int


def _read_within(upload: UploadFile, limit: int) -> bytes:
    data = upload.file.read(limit + 1)
    if len(data) > limit:
        raise HTTPException(
            status.HTTP_413_CONTENT_TOO_LARGE, f"A receipt may be at most {limit} bytes."
        )
    return data


@router.post(
    "/expenses/{expense_id}/receipt",
    status_code=status.HTTP_201_CREATED,
    response_model=ReceiptOut,
    responses=documented(403, 404, 409, 415),
)
def upload_receipt(
    expense_id: uuid.UUID,
    file: UploadFile,
    token_hash: TokenHash,
    db: DbDep,
    settings: SettingsDep,
    request: Request,
) -> ReceiptOut:
    """PDF, PNG, JPEG or HEIC, told by the content; the same bytes count as the same receipt."""
    bind(expense_id=expense_id)
    with db.session() as session:
        employee = authenticated(session, token_hash)
        allowed = receipts.may_attach(session, expense_id, employee)
    if allowed is Attached.NOT_SUBMITTER:
        audit_refusal(db, request, employee, NOT_SUBMITTER, answer=403, expense_id=expense_id)
        raise HTTPException(status.HTTP_403_FORBIDDEN, NOT_SUBMITTER)
    if allowed is Attached.CLOSED:
        raise HTTPException(status.HTTP_409_CONFLICT, "the expense is decided; no receipt now")
    data = _read_within(file, load_policy(settings.policy_file).receipt_max_bytes)
    kind = sniff(data)
    if kind is None:
        raise HTTPException(
            status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
            "A receipt must be a PDF, PNG, JPEG or HEIC file (read from its content).",
        )
    sha256 = ReceiptStore(settings.receipts_root).save(data)
    with db.session() as session:
        employee = authenticated(session, token_hash)
        outcome = receipts.attach(
            session, expense_id, employee, sha256=sha256, receipt_type=kind, size=len(data)
        )
    if outcome is not Attached.ATTACHED:
        # Decided (or handed over) between the check and now; the stored bytes are harmless.
        raise HTTPException(status.HTTP_409_CONFLICT, "the expense is decided; no receipt now")
    return ReceiptOut(expense_id=expense_id, sha256=sha256, content_type=kind, bytes=len(data))


@router.get(
    "/receipts/{sha256}",
    response_class=Response,
    responses={
        200: {"content": {t.value: {} for t in ReceiptType}, "description": "The receipt file"},
        **documented(403, 404),
    },
)
def get_receipt(
    sha256: str, sig: Annotated[str, Query(max_length=512)], settings: SettingsDep
) -> Response:
    """Served to whoever holds the card's unexpired signed link; no token, no storage path."""
    if not SHA256_PATTERN.fullmatch(sha256) or not ReceiptLinks(settings).verify(sha256, sig):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "the receipt link is invalid or expired")
    data = ReceiptStore(settings.receipts_root).read(sha256)
    kind = None if data is None else sniff(data)
    if data is None or kind is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such receipt")
    # Images open in the browser; PDF and HEIC are downloaded rather than rendered by us.
    disposition = "inline" if kind.readable_by_vision else "attachment"
    name = f"receipt-{sha256[:12]}.{kind.extension}"
    return Response(
        data,
        media_type=kind.value,
        headers={
            "Content-Disposition": f'{disposition}; filename="{name}"',
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "default-src 'none'; sandbox",
            "Cache-Control": "private, max-age=3600",
        },
    )
