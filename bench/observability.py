"""A mixed load run watched by a real Prometheus, drawn to observability/load-run.png.

Run: python -m bench.observability (or `make bench-observability`). Needs Debian's `prometheus`.

The real API (2 uvicorn workers) and a real Celery worker run on a throwaway database, with the
Slack and OpenAI stand-ins. Prometheus scrapes both every second while employees submit expenses
(warm-up, a burst, recovery) and approvers click the cards that reach Slack. Then the key series
are read back with query_range, drawn, and printed, next to what the benchmark itself counted.
"""

import json
import random
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import and_, exists, func, select

from app.db import Database
from app.domain.workflow import FINAL_STATUSES, Status
from app.services.employees import add_employee, create_token
from bench.chart import draw, matplotlib_missing
from bench.common import SIGNING_SECRET, Bench, running_api
from bench.prometheus import Prometheus, find_binary, running_prometheus
from bench.series import RunShape, report
from bench.standins.openai_standin import EXPECTED_KEY, create_openai_standin
from bench.standins.server import ServerThread
from models import Decision, Expense, SlackMessage
from slack.ids import ActionId, CallbackId
from slack.sandbox.payloads import block_actions, signed_request, view_submission

OUTPUT = Path(__file__).resolve().parents[1] / "observability" / "load-run.png"
# (name, seconds, expenses submitted per second)
PHASES = (("warm-up", 15, 3.0), ("burst", 20, 9.0), ("recovery", 25, 3.0))
DRAIN_TIMEOUT = 120.0
SUBMITTERS = 12  # one Slack DM channel each: Slack paces every channel to about 1 message/s
SENDERS = 12
LATE = 0.05  # a send this far behind its schedule is counted as late
WORKER_THREADS = 8  # fewer than the burst needs with a 1 s LLM: the queue shows it
LLM_LATENCY = 1.0  # a hosted model answers in about a second
REJECT_EVERY = 5  # the approver rejects one first-step card in five, with a reason
# What each POST is. Only amounts under the receipt threshold can be auto-approved.
MIX = {
    "routine": 70,  # under 75 USD, LLM approves: auto-approved
    "over_limit": 8,  # 150-900 USD without a receipt: an approver decides
    "finance": 2,  # 12,000 USD: approver, then finance
    "llm_reject": 5,  # the stand-in LLM recommends rejection: an approver decides
    "llm_error": 3,  # the stand-in LLM answers 500: an approver decides
    "llm_slow": 1,  # the stand-in LLM answers after 4 s, then approves
    "invalid": 5,  # a currency not in circulation: 422
    "retry": 3,  # sent twice with one Idempotency-Key: 202, then 202 duplicate
    "conflict": 3,  # an Idempotency-Key reused for another body: 202, then 409
}
MERCHANT = {"llm_reject": "LLM-REJECT", "llm_error": "LLM-ERROR", "llm_slow": "LLM-SLOW"}
OUTCOME = {202: "accepted", 409: "conflict", 422: "refused"}


def expense_body(kind: str, i: int, rng: random.Random) -> dict[str, str]:
    amount = f"{rng.randint(10, 74)}.{rng.randint(0, 99):02d}"
    if kind == "over_limit":
        amount = f"{rng.randint(150, 900)}.00"
    elif kind == "finance":
        amount = "12000.00"
    return {
        "amount": amount,
        "currency": "XAU" if kind == "invalid" else "USD",
        "category": rng.choice(("travel", "meals", "software")),
        "merchant": f"{MERCHANT.get(kind, 'Vendor')} {i}",
        "description": "observability bench",
        "incurred_on": (datetime.now(UTC).date() - timedelta(days=3)).isoformat(),
    }


@dataclass
class Tally:
    """What the benchmark itself did, to hold the scraped series against."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    intake: Counter[str] = field(default_factory=Counter)
    kinds: Counter[str] = field(default_factory=Counter)
    clicks: Counter[str] = field(default_factory=Counter)
    late: list[float] = field(default_factory=list)

    def add(self, counter: str, key: str) -> None:
        with self.lock:
            getattr(self, counter)[key] += 1


def add_submitters(database_url: str, count: int) -> list[str]:
    """Employees with Slack ids of their own, managed by the demo approver Bob; their tokens."""
    db = Database(database_url, job_sender=lambda _jobs: None)
    tokens = []
    try:
        for n in range(count):
            with db.session() as session:
                person = add_employee(
                    session,
                    email=f"bench{n:02d}@example.com",
                    name=f"Bench Employee {n}",
                    slack_user_id=f"U0BENCH{n:02d}",
                    manager_email="bob@example.com",
                )
                tokens.append(create_token(session, person))
    finally:
        db.dispose()
    return tokens


def schedule() -> list[float]:
    """Send times (seconds after the start), evenly spread within each phase."""
    times, start = [], 0.0
    for _name, seconds, rate in PHASES:
        count = int(seconds * rate)
        times += [start + k / rate for k in range(count)]
        start += seconds
    return times


def submit_all(bench: Bench, tokens: list[str], tally: Tally, t0: float) -> None:
    """Each expense goes at its scheduled time, not when an answer frees a sender (late sends
    are counted and printed)."""
    times = schedule()
    plan_rng = random.Random(9)
    kinds = plan_rng.choices(list(MIX), weights=list(MIX.values()), k=len(times))
    client = httpx.Client(timeout=30, limits=httpx.Limits(max_connections=SENDERS))

    def post(body: dict[str, str], token: str, key: str | None = None, again: bool = False) -> None:
        headers = {"Authorization": f"Bearer {token}"}
        if key:
            headers["Idempotency-Key"] = key
        response = client.post(f"{bench.api}/expenses", json=body, headers=headers)
        outcome = OUTCOME.get(response.status_code, f"unexpected {response.status_code}")
        tally.add("intake", "duplicate" if again and outcome == "accepted" else outcome)

    def one(i: int) -> None:
        lag = t0 + times[i] - time.time()
        if lag > 0:
            time.sleep(lag)  # the schedule, not a wait for something to happen
        elif lag < -LATE:
            with tally.lock:
                tally.late.append(-lag)
        kind, rng = kinds[i], random.Random(i)
        tally.add("kinds", kind)
        token = tokens[i % len(tokens)]
        body = expense_body("routine" if kind in ("retry", "conflict") else kind, i, rng)
        key = f"bench-{i}" if kind in ("retry", "conflict") else None
        post(body, token, key)
        if kind == "retry":
            post(body, token, key, again=True)
        elif kind == "conflict":
            post({**body, "amount": "11.11"}, token, key)

    with ThreadPoolExecutor(SENDERS) as pool:
        list(pool.map(one, range(len(times))))
    client.close()


class Approvers:
    """Bob decides first steps (approving most, rejecting some with a reason); Carol, finance."""

    def __init__(self, bench: Bench, tally: Tally) -> None:
        self.bench = bench
        self.tally = tally
        self.http = httpx.Client(timeout=30)
        self.clicked: set[str] = set()
        self.rejecting: dict[str, str] = {}  # expense id -> card key whose modal is awaited
        self.error = ""

    def _post(self, payload: dict[str, Any]) -> None:
        body, headers = signed_request(payload, SIGNING_SECRET)
        response = self.http.post(f"{self.bench.api}/slack/events", content=body, headers=headers)
        assert response.status_code == 200, response.text

    def _click(self, user: str, card: dict[str, Any], action: ActionId) -> None:
        actions = next(b for b in card["blocks"] if b["type"] == "actions")
        element = next(e for e in actions["elements"] if e["action_id"] == action)
        trigger = self.http.post(f"{self.bench.sandbox}/_control/trigger", json={"user": user})
        payload = block_actions(
            user_id=user,
            channel=card["channel"],
            message=card,
            action=element,
            block_id=actions["block_id"],
            trigger_id=str(trigger.json()["trigger_id"]),
        )
        self._post(payload)

    def round(self) -> None:
        state = self.http.get(f"{self.bench.sandbox}/_state").json()
        for card in state["messages"]:
            key = ((card.get("metadata") or {}).get("event_payload") or {}).get("key", "")
            has_buttons = any(b["type"] == "actions" for b in card["blocks"])
            if not key.startswith("card:") or key in self.clicked or not has_buttons:
                continue
            self.clicked.add(key)
            _, expense_id, step = key.split(":")
            if step != "0":
                self._click("U0CAROL", card, ActionId.APPROVE)
                self.tally.add("clicks", "finance approved")
            elif len(self.clicked) % REJECT_EVERY == 0:
                self._click("U0BOB", card, ActionId.REJECT)
                self.rejecting[expense_id] = key
            else:
                self._click("U0BOB", card, ActionId.APPROVE)
                self.tally.add("clicks", "approved")
        for entry in state["views"].values():
            view = entry["view"]
            if not entry["open"] or view["callback_id"] != CallbackId.REJECT_MODAL:
                continue
            expense_id = next((e for e in self.rejecting if e in view["private_metadata"]), None)
            if expense_id is None:
                continue
            del self.rejecting[expense_id]
            self._post(
                view_submission(
                    user_id=entry["user"],
                    view=view,
                    values={"reason": {"reason_input": "Not a business expense (bench)"}},
                    trigger_id="bench",
                )
            )
            self.tally.add("clicks", "rejected")

    def run(self, stop: threading.Event) -> None:
        try:
            while not stop.is_set():
                self.round()
                stop.wait(0.5)
        except Exception as exc:  # noqa: BLE001  (reported with the results, not lost in a thread)
            self.error = f"approvers stopped: {exc!r}"
        finally:
            self.http.close()


@dataclass
class Backlog:
    """Ground truth read from the database each second, to hold the gauges against."""

    samples: list[tuple[float, dict[str, int]]] = field(default_factory=list)


# Work still to do, as the database tells it; the run is over when all of it is zero.
UNDONE = (
    "awaiting or in evaluation",
    "awaiting an approver",
    "cards not yet posted",
    "outcome DMs not yet sent",
)


def backlog_now(db: Database) -> dict[str, int]:
    """Each of UNDONE, and how many decisions approvers have made so far."""
    sent = SlackMessage.sent_at.is_not(None)
    card_sent = exists().where(
        SlackMessage.expense_id == Expense.id,
        SlackMessage.kind == "card",
        SlackMessage.step == Expense.current_step,
        sent,
    )
    dm_sent = exists().where(SlackMessage.expense_id == Expense.id, SlackMessage.kind == "dm", sent)
    pending = Expense.status == Status.PENDING_APPROVAL.value
    queries = {
        "awaiting or in evaluation": Expense.status == Status.SUBMITTED.value,
        "awaiting an approver": pending,
        "cards not yet posted": and_(pending, ~card_sent),
        "outcome DMs not yet sent": and_(
            Expense.status.in_([s.value for s in FINAL_STATUSES]), ~dm_sent
        ),
    }
    with db.session() as session:
        found = {
            name: session.scalar(select(func.count()).select_from(Expense).where(where)) or 0
            for name, where in queries.items()
        }
        found["decided by an approver"] = (
            session.scalar(select(func.count()).select_from(Decision)) or 0
        )
    return found


@contextmanager
def sampling(db: Database, t0: float) -> Iterator[Backlog]:
    backlog = Backlog()
    stop = threading.Event()

    def loop() -> None:
        while not stop.is_set():
            backlog.samples.append((time.time() - t0, backlog_now(db)))
            stop.wait(1.0)

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    try:
        yield backlog
    finally:
        stop.set()
        thread.join(timeout=10)


def drain(db: Database, deadline: float) -> dict[str, int]:
    """Wait until every expense is decided and its submitter told, or the deadline passes."""
    while True:
        left = {name: count for name, count in backlog_now(db).items() if name in UNDONE}
        if not any(left.values()) or time.time() > deadline:
            return left
        time.sleep(0.5)


def log_problems(workdir: Path) -> None:
    """Warnings and errors the API and the worker logged, grouped, so a run's trouble shows."""
    for name in ("api", "worker"):
        found: Counter[str] = Counter()
        for line in Path(workdir, f"{name}.log").read_text(errors="replace").splitlines():
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if isinstance(record, dict) and record.get("level") in ("warning", "error", "critical"):
                found[f"{record['level']}: {str(record.get('event'))[:80]}"] += 1
        print(f"{name} log: {sum(found.values())} warnings and errors")
        for event, count in found.most_common(6):
            print(f"  {count:5d} x {event}")


def load_run(bench: Bench, db: Database, prom: Prometheus) -> None:
    """Submit, click and drain while Prometheus watches; then print and draw what it saw."""
    tokens = add_submitters(bench.database_url, SUBMITTERS)
    tally = Tally()
    approvers = Approvers(bench, tally)
    stop = threading.Event()
    clicker = threading.Thread(target=approvers.run, args=(stop,), daemon=True)
    t0 = time.time()
    with sampling(db, t0) as backlog:
        clicker.start()
        submit_all(bench, tokens, tally, t0)
        load_end = time.time()
        left = drain(db, load_end + DRAIN_TIMEOUT)
        end = time.time()
        stop.set()
        clicker.join(timeout=30)
    prom.wait_for_scrape_after(end)
    shape = RunShape(
        t0=t0,
        phases=tuple((name, float(seconds)) for name, seconds, _ in PHASES),
        load_seconds=load_end - t0,
        end_seconds=end - t0,
        setup=(
            f"API: 2 uvicorn workers; worker: {WORKER_THREADS} threads; "
            f"LLM stand-in {LLM_LATENCY * 1000:.0f} ms; Slack stand-in; "
            f"{SUBMITTERS} employees; PostgreSQL + Redis; scraped every 1 s"
        ),
    )
    series = report(prom, shape, backlog.samples, tally, left)
    if approvers.error:
        print(approvers.error)
    draw(series, shape, OUTPUT)


def main() -> None:
    # Before any set-up: say what to install if something is missing.
    find_binary()
    if matplotlib_missing():
        raise SystemExit(2)
    with (
        ServerThread(create_openai_standin(delay_seconds=LLM_LATENCY)) as llm,
        running_api(
            api_workers=2,
            OPENAI_BASE_URL=f"{llm.url}/v1",
            OPENAI_API_KEY=EXPECTED_KEY,
            OPENAI_MODEL="standin",
            OPENAI_TIMEOUT_SECONDS="10",
            OPENAI_MAX_RETRIES="0",
        ) as bench,
    ):
        worker = bench.start_worker(WORKER_THREADS)
        db = Database(bench.database_url, job_sender=lambda _jobs: None)
        targets = {
            "api": bench.api.removeprefix("http://"),
            "worker": f"127.0.0.1:{bench.env['WORKER_METRICS_PORT']}",
        }
        try:
            with running_prometheus(targets) as prom:
                load_run(bench, db, prom)
        finally:
            worker.terminate()
            worker.wait(timeout=30)
            db.dispose()
            log_problems(bench.workdir)
    size = OUTPUT.stat().st_size
    print(f"wrote {OUTPUT.relative_to(OUTPUT.parents[1])} ({size / 1024:.0f} KiB)")


if __name__ == "__main__":
    main()
