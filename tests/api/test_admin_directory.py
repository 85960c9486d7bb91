"""The admin API for the directory, in-process on PostgreSQL with the strict Slack stand-in."""

import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from app.cli import EXIT_OK, main
from app.db import Database
from app.services.employees import list_tokens
from bench.standins.server import ServerThread
from models import AuditEvent
from tests.api.conftest import AppFactory
from tests.api.helpers import Person, card_click, decisions_on, post_slack
from tests.helpers import wait_for
from tests.standins.slack_sandbox import add_member

PersonFactory = Callable[..., Person]
HEADER = "email,name,slack_user_id,manager_email,department,cost_center,roles"


def new_email(handle: str = "p") -> str:
    return f"{handle}-{uuid.uuid4().hex[:10]}@corp.example"


def new_slack_id() -> str:
    return f"U{uuid.uuid4().hex[:12].upper()}"


def in_slack(standin: ServerThread, email: str) -> str:
    user_id = new_slack_id()
    assert add_member(standin, email, user_id) == user_id
    return user_id


def fail_next_lookups(standin: ServerThread, status: int, times: int) -> None:
    body = {"method": "users.lookupByEmail", "status": status, "retry_after": 1, "times": times}
    httpx.post(f"{standin.url}/_control/fail", json=body).raise_for_status()


def csv_body(*lines: str) -> bytes:
    return ("\n".join([HEADER, *lines]) + "\n").encode()


def post_csv(client: TestClient, admin: Person, data: bytes) -> Any:
    headers = {**admin.auth, "Content-Type": "text/csv"}
    return client.post("/admin/employees/import", content=data, headers=headers)


def entry(client: TestClient, admin: Person, email: str) -> dict[str, Any] | None:
    """The directory entry for `email`, paging through the whole listing."""
    cursor = ""
    while True:
        page = client.get(f"/admin/employees?limit=500{cursor}", headers=admin.auth).json()
        for employee in page["employees"]:
            if employee["email"] == email:
                return dict(employee)
        if page["next_cursor"] is None:
            return None
        cursor = f"&cursor={page['next_cursor']}"


def admin_events(db: Database, admin: Person) -> list[AuditEvent]:
    with db.session() as session:
        return list(
            session.scalars(
                select(AuditEvent)
                .where(AuditEvent.actor_kind == "employee", AuditEvent.actor_id == admin.email)
                .order_by(AuditEvent.id)
            )
        )


# --- who may use it -----------------------------------------------------------------------


@pytest.mark.parametrize("roles", [(), ("auditor",), ("approver", "finance")])
def test_only_admins_reach_the_admin_api(
    client: TestClient, person: PersonFactory, roles: tuple[str, ...]
) -> None:
    caller, target = person(*roles), person()
    email = new_email()
    attempts = [
        client.get("/admin/employees", headers=caller.auth),
        client.put(f"/admin/employees/{email}", json={"name": "X"}, headers=caller.auth),
        post_csv(client, caller, csv_body(f"{email},X,,,,,admin")),
        client.post(f"/admin/employees/{target.email}/deactivate", headers=caller.auth),
    ]
    for answer in attempts:
        assert answer.status_code == 403, answer.text
        assert answer.headers["content-type"] == "application/problem+json"
        assert answer.json()["detail"] == "the admin role is required"
    assert client.get("/admin/employees").status_code == 401
    admin = person("admin")
    assert entry(client, admin, email) is None
    target_entry = entry(client, admin, target.email)
    assert target_entry is not None
    assert target_entry["active"] is True


# --- listing ------------------------------------------------------------------------------


def test_the_listing_pages_with_a_cursor(client: TestClient, person: PersonFactory) -> None:
    admin = person("admin")
    mine = {new_email() for _ in range(5)}
    assert post_csv(client, admin, csv_body(*(f"{e},N,,,,," for e in mine))).status_code == 200
    seen: list[dict[str, Any]] = []
    query = "limit=2"
    while True:
        page = client.get(f"/admin/employees?{query}", headers=admin.auth)
        assert page.status_code == 200
        body = page.json()
        assert len(body["employees"]) <= 2
        seen += body["employees"]
        if body["next_cursor"] is None:
            break
        query = f"limit=2&cursor={body['next_cursor']}"
    ids = [e["id"] for e in seen]
    assert ids == sorted(set(ids))
    assert mine <= {e["email"] for e in seen}
    for bad in ("cursor=-1", "cursor=1e3", "cursor=" + "9" * 19, "limit=0", "limit=501"):
        refused = client.get(f"/admin/employees?{bad}", headers=admin.auth)
        assert refused.status_code == 422
        assert refused.json()["errors"][0]["field"].startswith("query.")


# --- one employee -------------------------------------------------------------------------


def test_put_adds_then_updates_then_changes_nothing(
    client: TestClient, person: PersonFactory, db: Database, slack_standin: ServerThread
) -> None:
    admin, manager = person("admin"), person("approver")
    email = new_email("ann")
    slack_id = in_slack(slack_standin, email)
    body = {"name": "Ann", "manager_email": manager.email, "department": "Sales"}
    added = client.put(f"/admin/employees/{email.upper()}", json=body, headers=admin.auth)
    assert added.status_code == 201, added.text
    assert added.json()["outcome"] == "added"
    assert added.json()["slack_lookup_failure"] is None
    employee = added.json()["employee"]
    assert employee["email"] == email
    assert employee["slack_user_id"] == slack_id  # found by email in Slack
    assert employee["manager_email"] == manager.email
    assert employee["roles"] == ["employee"]

    same = client.put(f"/admin/employees/{email}", json=body, headers=admin.auth)
    assert same.status_code == 200
    assert (same.json()["outcome"], same.json()["changed"]) == ("unchanged", [])

    promoted = {**body, "roles": ["approver", "finance"], "department": None}
    updated = client.put(f"/admin/employees/{email}", json=promoted, headers=admin.auth)
    assert updated.status_code == 200
    assert updated.json()["outcome"] == "updated"
    assert updated.json()["changed"] == ["department", "roles"]
    assert updated.json()["employee"]["slack_user_id"] == slack_id  # kept, not looked up again

    events = [e for e in admin_events(db, admin) if e.details.get("email") == email]
    assert [e.action for e in events] == ["employee_added", "employee_updated"]
    assert events[1].details["changes"]["roles"] == {
        "from": ["employee"],
        "to": ["approver", "employee", "finance"],
    }
    assert {(e.channel, e.actor_employee_id) for e in events} == {("api", admin.id)}


@pytest.mark.parametrize(
    ("path_email", "body", "field"),
    [
        ("not-an-email", {"name": "X"}, "path.email"),
        (None, {"name": "  "}, "body.name"),
        (None, {"name": "X", "manager_email": "ghost@corp.example"}, "body.manager_email"),
        (None, {"name": "X", "manager_email": "nope"}, "body.manager_email"),
        (None, {"name": "X", "slack_user_id": "nope"}, "body.slack_user_id"),
        (None, {"name": "X", "department": "d" * 101}, "body.department"),
        (None, {"name": "X", "roles": ["king"]}, "body.roles.0"),
        (None, {"name": "X", "salary": 1}, "body.salary"),
    ],
)
def test_put_refusals_name_the_field_and_store_nothing(
    client: TestClient,
    person: PersonFactory,
    path_email: str | None,
    body: dict[str, Any],
    field: str,
) -> None:
    admin = person("admin")
    email = path_email or new_email()
    answer = client.put(f"/admin/employees/{email}", json=body, headers=admin.auth)
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    assert [e["field"] for e in answer.json()["errors"]] == [field]
    assert entry(client, admin, email) is None


def test_a_slack_id_held_by_someone_else_is_refused(
    client: TestClient, person: PersonFactory
) -> None:
    admin, holder = person("admin"), person()
    email = new_email()
    body = {"name": "X", "slack_user_id": holder.slack_id}
    answer = client.put(f"/admin/employees/{email}", json=body, headers=admin.auth)
    assert answer.status_code == 422
    [error] = answer.json()["errors"]
    assert error["field"] == "body.slack_user_id"
    assert holder.email in error["message"]


@pytest.mark.slow  # waits out real timeouts or Retry-After
def test_failed_slack_lookups_are_reported_and_not_fatal(
    client: TestClient, person: PersonFactory, slack_standin: ServerThread
) -> None:
    admin = person("admin")
    unknown = new_email("unknown")
    answer = client.put(f"/admin/employees/{unknown}", json={"name": "U"}, headers=admin.auth)
    assert answer.status_code == 201
    assert answer.json()["slack_lookup_failure"] == "users_not_found"
    assert answer.json()["employee"]["slack_user_id"] is None

    # Slack keeps answering 429 (the client retries once): the first is reported as
    # ratelimited, the rest are not tried.
    first, second = new_email("a"), new_email("b")
    in_slack(slack_standin, first)
    fail_next_lookups(slack_standin, 429, times=2)
    report = post_csv(client, admin, csv_body(f"{first},A,,,,,", f"{second},B,,,,,"))
    assert report.status_code == 200, report.text
    assert report.json()["added"] == 2
    assert report.json()["slack_lookup_failures"] == [
        {"line": 2, "email": first, "error": "ratelimited"},
        {"line": 3, "email": second, "error": "not looked up after ratelimited"},
    ]
    # Importing again retries, and Slack answers this time.
    again = post_csv(client, admin, csv_body(f"{first},A,,,,,", f"{second},B,,,,,"))
    assert again.json()["updated"] == 1
    assert again.json()["slack_lookup_failures"] == [
        {"line": 3, "email": second, "error": "users_not_found"}
    ]


def test_admins_cannot_lock_themselves_out(client: TestClient, person: PersonFactory) -> None:
    admin = person("admin")
    demoted = {"name": admin.name, "slack_user_id": admin.slack_id, "roles": ["approver"]}
    refused = client.put(f"/admin/employees/{admin.email}", json=demoted, headers=admin.auth)
    assert refused.status_code == 409
    assert post_csv(client, admin, csv_body(f"{admin.email},A,,,,,")).status_code == 409
    own = client.post(f"/admin/employees/{admin.email}/deactivate", headers=admin.auth)
    assert own.status_code == 409
    still = entry(client, admin, admin.email)
    assert still is not None
    assert still["roles"] == ["admin", "employee"]
    assert still["active"] is True


# --- import -------------------------------------------------------------------------------


def test_an_import_adds_looks_up_and_a_second_import_changes_nothing(
    client: TestClient, person: PersonFactory, db: Database, slack_standin: ServerThread
) -> None:
    admin = person("admin")
    ann, bob, cy = new_email("ann"), new_email("bob"), new_email("cy")
    bob_slack = in_slack(slack_standin, bob)
    data = csv_body(
        f"{ann},Ann,,{bob},Sales,CC-1,",  # her manager is on the next line
        f"{bob},Bob,,,Sales,CC-1,approver;finance",
        f"{cy},Cy,{new_slack_id()},{bob},,,auditor",
    )
    first = post_csv(client, admin, data)
    assert first.status_code == 200, first.text
    summary = first.json()
    assert (summary["added"], summary["updated"], summary["unchanged"]) == (3, 0, 0)
    assert [(c["line"], c["email"]) for c in summary["changes"]] == [(2, ann), (3, bob), (4, cy)]
    assert summary["slack_lookup_failures"] == [
        {"line": 2, "email": ann, "error": "users_not_found"}
    ]
    bob_entry, ann_entry = entry(client, admin, bob), entry(client, admin, ann)
    assert bob_entry is not None
    assert ann_entry is not None
    assert bob_entry["slack_user_id"] == bob_slack
    assert bob_entry["roles"] == ["approver", "employee", "finance"]
    assert ann_entry["manager_email"] == bob
    events = len(admin_events(db, admin))
    assert events == 3

    again = post_csv(client, admin, data).json()
    assert (again["added"], again["updated"], again["unchanged"]) == (0, 0, 3)
    assert again["changes"] == []
    assert len(admin_events(db, admin)) == events


@pytest.mark.parametrize(
    ("lines", "errors"),
    [
        (
            ["{a},A,,,,,", "not-an-email,B,,,,,", "{c},,,,,,chief"],
            [(3, "email"), (4, "name"), (4, "roles")],
        ),
        (["{a},A,,{c},,,", "{c},C,,{a},,,"], [(2, "manager_email")]),
        (["{a},A,,,,,", "{a},A,,,,,"], [(3, "email")]),
        (["{a},A,,,,"], [(2, "row")]),
    ],
)
def test_bad_rows_are_422_with_line_and_field_and_nothing_is_imported(
    client: TestClient,
    person: PersonFactory,
    lines: list[str],
    errors: list[tuple[int, str]],
) -> None:
    admin = person("admin")
    a, c = new_email("a"), new_email("c")
    answer = post_csv(client, admin, csv_body(*(line.format(a=a, c=c) for line in lines)))
    assert answer.status_code == 422, answer.text
    assert answer.json()["detail"] == "Nothing was changed."
    assert [(e["line"], e["field"]) for e in answer.json()["errors"]] == errors
    assert entry(client, admin, a) is None
    assert entry(client, admin, c) is None


def test_an_import_over_the_body_limit_is_413(
    make_client: AppFactory, person: PersonFactory
) -> None:
    client = make_client(max_body_bytes=2048)
    admin = person("admin")
    emails = [new_email() for _ in range(60)]
    answer = post_csv(client, admin, csv_body(*(f"{e},Someone,,,,," for e in emails)))
    assert answer.status_code == 413
    assert entry(client, admin, emails[0]) is None


# --- deactivation and revocation ----------------------------------------------------------


def test_deactivation_refuses_the_token_from_the_next_request(
    client: TestClient, person: PersonFactory, db: Database
) -> None:
    admin, alice = person("admin"), person()
    assert client.get(f"/expenses/{uuid.uuid4()}", headers=alice.auth).status_code == 404
    done = client.post(f"/admin/employees/{alice.email}/deactivate", headers=admin.auth)
    assert done.status_code == 200
    assert done.json()["deactivated"] is True
    assert done.json()["employee"]["active"] is False
    assert client.get(f"/expenses/{uuid.uuid4()}", headers=alice.auth).status_code == 401
    again = client.post(f"/admin/employees/{alice.email}/deactivate", headers=admin.auth)
    assert again.json()["deactivated"] is False
    assert [e.action for e in admin_events(db, admin)] == ["employee_deactivated"]
    nobody = client.post(f"/admin/employees/{new_email()}/deactivate", headers=admin.auth)
    assert nobody.status_code == 404


def test_a_deactivated_approver_cannot_decide_in_slack(
    client: TestClient,
    person: PersonFactory,
    db: Database,
    pending_expense: Callable[..., uuid.UUID],
    slack_standin: ServerThread,
) -> None:
    admin, approver = person("admin"), person("approver")
    expense_id = pending_expense()
    done = client.post(f"/admin/employees/{approver.email}/deactivate", headers=admin.auth)
    assert done.status_code == 200
    assert post_slack(client, card_click(db, expense_id, approver.slack_id)).status_code == 200

    def refused() -> list[AuditEvent]:
        with db.session() as session:
            return list(
                session.scalars(
                    select(AuditEvent).where(
                        AuditEvent.expense_id == expense_id,
                        AuditEvent.action == "decision_refused",
                    )
                )
            )

    [event] = wait_for(refused, timeout=10, what="the refused decision")
    assert event.details["code"] == "inactive"
    assert decisions_on(db, expense_id) == 0

    def told() -> list[str]:
        state = httpx.get(f"{slack_standin.url}/_state").json()
        return [e["text"] for e in state["ephemerals"] if e["user"] == approver.slack_id]

    [answer] = wait_for(told, timeout=10, what="the private answer")
    assert "deactivated" in answer


def test_a_token_revoked_on_the_command_line_is_refused_on_the_next_request(
    client: TestClient,
    person: PersonFactory,
    db: Database,
    postgres_url: str,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    alice = person()
    assert client.get(f"/expenses/{uuid.uuid4()}", headers=alice.auth).status_code == 404
    with db.session() as session:
        [(token, _email)] = list_tokens(session, alice.email)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("APP_ENV", "development")
    monkeypatch.setenv("DATABASE_URL", postgres_url)
    assert main(["token", "revoke", str(token.id)]) == EXIT_OK
    assert client.get(f"/expenses/{uuid.uuid4()}", headers=alice.auth).status_code == 401
