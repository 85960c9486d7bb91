"""The API's job relay: requests hand jobs over, evaluations leave batched, failures are logged."""

import logging
import threading
from collections.abc import Sequence

import pytest

from app import job_names
from app.db import Job
from app.job_relay import JobRelay, batched
from tests.helpers import wait_for


class Broker:
    """Records each send call as one message list; can be told to fail."""

    def __init__(self, *, failing: bool = False) -> None:
        self.sends: list[list[Job]] = []
        self.failing = failing
        self.lock = threading.Lock()

    def __call__(self, jobs: Sequence[Job]) -> None:
        if self.failing:
            raise ConnectionError("broker down")
        with self.lock:
            self.sends.append(list(jobs))

    def all_jobs(self) -> list[Job]:
        with self.lock:
            return [job for sent in self.sends for job in sent]


def evaluation(n: int) -> Job:
    return Job(job_names.EVALUATE_EXPENSE, (f"id-{n}",))


def test_evaluations_become_one_batch_and_other_jobs_pass_as_they_are() -> None:
    card = Job(job_names.POST_APPROVAL_CARD, ("id-9", 0))
    assert batched([evaluation(1), card, evaluation(2)]) == [
        card,
        Job(job_names.EVALUATE_EXPENSES, (["id-1", "id-2"],)),
    ]
    assert batched([evaluation(1)]) == [evaluation(1)]


def test_jobs_handed_over_together_leave_in_one_message() -> None:
    broker = Broker()
    relay = JobRelay(broker, linger=0.5)
    for n in range(5):
        relay([evaluation(n)])
    wait_for(broker.all_jobs, what="the batch")
    relay.close()
    assert broker.sends == [[Job(job_names.EVALUATE_EXPENSES, ([f"id-{n}" for n in range(5)],))]]


def test_close_sends_what_is_still_waiting() -> None:
    broker = Broker()
    relay = JobRelay(broker, linger=60)  # would wait a minute for more
    relay([evaluation(1)])
    relay.close()
    assert broker.sends == [[evaluation(1)]]


def test_a_failed_send_is_logged_and_later_jobs_still_leave(
    caplog: pytest.LogCaptureFixture,
) -> None:
    broker = Broker(failing=True)
    relay = JobRelay(broker, linger=0)
    with caplog.at_level(logging.ERROR, logger="app.job_relay"):
        relay([evaluation(1), evaluation(2)])
        wait_for(lambda: "could not queue 2 job(s) after commit" in caplog.text, what="the log")
    broker.failing = False
    relay([evaluation(3)])
    wait_for(broker.all_jobs, what="the next job")
    relay.close()
    assert broker.sends == [[evaluation(3)]]
