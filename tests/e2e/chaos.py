"""What every fault test checks once the dust settles: nothing lost, half-way or doubled.

The checks read the bot's own database and the Slack stand-in directly, so they also work
after an API process was killed, and a burst of 150 is read in a few round trips.
"""

import concurrent.futures
import json
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import redis
from sqlalchemy import create_engine, func, select

from app.db import Database
from app.domain.audit import AuditAction
from app.services.employees import add_employee, create_token
from bench.standins.server import ServerThread
from models import AuditEvent, Decision, Expense
from slack.ids import ActionId
from tests.conftest import broker_connection
from tests.e2e.conftest import own_postgres, own_postgres_stack
from tests.e2e.harness import Stack, expense_body, wait_for
from tests.standins.postgres_server import PostgresServer
from tests.standins.redis_server import RedisServer

FINAL = frozenset({"approved", "rejected"})
# Actions a chaos run never causes more than once per expense (nobody comments or misclicks).
ONCE = frozenset(AuditAction) - {AuditAction.COMMENTED, AuditAction.DECISION_REFUSED}
# kombu's Redis transport keeps delivered-but-unacked messages in this hash.
UNACKED = "unacked"


@dataclass
class Rig:
    """A stack on a PostgreSQL and a Redis of its own, which the test may stop and restart."""

    stack: Stack
    postgres: PostgresServer
    redis_server: RedisServer

    def broker(self) -> redis.Redis:
        return redis.Redis(port=self.redis_server.port, socket_connect_timeout=1)

    def log(self, name: str) -> str:
        assert self.stack.workdir is not None
        return (Path(self.stack.workdir) / f"{name}.log").read_text()

    def restart_worker(self, name: str = "worker") -> None:
        """Start `name` again, as a restart policy would, and wait until it takes work."""
        assert self.stack.workdir is not None
        seen = len(self.log(name))
        args = ["worker", "--concurrency", "8", "--beat"]  # as the stack started it
        self.stack.procs.start(name, args, self.stack.env, Path(self.stack.workdir))
        wait_for(lambda: "ready." in self.log(name)[seen:], timeout=60, what=f"{name} restarted")


@contextmanager
def chaos_rig(tmp: Path, openai: ServerThread, **extra_env: str) -> Iterator[Rig]:
    stack_on = contextmanager(own_postgres_stack)
    # Room for a slow LLM (`slow_llm`): a timeout would send routine expenses to a human.
    env = {"OPENAI_TIMEOUT_SECONDS": "10", **extra_env}
    with (
        own_postgres() as postgres,
        RedisServer(tmp) as broker,
        stack_on(postgres, tmp, openai, broker.url, **env) as stack,
    ):
        yield Rig(stack, postgres, broker)


def add_submitters(stack: Stack, count: int) -> list[str]:
    """Employees with Slack ids of their own: each has a DM channel, paced on its own."""
    db = Database(stack.env["DATABASE_URL"], job_sender=lambda _jobs: None)
    names = []
    try:
        for n in range(count):
            name = f"submitter{n}-{uuid.uuid4().hex[:6]}"
            with db.session() as session:
                person = add_employee(
                    session,
                    email=f"{name}@example.com",
                    name=name,
                    slack_user_id=f"U0{name.replace('-', '').upper()}"[:32],
                    roles=("employee",),
                    manager_email="bob@example.com",
                )
                stack.tokens[name] = create_token(session, person)
            names.append(name)
    finally:
        db.dispose()
    return names


def burst_bodies(tag: str, count: int, human_every: int) -> list[dict[str, Any]]:
    """Mostly routine amounts (auto-approved, then a DM); every `human_every`-th needs a card."""
    return [
        expense_body(
            amount=f"{1200 + n}.00" if n % human_every == 0 else f"{20 + n % 50}.{n % 100:02d}",
            merchant=f"{tag} {n}",
        )
        for n in range(count)
    ]


@dataclass
class Answers:
    """What the API said to each submission: ids of the 202s, and every status code."""

    accepted: list[str] = field(default_factory=list)
    codes: Counter[int] = field(default_factory=Counter)

    def add(self, response: httpx.Response) -> None:
        self.codes[response.status_code] += 1
        if response.status_code == 202:
            self.accepted.append(str(response.json()["id"]))


def submit_all(
    stack: Stack,
    submitters: list[str],
    bodies: Iterable[dict[str, Any]],
    answers: Answers,
    threads: int = 8,
) -> None:
    """Submit concurrently, the submitters taking turns."""
    jobs = [(submitters[n % len(submitters)], body) for n, body in enumerate(bodies)]
    with concurrent.futures.ThreadPoolExecutor(threads) as pool:
        for response in pool.map(lambda job: stack.submit(*job), jobs):
            answers.add(response)


@dataclass
class Snapshot:
    """The bot's state and Slack's, read together."""

    expenses: dict[str, tuple[str, int]]  # id -> (status, current_step)
    actions: dict[str, Counter[str]]  # id -> audit actions
    decided_steps: dict[str, int]  # id -> decisions recorded
    messages: Counter[str]  # Slack messages per dedupe key
    unkeyed: int  # Slack messages carrying no key at all
    buttons: set[str]  # keys of cards that still show their buttons


def snapshot(stack: Stack) -> Snapshot:
    """Every expense in the stack's database (its own: only this test's), and Slack's messages."""
    engine = create_engine(stack.env["DATABASE_URL"])
    try:
        with engine.connect() as conn:
            rows = conn.execute(select(Expense.id, Expense.status, Expense.current_step)).all()
            events = conn.execute(
                select(AuditEvent.expense_id, AuditEvent.action).where(
                    AuditEvent.expense_id.is_not(None)
                )
            ).all()
            decisions = conn.execute(select(Decision.expense_id)).all()
    finally:
        engine.dispose()
    actions: dict[str, Counter[str]] = {str(i): Counter() for i, _status, _step in rows}
    for expense_id, action in events:
        actions[str(expense_id)][action] += 1
    messages: Counter[str] = Counter()
    unkeyed = 0
    buttons = set()
    for message in stack.state()["messages"]:
        key = ((message.get("metadata") or {}).get("event_payload") or {}).get("key")
        if not key:
            unkeyed += 1
            continue
        messages[key] += 1
        if any(block["type"] == "actions" for block in message.get("blocks") or []):
            buttons.add(key)
    return Snapshot(
        expenses={str(i): (status, step) for i, status, step in rows},
        actions=actions,
        decided_steps=Counter(str(d) for (d,) in decisions),
        messages=messages,
        unkeyed=unkeyed,
        buttons=buttons,
    )


def evaluated(stack: Stack) -> int:
    """How many expenses the worker has evaluated so far."""
    engine = create_engine(stack.env["DATABASE_URL"])
    try:
        with engine.connect() as conn:
            done = conn.scalar(
                select(func.count()).select_from(Expense).where(Expense.status != "submitted")
            )
        return int(done or 0)
    finally:
        engine.dispose()


def expected_messages(expense_id: str, status: str, step: int, decided: int) -> set[str]:
    """The Slack messages an expense should have: its cards, and the DM once it is final."""
    if status == "pending_approval":
        return {f"card:{expense_id}:{s}" for s in range(step + 1)}
    if status in FINAL:
        cards = {f"card:{expense_id}:{s}" for s in range(decided)}
        return cards | {f"dm:{expense_id}:{status}"}
    return set()


def messages_of(found: Snapshot, expense_id: str) -> set[str]:
    return {key for key in found.messages if key.split(":")[1] == expense_id}


def settled(stack: Stack, accepted: list[str]) -> Snapshot | None:
    """Every accepted expense stored, every expense evaluated, with its card or DM in Slack,
    and decided cards redrawn."""
    found = snapshot(stack)
    if not found.expenses.keys() >= set(accepted):
        return None
    for expense_id, (status, step) in found.expenses.items():
        if status == "submitted":
            return None
        decided = found.decided_steps.get(expense_id, 0)
        if not expected_messages(expense_id, status, step, decided) <= found.messages.keys():
            return None
        if any(f"card:{expense_id}:{s}" in found.buttons for s in range(decided)):
            return None
    return found


def wait_settled(stack: Stack, accepted: list[str], timeout: float) -> Snapshot:
    return wait_for(lambda: settled(stack, accepted), timeout=timeout, what="all to settle")


def hand_back_unacked(broker_url: str) -> list[str]:
    """What Redis does once the visibility timeout has passed, without waiting for it.

    A killed worker's messages stay in the unacked hash until then (an hour by default), when
    a live worker puts them back on their queue and runs them again. Called once the work has
    settled, this shows that those late copies find their work done. Returns their task ids.
    """
    with broker_connection(broker_url, transport_options={"visibility_timeout": 0}) as conn:
        channel = conn.default_channel
        held = channel.client.hvals(UNACKED)
        channel.qos.restore_visible(num=None, interval=1)
    return [json.loads(raw)[0]["headers"]["id"] for raw in held]


def wait_idle_broker(client: redis.Redis, queue: str, timeout: float = 60) -> None:
    """Nothing queued, held or waiting for its countdown: no late duplicate can still land."""

    def idle() -> bool:
        return int(client.llen(queue)) + int(client.hlen(UNACKED)) == 0

    # Twice in a row: a restore moves a message out of the hash just before queuing it.
    wait_for(lambda: idle() and idle(), timeout=timeout, what="an idle broker")


def assert_consistent(stack: Stack, accepted: list[str], found: Snapshot) -> None:
    """Every 202 has its row, settled, with exactly the Slack messages and events it should."""
    assert len(set(accepted)) == len(accepted)
    assert found.expenses.keys() >= set(accepted), "a 202 without its row"
    doubled = {key: n for key, n in found.messages.items() if n > 1}
    assert doubled == {}, f"Slack messages posted more than once: {doubled}"
    assert found.unkeyed == 0
    for expense_id, (status, step) in found.expenses.items():
        assert status != "submitted", expense_id
        actions = found.actions[expense_id]
        twice = {a: n for a, n in actions.items() if a in ONCE and n > 1}
        assert twice == {}, (expense_id, actions)
        assert actions["submitted"] == 1, (expense_id, actions)
        assert actions["auto_approved"] + actions["routed_to_human"] == 1, (expense_id, actions)
        decided = found.decided_steps.get(expense_id, 0)
        decision_events = actions["step_approved"] + actions["approved"] + actions["rejected"]
        assert decision_events == decided, (expense_id, actions)
        expected = expected_messages(expense_id, status, step, decided)
        assert messages_of(found, expense_id) == expected, (expense_id, status)
    stack.verify_audit_log()


def approve_cards(stack: Stack, found: Snapshot, clicked: list[str]) -> None:
    """Bob clicks Approve, once, on every first-step card still showing its buttons."""
    for expense_id, (status, _step) in found.expenses.items():
        if expense_id in clicked or status != "pending_approval":
            continue
        if f"card:{expense_id}:0" in found.buttons:
            card = stack.fresh_card(expense_id)
            assert stack.click("U0BOB", card, ActionId.APPROVE).status_code == 200
            clicked.append(expense_id)


def alive(proc: Any, log: Callable[[], str]) -> None:
    """The process still runs: it survived what the test did to it."""
    assert proc.poll() is None, log()[-4000:]
    assert "Unrecoverable error" not in log()
