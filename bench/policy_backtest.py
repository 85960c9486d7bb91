"""Backtesting a policy over a long history: wall time and peak memory of `policy backtest`.

Run: python -m bench.policy_backtest [EXPENSES] (default 10,000).
A history of expenses (200 people, six months, with repeated claims, reused receipts, forbidden
merchants and busy months) is decided by the shipped policy (plus a receipt host) on made-up LLM
advice, and stored in a throwaway PostgreSQL database. Then the real command runs in a fresh
process: over an empty database (the baseline: start-up and imports), over the history with the
shipped policy (nothing may change: the same rules decided it), and with a stricter policy.
"""

import hashlib
import os
import random
import secrets
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, insert, text
from sqlalchemy.engine import make_url

import app  # noqa: F401  (our `slack` package first)
from app.domain.advice import LlmAdvice, Recommendation
from app.domain.gate import Route, route_expense
from app.domain.history import PastExpense, history_for, receipt_sha256
from app.domain.policy import Policy
from app.domain.workflow import Status
from app.migrate import upgrade
from app.policy_loader import load_policy
from app.services.evaluation import facts_of
from app.settings import DEFAULT_POLICY_FILE
from models import Employee, Expense

ADMIN_URL = os.environ.get(
    "TEST_POSTGRES_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres"
)
PEOPLE = 200
CATEGORIES = ["travel", "lodging", "meals", "software", "office_supplies", "training"]
MERCHANTS = ["Rail Co", "Sky Air", "Hotel Nord", "Cafe Uno", "Office Hub", "CodeSoft", "Learn Inc"]
START = datetime(2026, 6, 1, tzinfo=UTC)
ROUTE_STATUS = {Route.AUTO_APPROVE: Status.APPROVED, Route.AUTO_REJECT: Status.REJECTED}
# What people decided on the expenses the gate sent them, some still waiting.
HUMAN_OUTCOMES = [Status.APPROVED, Status.APPROVED, Status.REJECTED, Status.PENDING_APPROVAL]
RECEIPTS = {"receipt_hosts = []": 'receipt_hosts = ["files.corp.example"]'}
STRICTER = {
    **RECEIPTS,
    'auto_approve_below = "1000"': 'auto_approve_below = "600"',
    'action = "flag"\n\n# Expenses incurred': 'action = "reject"\n\n# Expenses incurred',
}


@contextmanager
def scratch_database() -> Iterator[str]:
    """A new, migrated database, dropped afterwards."""
    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"expense_bot_bench_backtest_{secrets.token_hex(4)}"
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        url = make_url(ADMIN_URL).set(database=name).render_as_string(hide_password=False)
        upgrade(url)
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def claim(
    rng: random.Random, n: int, people: list[int], earlier: list[dict[str, Any]]
) -> dict[str, Any]:
    """One expense as submitted; now and then the same claim again, or a receipt reused."""
    created = START + timedelta(minutes=26 * n)
    if earlier and rng.random() < 0.03:
        return {**rng.choice(earlier), "id": uuid.uuid4(), "created_at": created}
    category = rng.choice(CATEGORIES)
    amount = rng.uniform(5, 300) if rng.random() < 0.7 else rng.uniform(300, 3000)
    receipt = f"https://files.corp.example/{rng.randrange(10**12)}.pdf"
    if earlier and rng.random() < 0.01:
        receipt = rng.choice(earlier)["receipt_url"]
    return {
        "id": uuid.uuid4(),
        "submitter_id": rng.choice(people),
        "amount": Decimal(amount).quantize(Decimal("0.01")),
        "currency": "EUR" if rng.random() < 0.1 else "USD",
        "category": category,
        "merchant": "Lucky Casino" if rng.random() < 0.005 else rng.choice(MERCHANTS),
        "description": f"{category} for a client visit",
        "incurred_on": (created - timedelta(days=rng.randrange(1, 20))).date(),
        "receipt_url": receipt,
        "created_at": created,
    }


def policy_file(path: Path, replacements: dict[str, str]) -> Path:
    """The shipped policy with some text replaced."""
    text_ = DEFAULT_POLICY_FILE.read_text()
    for old, new in replacements.items():
        assert old in text_, old
        text_ = text_.replace(old, new)
    path.write_text(text_)
    return path


def decide(policy: Policy, count: int, people: list[int]) -> list[dict[str, Any]]:
    """The expenses, each decided in submission order by the policy's gate."""
    rng = random.Random(20261201)
    by_submitter: dict[int, list[PastExpense]] = defaultdict(list)
    by_receipt: dict[str, list[PastExpense]] = defaultdict(list)
    rows: list[dict[str, Any]] = []
    for n in range(count):
        row = claim(rng, n, people, rows[-500:])
        key = receipt_sha256(row["receipt_url"])
        me = PastExpense(
            str(row["id"]), row["submitter_id"], row["amount"], row["currency"], row["merchant"],
            row["category"], row["incurred_on"], key, Status.SUBMITTED, row["created_at"],
        )  # fmt: skip
        seen = {p.id: p for p in (*by_submitter[me.submitter_id], *by_receipt[key or ""])}
        facts = facts_of(Expense(**row), policy, history_for(policy, me, seen.values()))
        advice = LlmAdvice(
            Recommendation.REJECT if rng.random() < 0.1 else Recommendation.APPROVE,
            round(rng.betavariate(20, 1), 3),
            ("looks routine",),
            "bench-model",
        )
        decision = route_expense(policy, facts, advice)
        status = ROUTE_STATUS.get(decision.route) or rng.choice(HUMAN_OUTCOMES)
        row.update(
            receipt_sha256=key,
            status=status,
            steps=["approver"] if decision.route is Route.HUMAN else [],
            route_reasons=list(decision.reasons),
            policy_version=policy.version,
            policy_sha256=policy.source_sha256,
            llm_advice=advice,
            gate_route=decision.route.value,
            rule_trace=[r.as_dict() for r in decision.rule_trace],
            request_hash=hashlib.sha256(str(row["id"]).encode()).hexdigest(),
            updated_at=row["created_at"],
        )
        stored = replace(me, status=status)
        by_submitter[me.submitter_id].append(stored)
        if key:
            by_receipt[key].append(stored)
        rows.append(row)
    return rows


def store(url: str, policy: Policy, count: int) -> list[dict[str, Any]]:
    engine = create_engine(url)
    with engine.begin() as conn:
        people = list(
            conn.scalars(
                insert(Employee).returning(Employee.id),
                [{"email": f"p{i}@corp.example", "name": f"P {i}"} for i in range(PEOPLE)],
            )
        )
    rows = decide(policy, count, people)
    with engine.begin() as conn:
        for i in range(0, len(rows), 1000):
            conn.execute(insert(Expense), rows[i : i + 1000])
    engine.dispose()
    return rows


@dataclass
class Run:
    seconds: float
    peak_mb: float
    output: str


# Run in the child: the command, then its own peak RSS. VmHWM belongs to the process's memory
# since exec, so the parent's size (which a forked child's ru_maxrss can inherit) never counts.
_RUN_AND_REPORT_PEAK = """
import sys
from app.cli import main
code = main(sys.argv[1:])
peak = next(line for line in open("/proc/self/status") if line.startswith("VmHWM"))
print("peak_kb", peak.split()[1], file=sys.stderr)
sys.exit(code)
"""


def backtest(url: str, policy: Path, workdir: Path) -> Run:
    """`expense-bot policy backtest` in a fresh process: its wall time and peak RSS."""
    env = {**os.environ, "DATABASE_URL": url, "APP_ENV": "development"}
    argv = ["policy", "backtest", "--policy", str(policy), "--csv", str(workdir / "changes.csv")]
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", _RUN_AND_REPORT_PEAK, *argv],
        env=env,
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=600,
    )
    seconds = time.perf_counter() - started
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    peak_kb = int(output.split("peak_kb ")[1].split()[0])
    return Run(seconds, peak_kb / 1024, output)


def report(label: str, run: Run) -> None:
    changed = next(line for line in run.output.splitlines() if "would change" in line)
    print(f"{label:<34} {run.seconds:6.2f}s  peak RSS {run.peak_mb:6.1f} MB  {changed}")


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    with (
        tempfile.TemporaryDirectory() as tmp,
        scratch_database() as empty,
        scratch_database() as full,
    ):
        workdir = Path(tmp)
        shipped_file = policy_file(workdir / "shipped.toml", RECEIPTS)
        stricter = policy_file(workdir / "stricter.toml", STRICTER)
        started = time.perf_counter()
        rows = store(full, load_policy(shipped_file), count)
        routes = Counter(row["gate_route"] for row in rows)
        took = time.perf_counter() - started
        print(f"generated and stored {count:,} decided expenses in {took:.1f}s: {dict(routes)}")
        baseline = backtest(empty, shipped_file, workdir)
        shipped = backtest(full, shipped_file, workdir)
        strict = backtest(full, stricter, workdir)
    report("empty database (baseline)", baseline)
    report(f"{count:,} expenses, shipped policy", shipped)
    report(f"{count:,} expenses, stricter policy", strict)
    assert f"0 of {count} outcome(s) would change" in shipped.output, shipped.output
    per = (shipped.seconds - baseline.seconds) / count * 1e6
    print(
        f"{per:.0f} us per expense beyond the baseline; memory over the baseline "
        f"{shipped.peak_mb - baseline.peak_mb:.1f} MB"
    )


if __name__ == "__main__":
    main()
