"""Liveness touches nothing; readiness needs a database and a broker round trip."""

from fastapi.testclient import TestClient

from tests.api.conftest import AppFactory

DOWN_DATABASE = "postgresql+psycopg2://postgres:unused-Pw-4242@127.0.0.1:1/none"


def test_ready_when_database_and_broker_answer(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").json() == {"status": "ready"}


def test_not_ready_but_alive_while_the_database_is_down(make_client: AppFactory) -> None:
    client = make_client(database_url=DOWN_DATABASE)
    assert client.get("/healthz").status_code == 200
    answer = client.get("/readyz")
    assert answer.status_code == 503
    assert answer.headers["Retry-After"]
    assert answer.json()["detail"] == "not ready: database unreachable"


def test_not_ready_while_the_broker_is_down(make_client: AppFactory) -> None:
    client = make_client(celery_broker_url="redis://127.0.0.1:1/0")
    answer = client.get("/readyz")
    assert answer.status_code == 503
    assert answer.json()["detail"] == "not ready: broker unreachable"
