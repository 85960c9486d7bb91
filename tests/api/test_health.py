"""Liveness touches nothing; readiness needs a database and a broker round trip."""

import socket
import threading
import time
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from app.db import CONNECT_TIMEOUT_SECONDS
from tests.api.conftest import AppFactory
from tests.helpers import expense_body

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


@pytest.mark.slow  # waits out real timeouts or Retry-After
def test_not_ready_while_the_broker_is_down(make_client: AppFactory) -> None:
    client = make_client(celery_broker_url="redis://127.0.0.1:1/0")
    answer = client.get("/readyz")
    assert answer.status_code == 503
    assert answer.json()["detail"] == "not ready: broker unreachable"


@pytest.fixture
def silent_database() -> Iterator[str]:
    """A host that takes the TCP connection and never says a word, like one that hangs."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(16)  # never accepted: the kernel completes the handshake, nobody answers
        # Without a connect timeout the test would wait for ever: end the wait, as a failure.
        hang_up = threading.Timer(CONNECT_TIMEOUT_SECONDS + 5, server.close)
        hang_up.start()
        try:
            port = server.getsockname()[1]
            yield f"postgresql+psycopg2://postgres:unused-Pw-4242@127.0.0.1:{port}/x"
        finally:
            hang_up.cancel()


@pytest.mark.slow  # waits out real timeouts or Retry-After
def test_a_database_that_hangs_gets_a_prompt_503(
    make_client: AppFactory, silent_database: str
) -> None:
    client = make_client(database_url=silent_database)
    started = time.monotonic()
    answer = client.post(
        "/expenses", json=expense_body(), headers={"Authorization": "Bearer not-checked-yet"}
    )
    waited = time.monotonic() - started
    assert answer.status_code == 503
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.headers["Retry-After"]
    assert waited < CONNECT_TIMEOUT_SECONDS + 3
