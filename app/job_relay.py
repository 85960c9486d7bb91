"""Sends the API's after-commit jobs from one background thread, evaluations batched per message.

A request used to pay for its own Celery message (about a millisecond of kombu per job) before it
could answer. Here it only hands its committed jobs to a queue: the relay thread waits a moment
for more, then sends every evaluation it holds as one `evaluate_expenses` message. A job still
queued when the process dies is lost exactly as one lost between commit and send always was:
the sweeper re-queues expenses left in `submitted`.
"""

import atexit
import logging
import queue
import threading
import time
from collections.abc import Sequence

from app import job_names
from app.db import Job, JobSender

log = logging.getLogger(__name__)

# How long the relay gathers jobs before it sends: small next to an evaluation, large next to
# the gap between two requests under load, so that one message carries many of them.
LINGER_SECONDS = 0.02
MAX_BATCH = 500


def batched(jobs: Sequence[Job]) -> list[Job]:
    """The same work in fewer messages: every single-expense evaluation becomes one batch."""
    ids = [job.args[0] for job in jobs if job.task == job_names.EVALUATE_EXPENSE]
    rest = [job for job in jobs if job.task != job_names.EVALUATE_EXPENSE]
    if len(ids) > 1:
        return [*rest, Job(job_names.EVALUATE_EXPENSES, (ids,))]
    return list(jobs)


class JobRelay:
    """A JobSender that returns at once; `send` does the sending on the relay's thread."""

    def __init__(self, send: JobSender, *, linger: float = LINGER_SECONDS) -> None:
        self._send = send
        self._linger = linger
        self._queue: queue.SimpleQueue[Job | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()

    def __call__(self, jobs: Sequence[Job]) -> None:
        for job in jobs:
            self._queue.put(job)
        if self._thread is None:
            self._start()

    def _start(self) -> None:
        # Started on first use, in the process that serves: a server that forks after
        # building the app would not carry a thread across the fork.
        with self._start_lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="job-relay", daemon=True)
                self._thread.start()
                atexit.register(self.close)

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            jobs, stop = self._gather(first)
            self._deliver(jobs)
            if stop:
                return

    def _gather(self, first: Job) -> tuple[list[Job], bool]:
        jobs = [first]
        deadline = time.monotonic() + self._linger
        while len(jobs) < MAX_BATCH:
            try:
                job = self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                break
            if job is None:
                return jobs, True
            jobs.append(job)
        return jobs, False

    def _deliver(self, jobs: Sequence[Job]) -> None:
        try:
            self._send(batched(jobs))
        except Exception:
            # The state is committed; the sweeper re-queues whatever this lost.
            log.exception("could not queue %d job(s) after commit", len(jobs))

    def close(self, timeout: float = 10.0) -> None:
        """Send what is queued, then stop the thread (at exit, or when the app is disposed)."""
        thread = self._thread
        if thread is None or not thread.is_alive():
            return
        self._queue.put(None)
        thread.join(timeout)
