"""Which failures tasks retry, and how soon."""

from types import SimpleNamespace

import pytest
from celery.exceptions import Retry
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError, ProgrammingError

from bench.standins.server import free_port
from tasks.decision_requests import apply_decision_request
from tasks.evaluation import evaluate_expense
from tasks.retry import backoff, retry_or_raise


class TaskAttempt:
    """What `retry_or_raise` reads from a bound Celery task: its retry count, and `retry`."""

    def __init__(self, retries: int) -> None:
        self.request = SimpleNamespace(retries=retries)
        self.countdowns: list[float] = []

    def retry(self, exc: Exception, countdown: float) -> Retry:
        self.countdowns.append(countdown)
        return Retry(exc=exc, when=countdown)


def unreachable_database() -> OperationalError:
    """The error a task really gets while PostgreSQL is down: nothing listens on the port."""
    engine = create_engine(
        f"postgresql+psycopg2://postgres@127.0.0.1:{free_port()}/none",
        connect_args={"connect_timeout": 2},
    )
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except OperationalError as exc:
        return exc
    finally:
        engine.dispose()
    raise AssertionError("a database answered on a free port")


@pytest.mark.parametrize("retries", [0, 3])
def test_a_database_outage_is_retried_with_backoff(retries: int) -> None:
    attempt = TaskAttempt(retries)
    with pytest.raises(Retry):
        retry_or_raise(attempt, unreachable_database())
    assert attempt.countdowns == [backoff(retries)]
    assert backoff(3) > backoff(0)


def test_a_bad_statement_is_not_retried() -> None:
    attempt = TaskAttempt(0)
    bad = ProgrammingError("SELECT nonsense", {}, Exception("syntax error"))
    with pytest.raises(ProgrammingError):
        retry_or_raise(attempt, bad)
    assert attempt.countdowns == []


@pytest.mark.parametrize("task", [evaluate_expense, apply_decision_request])
def test_tasks_without_their_own_handling_back_off_on_a_database_outage(task: object) -> None:
    """Celery's autoretry: a countdown that doubles (with jitter) per retry, then the sweeper."""
    assert OperationalError in getattr(task, "autoretry_for", ())
    assert getattr(task, "retry_backoff", False) is True
    assert getattr(task, "max_retries", 0) >= 5
