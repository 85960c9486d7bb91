"""Engine and session scope; jobs queued on a session are sent only after it commits."""

import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, create_engine, event, make_url, text
from sqlalchemy.orm import Session, sessionmaker

from app.db_ping import ping_idle_connections

log = logging.getLogger(__name__)

_JOBS_KEY = "after_commit_jobs"
CONNECT_TIMEOUT_SECONDS = 5


@dataclass(frozen=True, slots=True)
class Job:
    task: str
    args: tuple[Any, ...]


JobSender = Callable[[Sequence[Job]], None]


def make_engine(url: str, *, pool_size: int = 10) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    # A database host that does not answer must not hold a request or a task for the kernel's
    # TCP timeout (minutes): the attempt fails, and the caller answers 503 or retries later.
    connect_args = {}
    if "connect_timeout" not in make_url(url).query:
        connect_args["connect_timeout"] = CONNECT_TIMEOUT_SECONDS
    # hide_parameters: error messages and logs never carry the values a statement was given.
    engine = create_engine(
        url,
        pool_size=pool_size,
        max_overflow=pool_size,
        # Servers and proxies drop old connections; replace them before they are dropped.
        pool_recycle=1800,
        hide_parameters=True,
        connect_args=connect_args,
    )
    ping_idle_connections(engine)
    return engine


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


class Database:
    """Owns the engine; `session()` is the transaction boundary used by requests and tasks."""

    def __init__(self, url: str, *, job_sender: JobSender, pool_size: int = 10) -> None:
        self.engine = make_engine(url, pool_size=pool_size)
        self._factory = sessionmaker(self.engine, expire_on_commit=False)
        self._job_sender = job_sender

    @contextmanager
    def session(self) -> Iterator[Session]:
        """Commit on success, roll back on error; then send the jobs the work queued."""
        with self._factory() as session:
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise
            jobs: list[Job] = session.info.pop(_JOBS_KEY, [])
        if jobs:
            self._send(jobs)

    @contextmanager
    def read_only(self) -> Iterator[Session]:
        """A session that is never committed; on PostgreSQL it reads one snapshot throughout and
        the database refuses any write."""
        with self._factory() as session:
            if self.engine.dialect.name == "postgresql":
                session.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY"))
            try:
                yield session
            finally:
                session.rollback()

    def _send(self, jobs: Sequence[Job]) -> None:
        try:
            self._job_sender(jobs)
        except Exception:
            # The state is committed; the sweeper re-queues whatever this lost.
            log.exception("could not queue %d job(s) after commit", len(jobs))

    def dispose(self) -> None:
        self.engine.dispose()


def enqueue_after_commit(session: Session, task: str, *args: Any) -> None:
    """Queue a job that leaves only if the surrounding transaction commits."""
    session.info.setdefault(_JOBS_KEY, []).append(Job(task, args))
