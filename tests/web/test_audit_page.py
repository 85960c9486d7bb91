"""The auditor page without a browser: sign-in, cookies, CSRF, revocation, refusals, escaping,
headers and downloads (the browser test in test_audit_page_browser.py drives it for real)."""

import csv
import io
import re
from datetime import UTC, datetime

from fastapi.testclient import TestClient
from sqlalchemy import select, update

from app.db import Database
from app.web.session import FORM_COOKIE, SESSION_COOKIE
from models import ApiToken, AuditEvent, Employee
from tests.api.helpers import Person
from tests.audit_story import CONFIDENT_APPROVE, expense, staff


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]*)"', html)
    assert found, html
    return found.group(1)


def sign_in(client: TestClient, who: Person) -> None:
    form = client.get("/audit/sign-in")
    response = client.post(
        "/audit/sign-in",
        data={"token": who.token, "csrf": csrf_of(form.text)},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    assert response.headers["location"] == "/audit/"


def test_the_page_asks_to_sign_in_first(client: TestClient) -> None:
    response = client.get("/audit/", follow_redirects=False)
    assert (response.status_code, response.headers["location"]) == (303, "/audit/sign-in")
    form = client.get("/audit/sign-in")
    assert form.status_code == 200
    assert '<form method="post" action="/audit/sign-in"' in form.text
    assert 'type="password"' in form.text


def test_an_auditor_signs_in_once_with_a_cookie_that_scripts_cannot_read(
    client: TestClient, db: Database
) -> None:
    dana = staff(db, "auditor")
    form = client.get("/audit/sign-in")
    answer = client.post(
        "/audit/sign-in",
        data={"token": dana.token, "csrf": csrf_of(form.text)},
        follow_redirects=False,
    )
    cookie = next(
        v
        for k, v in answer.headers.multi_items()
        if k == "set-cookie" and v.startswith(SESSION_COOKIE)
    )
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie or "SameSite=Strict" in cookie
    assert "Path=/audit" in cookie
    assert dana.token not in cookie
    assert dana.token not in answer.headers["location"]
    page = client.get("/audit/")
    assert page.status_code == 200
    assert dana.name in page.text
    assert "Tamper check" in page.text


def test_every_page_carries_a_strict_content_security_policy(
    client: TestClient, db: Database
) -> None:
    sign_in(client, staff(db, "auditor"))
    for path in ("/audit/", "/audit/sign-in", "/audit/verify", "/audit/static/audit.css"):
        headers = client.get(path).headers
        policy = headers["content-security-policy"]
        assert "default-src 'none'" in policy
        assert "script-src" not in policy  # no scripts at all: default-src 'none' covers them
        assert "frame-ancestors 'none'" in policy
        assert headers["x-content-type-options"] == "nosniff"


def test_a_forged_or_stale_sign_in_form_is_refused(client: TestClient, db: Database) -> None:
    dana = staff(db, "auditor")
    client.get("/audit/sign-in")
    forged = client.post("/audit/sign-in", data={"token": dana.token, "csrf": "guess"})
    assert forged.status_code == 400
    assert SESSION_COOKIE not in client.cookies
    fresh = TestClient(client.app)
    no_cookie = fresh.post("/audit/sign-in", data={"token": dana.token, "csrf": "x"})
    assert no_cookie.status_code == 400


def test_a_bad_token_is_refused_and_a_revoked_one_ends_the_session_at_once(
    client: TestClient, db: Database
) -> None:
    dana = staff(db, "auditor")
    form = client.get("/audit/sign-in")
    bad = client.post("/audit/sign-in", data={"token": "ebt_nope", "csrf": csrf_of(form.text)})
    assert bad.status_code == 401
    assert "not valid" in bad.text
    sign_in(client, dana)
    assert client.get("/audit/").status_code == 200
    with db.session() as session:
        session.execute(
            update(ApiToken)
            .where(ApiToken.employee_id == dana.id)
            .values(revoked_at=datetime.now(UTC))
        )
    after = client.get("/audit/", follow_redirects=False)
    assert (after.status_code, after.headers["location"]) == (303, "/audit/sign-in")
    assert SESSION_COOKIE not in client.cookies


def test_losing_the_auditor_role_is_a_403_and_audited(client: TestClient, db: Database) -> None:
    dana = staff(db, "auditor")
    sign_in(client, dana)
    with db.session() as session:
        session.execute(update(Employee).where(Employee.id == dana.id).values(roles=["employee"]))
    refused = client.get("/audit/")
    assert refused.status_code == 403
    assert "auditor role" in refused.text
    with db.session() as session:
        event = session.scalars(
            select(AuditEvent).where(
                AuditEvent.actor_employee_id == dana.id, AuditEvent.action == "access_refused"
            )
        ).one()
    assert event.details["path"] == "/audit/"


def test_an_employee_cannot_sign_in_and_the_attempt_is_audited(
    client: TestClient, db: Database
) -> None:
    eve = staff(db)
    form = client.get("/audit/sign-in")
    refused = client.post("/audit/sign-in", data={"token": eve.token, "csrf": csrf_of(form.text)})
    assert refused.status_code == 403
    assert SESSION_COOKIE not in client.cookies
    with db.session() as session:
        event = session.scalars(
            select(AuditEvent).where(
                AuditEvent.actor_employee_id == eve.id, AuditEvent.action == "access_refused"
            )
        ).one()
    assert event.details == {"method": "POST", "path": "/audit/sign-in", "answer": 403}


def test_sign_out_needs_the_sessions_own_form_and_clears_the_cookie(
    client: TestClient, db: Database
) -> None:
    sign_in(client, staff(db, "auditor"))
    page = client.get("/audit/")
    assert client.post("/audit/sign-out", data={"csrf": "forged"}).status_code == 400
    assert client.get("/audit/").status_code == 200
    out = client.post("/audit/sign-out", data={"csrf": csrf_of(page.text)}, follow_redirects=False)
    assert out.status_code == 303
    assert SESSION_COOKIE not in client.cookies
    assert client.get("/audit/", follow_redirects=False).status_code == 303


def test_what_people_typed_is_escaped(client: TestClient, db: Database) -> None:
    alice = staff(db, name="<b>Alice</b>")
    expense_id = expense(
        db, alice, merchant='<script>alert("x")</script>', amount="40.00", advice=CONFIDENT_APPROVE
    )
    sign_in(client, staff(db, "auditor"))
    listing = client.get("/audit/", params={"submitter": alice.email})
    story = client.get(f"/audit/expenses/{expense_id}")
    for page in (listing, story):
        assert '<script>alert("x")</script>' not in page.text
        assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in page.text
        assert "<b>Alice</b>" not in page.text


def test_filters_select_the_table_and_a_bad_one_is_named(client: TestClient, db: Database) -> None:
    alice, bob = staff(db), staff(db)
    mine = expense(db, alice, amount="40.00", advice=CONFIDENT_APPROVE, merchant="Alice Cafe")
    expense(db, bob, merchant="Bob Books")
    sign_in(client, staff(db, "auditor"))
    page = client.get("/audit/", params={"submitter": alice.email})
    assert f"/audit/expenses/{mine}" in page.text
    assert "Bob Books" not in page.text
    assert "AI (auto-approved within policy)" in page.text
    assert "approve, 0.99 (test-model)" in page.text
    bad = client.get("/audit/", params={"min_amount": "lots"})
    assert bad.status_code == 422
    assert "min_amount" in bad.text


def test_downloads_take_the_pages_filters(client: TestClient, db: Database) -> None:
    alice = staff(db)
    mine = expense(db, alice, amount="40.00", advice=CONFIDENT_APPROVE)
    expense(db, staff(db))
    sign_in(client, staff(db, "auditor"))
    page = client.get("/audit/", params={"submitter": alice.email})
    link = re.search(r'href="(/audit/download/events\.csv[^"]*)"', page.text)
    assert link
    response = client.get(link.group(1).replace("&amp;", "&"))
    assert response.status_code == 200
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"), newline="")))
    assert {r["expense_id"] for r in rows} == {str(mine)}
    assert client.cookies.get(FORM_COOKIE) is None
    assert TestClient(client.app).get(link.group(1), follow_redirects=False).status_code == 303
