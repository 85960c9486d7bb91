"""Shared fixtures: real PostgreSQL, Redis and RabbitMQ, a throwaway database per run."""

import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, NoReturn

import pytest
import redis
from sqlalchemy import create_engine
from sqlalchemy.engine import make_url

# The test process itself is a development machine; tests that need production build their
# settings (or their processes' environment) explicitly. Set before anything reads settings.
os.environ.setdefault("APP_ENV", "development")

import app  # noqa: E402, F401  (our `slack` package first, as in every entry point)
from app.db import Database, Job
from app.migrate import upgrade
from bench.pg import PG_ADMIN_URL, scratch_database

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
RABBITMQ_URL = os.environ.get("TEST_RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672//")
HOW_TO_START = {
    "PostgreSQL": "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start"
    "  (or: docker compose up -d postgres; or set TEST_POSTGRES_URL)",
    "Redis": "redis-server --daemonize yes --bind 127.0.0.1 --port 6379"
    "  (or: docker compose up -d redis; or set TEST_REDIS_URL)",
    "PostgreSQL server": "apt-get install postgresql (its initdb, pg_ctl and postgres; as root,"
    " also its postgres user), or set PG_BIN to the folder that has them",
    "RabbitMQ": "rabbitmq-server -detached  (or: docker run -d -p 5672:5672 rabbitmq:3;"
    " or set TEST_RABBITMQ_URL)",
}


def service_unavailable(service: str, where: str, problem: object) -> NoReturn:
    """Fail under CI, skip (loudly) elsewhere, always naming the service and how to start it."""
    message = (
        f"{service} is not reachable at {where} ({problem}). Start it with: {HOW_TO_START[service]}"
    )
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


@contextmanager
def migrated_database(purpose: str) -> Iterator[str]:
    """A new, migrated PostgreSQL database of its own, dropped afterwards."""
    admin = create_engine(
        PG_ADMIN_URL, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3}
    )
    try:
        with admin.connect():
            pass
    except Exception as exc:  # noqa: BLE001  (any failure means: not usable)
        service_unavailable("PostgreSQL", make_url(PG_ADMIN_URL).render_as_string(), exc)
    finally:
        admin.dispose()
    with scratch_database(f"expense_bot_{purpose}") as url:
        upgrade(url)
        yield url


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """Shared by the in-process tests, which each make their own people and expenses."""
    with migrated_database("test") as url:
        yield url


@pytest.fixture(scope="session")
def migrated_template(postgres_url: str) -> Iterator[str]:
    """An empty migrated database to copy: `CREATE DATABASE ... TEMPLATE` beats re-migrating."""
    with scratch_database("expense_bot_tmpl") as url:
        upgrade(url)
        yield url


@pytest.fixture
def own_postgres_url(migrated_template: str) -> Iterator[str]:
    """A migrated database for this test alone: for tests that tamper with or count the log."""
    with scratch_database("expense_bot_own", template=migrated_template) as url:
        yield url


@pytest.fixture(scope="session")
def redis_url() -> str:
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=3).ping()
    except Exception as exc:  # noqa: BLE001
        service_unavailable("Redis", REDIS_URL, exc)
    return REDIS_URL


def broker_connection(url: str, **options: object) -> Any:
    """A kombu connection; kombu's types stop at its untyped constructor."""
    from kombu import connection

    factory: Any = connection.Connection
    return factory(url, **options)


@pytest.fixture(scope="session")
def rabbitmq_url() -> str:
    try:
        with broker_connection(RABBITMQ_URL, connect_timeout=3) as conn:
            conn.ensure_connection(max_retries=1)
    except Exception as exc:  # noqa: BLE001
        service_unavailable("RabbitMQ", make_url(RABBITMQ_URL).host or RABBITMQ_URL, exc)
    return RABBITMQ_URL


class JobRecorder:
    """Collects the jobs a transaction sends after commit, in place of the broker."""

    def __init__(self) -> None:
        self.jobs: list[Job] = []

    def __call__(self, jobs: Sequence[Job]) -> None:
        self.jobs.extend(jobs)

    def names(self) -> list[str]:
        return [job.task for job in self.jobs]


@pytest.fixture
def jobs() -> JobRecorder:
    return JobRecorder()


@pytest.fixture
def db(postgres_url: str, jobs: JobRecorder) -> Iterator[Database]:
    database = Database(postgres_url, job_sender=jobs)
    yield database
    database.dispose()


@pytest.fixture
def own_db(own_postgres_url: str, jobs: JobRecorder) -> Iterator[Database]:
    database = Database(own_postgres_url, job_sender=jobs)
    yield database
    database.dispose()
