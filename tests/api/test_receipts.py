"""Receipt uploads and their signed links, in-process against PostgreSQL."""

import hashlib
import json
import time
import uuid
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from urllib.parse import urlsplit

import httpx2
import pytest
from fastapi.testclient import TestClient
from itsdangerous import TimestampSigner
from sqlalchemy import select

from app import job_names
from app.db import Database
from app.domain.advice import LlmUnavailable
from app.domain.gate import route_expense
from app.domain.receipt_check import ReceiptUnread
from app.domain.rules import evaluate_rules
from app.policy_loader import load_policy
from app.receipt_links import LINK_SECONDS, ReceiptLinks
from app.services import receipts
from app.services.evaluation import facts_of
from app.services.history import history_of
from app.settings import DEFAULT_POLICY_FILE, Settings
from models import AuditEvent, Expense
from slack.blocks import approval_card
from slack.card_data import load_card_view
from tests.api.conftest import AppFactory
from tests.api.helpers import Person
from tests.conftest import JobRecorder
from tests.helpers import expense_body
from tests.receipt_files import pdf, png

PersonFactory = Callable[..., Person]
ExpenseFactory = Callable[..., uuid.UUID]


@pytest.fixture
def receipts_dir(tmp_path: Path) -> Path:
    return tmp_path / "receipts"


@pytest.fixture
def client(make_client: AppFactory, receipts_dir: Path) -> TestClient:
    return make_client(receipts_dir=receipts_dir)


def upload(
    client: TestClient, who: Person, expense_id: uuid.UUID, data: bytes, name: str = "r.pdf"
) -> httpx2.Response:
    files = {"file": (name, data, "application/octet-stream")}
    return client.post(f"/expenses/{expense_id}/receipt", files=files, headers=who.auth)


def submitted(client: TestClient, who: Person) -> uuid.UUID:
    """An expense over the receipt threshold, without a link, not evaluated yet."""
    response = client.post("/expenses", json=expense_body(receipt_url=None), headers=who.auth)
    assert response.status_code == 202, response.text
    return uuid.UUID(response.json()["id"])


def stored(db: Database, expense_id: uuid.UUID) -> Expense:
    with db.session() as session:
        expense = session.get(Expense, expense_id)
        assert expense is not None
        return expense


def events(db: Database, expense_id: uuid.UUID, action: str) -> list[AuditEvent]:
    with db.session() as session:
        query = select(AuditEvent).where(
            AuditEvent.expense_id == expense_id, AuditEvent.action == action
        )
        return list(session.scalars(query))


def files_in(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def queued(jobs: JobRecorder, since: int) -> list[tuple[str, tuple[object, ...]]]:
    return [(j.task, tuple(j.args)) for j in jobs.jobs[since:]]


def settings_of(client: TestClient) -> Settings:
    settings: Settings = client.app.state.settings  # type: ignore[attr-defined]
    return settings


def test_the_type_comes_from_the_content_not_the_name(
    client: TestClient, db: Database, person: PersonFactory, receipts_dir: Path
) -> None:
    alice = person()
    expense_id = submitted(client, alice)
    data = png()
    response = upload(client, alice, expense_id, data, name="receipt.pdf")
    assert response.status_code == 201, response.text
    sha256 = hashlib.sha256(data).hexdigest()
    assert response.json() == {
        "expense_id": str(expense_id),
        "sha256": sha256,
        "content_type": "image/png",
        "bytes": len(data),
    }
    # Content-addressed, two levels of fan-out, nothing else left behind.
    path = receipts_dir / sha256[:2] / sha256[2:4] / sha256
    assert files_in(receipts_dir) == [path]
    assert path.read_bytes() == data
    expense = stored(db, expense_id)
    assert (expense.receipt_sha256, expense.receipt_content_type) == (sha256, "image/png")
    shown = client.get(f"/expenses/{expense_id}", headers=alice.auth).json()
    assert shown["receipt_file"] == {"sha256": sha256, "content_type": "image/png"}
    [event] = events(db, expense_id, "receipt_attached")
    assert (event.details["sha256"], event.details["content_type"]) == (sha256, "image/png")


def test_a_pdf_is_accepted_whatever_its_name(client: TestClient, person: PersonFactory) -> None:
    alice = person()
    response = upload(client, alice, submitted(client, alice), pdf(), "scan.png")
    assert response.status_code == 201, response.text
    assert response.json()["content_type"] == "application/pdf"


def test_a_text_file_named_png_is_refused_and_not_stored(
    client: TestClient, db: Database, person: PersonFactory, receipts_dir: Path
) -> None:
    alice = person()
    expense_id = submitted(client, alice)
    response = upload(client, alice, expense_id, b"just some text, honest\n" * 10, "r.png")
    assert response.status_code == 415
    assert response.headers["content-type"] == "application/problem+json"
    assert files_in(receipts_dir) == []
    assert stored(db, expense_id).receipt_content_type is None
    assert events(db, expense_id, "receipt_attached") == []


def test_receipts_over_the_policy_size_are_413(
    make_client: AppFactory, person: PersonFactory, receipts_dir: Path, tmp_path: Path
) -> None:
    policy = tmp_path / "policy.toml"
    text = DEFAULT_POLICY_FILE.read_text()
    policy.write_text(text.replace("receipt_max_bytes = 10485760", "receipt_max_bytes = 4096"))
    client = make_client(receipts_dir=receipts_dir, policy_file=policy)
    alice = person()
    expense_id = submitted(client, alice)
    # Just over the file limit (within the multipart allowance): refused by the route.
    response = upload(client, alice, expense_id, png(size=4100))
    assert response.status_code == 413
    # Far over: refused by the body limit before the body is read.
    response = upload(client, alice, expense_id, png(size=200_000))
    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"
    assert files_in(receipts_dir) == []
    assert upload(client, alice, expense_id, png(size=3000)).status_code == 201


def test_only_the_submitter_may_upload_and_a_refusal_is_audited(
    client: TestClient, db: Database, person: PersonFactory, receipts_dir: Path
) -> None:
    alice, mallory = person(), person("auditor")
    expense_id = submitted(client, alice)
    response = upload(client, mallory, expense_id, png())
    assert response.status_code == 403
    assert response.headers["content-type"] == "application/problem+json"
    [refusal] = events(db, expense_id, "access_refused")
    assert refusal.actor_id == mallory.email
    assert refusal.details["answer"] == 403
    assert files_in(receipts_dir) == []
    assert stored(db, expense_id).receipt_content_type is None
    assert upload(client, mallory, uuid.uuid4(), png()).status_code == 404


def test_the_same_bytes_on_another_expense_break_the_duplicate_rule(
    client: TestClient, db: Database, person: PersonFactory
) -> None:
    alice, bob = person(), person()
    first, second = submitted(client, alice), submitted(client, bob)
    data = png()
    assert upload(client, alice, first, data).status_code == 201
    assert upload(client, bob, second, data, name="other-name.png").status_code == 201
    policy = load_policy(DEFAULT_POLICY_FILE)
    with db.session() as session:
        expense = session.get(Expense, second)
        assert expense is not None
        trace = {
            r.rule: r
            for r in evaluate_rules(
                policy, facts_of(expense, policy, history_of(session, expense, policy))
            )
        }
    assert not trace["duplicate"].passed
    assert f"same receipt as {first}" in trace["duplicate"].detail
    # The upload is the receipt the threshold asks for.
    assert trace["receipt_present"].passed


def test_without_an_upload_the_receipt_rule_still_fails(
    client: TestClient, db: Database, person: PersonFactory
) -> None:
    alice = person()
    expense_id = submitted(client, alice)
    policy = load_policy(DEFAULT_POLICY_FILE)
    with db.session() as session:
        expense = session.get(Expense, expense_id)
        assert expense is not None
        trace = {r.rule: r for r in evaluate_rules(policy, facts_of(expense, policy))}
    assert not trace["receipt_present"].passed


def test_a_waiting_card_is_redrawn_with_a_signed_link_that_serves_the_file(
    client: TestClient,
    db: Database,
    jobs: JobRecorder,
    person: PersonFactory,
    pending_expense: ExpenseFactory,
    receipts_dir: Path,
) -> None:
    alice = person()
    expense_id = pending_expense(alice)
    data = png()
    seen = len(jobs.jobs)
    assert upload(client, alice, expense_id, data).status_code == 201
    assert (job_names.UPDATE_APPROVAL_CARD, (str(expense_id), 0)) in queued(jobs, seen)
    links = ReceiptLinks(settings_of(client))
    with db.session() as session:
        view = load_card_view(session, expense_id, 0, links=links)
    assert view.receipt_file_url is not None
    rendered = json.dumps(approval_card(view))
    assert view.receipt_file_url in rendered
    assert str(receipts_dir) not in rendered
    split = urlsplit(view.receipt_file_url)
    response = client.get(f"{split.path}?{split.query}")
    assert response.status_code == 200
    assert response.content == data
    assert response.headers["content-type"] == "image/png"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["content-disposition"].startswith("inline;")
    assert str(receipts_dir) not in str(response.headers)


def test_tampered_foreign_or_expired_links_are_refused(
    client: TestClient, person: PersonFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    alice = person()
    mine, other = png(), pdf()
    expense_id = submitted(client, alice)
    sha256 = upload(client, alice, expense_id, mine).json()["sha256"]
    other_sha = upload(client, alice, submitted(client, alice), other).json()["sha256"]
    links = ReceiptLinks(settings_of(client))
    good = urlsplit(links.url(sha256)).query.removeprefix("sig=")
    assert client.get(f"/receipts/{sha256}", params={"sig": good}).status_code == 200
    refused = [
        (sha256, good[:-2] + ("AA" if not good.endswith("AA") else "BB")),
        (other_sha, good),  # a signature is for one receipt only
        (sha256, ""),
        ("../../etc/passwd", good),
        (sha256.upper(), good),
    ]
    for sha, sig in refused:
        response = client.get(f"/receipts/{sha}", params={"sig": sig})
        assert response.status_code in (403, 404), (sha, sig)
        assert response.content != mine
    assert client.get(f"/receipts/{sha256}").status_code == 422
    # Eight days on, the same link has expired.
    later = int(time.time()) + LINK_SECONDS + 24 * 3600
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: later)
    response = client.get(f"/receipts/{sha256}", params={"sig": good})
    assert response.status_code == 403


def test_no_receipt_once_the_expense_is_decided(
    client: TestClient, person: PersonFactory, db: Database
) -> None:
    alice = person()
    expense_id = submitted(client, alice)
    assert client.post(f"/expenses/{expense_id}/cancel", headers=alice.auth).status_code == 200
    response = upload(client, alice, expense_id, png())
    assert response.status_code == 409
    assert stored(db, expense_id).receipt_content_type is None


def test_a_receipt_after_the_gate_is_checked_once_and_the_status_stays(
    client: TestClient,
    db: Database,
    jobs: JobRecorder,
    person: PersonFactory,
    pending_expense: ExpenseFactory,
) -> None:
    alice = person()
    expense_id = pending_expense(alice)
    seen = len(jobs.jobs)
    sha256 = upload(client, alice, expense_id, png()).json()["sha256"]
    assert (job_names.CHECK_RECEIPT, (str(expense_id), sha256)) in queued(jobs, seen)
    # What the job computes: the gate's view with the receipt (vision off: not read).
    policy = load_policy(DEFAULT_POLICY_FILE)
    with db.session() as session:
        expense = session.get(Expense, expense_id)
        assert expense is not None
        facts = replace(facts_of(expense, policy), receipt_reading=ReceiptUnread("off"))
        decision = route_expense(policy, facts, LlmUnavailable("not configured"))
    for attempt in range(2):  # a redelivered job changes nothing the second time
        with db.session() as session:
            changed = receipts.record_check(session, expense_id, sha256, decision, policy)
        assert changed is (attempt == 0)
    expense = stored(db, expense_id)
    assert expense.status == "pending_approval"
    trace = {r["rule"]: r for r in expense.rule_trace or []}
    assert trace["receipt_present"]["passed"] is True
    assert trace["receipt_matches"]["detail"] == "receipt not read: off"
    [checked] = events(db, expense_id, "receipt_checked")
    assert checked.details["sha256"] == sha256
    # A newer upload makes a check of the older one moot.
    upload(client, alice, expense_id, png())
    with db.session() as session:
        assert not receipts.record_check(session, expense_id, sha256, decision, policy)
