"""Benchmark set-up: a throwaway PostgreSQL database, the real API and worker processes, timing."""

import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path

import httpx

import app  # noqa: F401
from app.db import Database
from app.dev import seed_demo_people
from app.migrate import upgrade
from app.services import expenses
from app.services.employees import find_by_email
from app.settings import Settings
from bench.pg import scratch_database
from bench.standins.production import production_env
from bench.standins.server import ServerThread, free_port
from slack.sandbox.app import create_sandbox_app

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
SIGNING_SECRET = secrets.token_hex(16)
BOT_TOKEN = "xoxb-" + secrets.token_hex(16)


@dataclass
class Bench:
    api: str
    database_url: str
    tokens: dict[str, str]
    env: dict[str, str]
    workdir: Path
    sandbox: str
    # Every process started, stopped when the bench ends (a worker left behind keeps polling).
    procs: "list[subprocess.Popen[bytes]]" = field(default_factory=list)

    def spawn(self, *args: str, **env: str) -> "subprocess.Popen[bytes]":
        """Start `expense-bot ARGS` with this bench's settings, `env` overriding some."""
        proc = subprocess.Popen(
            [sys.executable, "-m", "app", *args],
            env={**self.env, **env},
            cwd=self.workdir,
            stdout=subprocess.DEVNULL,
            stderr=Path(self.workdir, f"{args[0]}.log").open("ab"),
        )
        self.procs.append(proc)
        return proc

    def stop_all(self) -> None:
        for proc in self.procs:
            proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def start_worker(
        self, concurrency: int, timeout: float = 60, pool: str = "threads", **env: str
    ) -> "subprocess.Popen[bytes]":
        """Start a Celery worker and return once it says it is ready to take jobs."""
        log = Path(self.workdir, "worker.log")
        seen = log.stat().st_size if log.exists() else 0
        proc = self.spawn("worker", "--concurrency", str(concurrency), "--pool", pool, **env)
        deadline = time.monotonic() + timeout
        while b" ready." not in log.read_bytes()[seen:]:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise RuntimeError(f"worker did not start; see {log}")
            time.sleep(0.1)
        return proc


@contextmanager
def migrated_database() -> Iterator[str]:
    """A throwaway PostgreSQL database at the newest migration; yields its URL."""
    with scratch_database("expense_bot_bench") as url:
        upgrade(url)
        yield url


@contextmanager
def running_api(api_workers: int = 1, **extra_env: str) -> Iterator[Bench]:
    port = free_port()
    api = f"http://127.0.0.1:{port}"
    sandbox_app = create_sandbox_app(
        bot_token=BOT_TOKEN, signing_secret=SIGNING_SECRET, events_url=f"{api}/slack/events"
    )
    with (
        migrated_database() as url,
        tempfile.TemporaryDirectory() as tmp,
        ServerThread(sandbox_app) as sandbox,
    ):
        tokens = seed_demo_people(
            Settings(_env_file=None, app_env="development", data_dir=Path(tmp), database_url=url)
        )
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DATABASE_"))}
        env.update(
            **production_env(
                database_url=url,
                broker_url=REDIS_URL,
                slack_api_url=f"{sandbox.url}/api/",
                bot_token=BOT_TOKEN,
                signing_secret=SIGNING_SECRET,
            ),
            CELERY_QUEUE=f"bench-{secrets.token_hex(4)}",
            # Without an LLM stand-in, production is told that humans decide everything.
            LLM_REVIEW="true" if "OPENAI_BASE_URL" in extra_env else "false",
            DATA_DIR=tmp,
            **extra_env,
        )
        bench = Bench(api, url, tokens, env, Path(tmp), sandbox.url)
        bench.spawn(
            "api", "--host", "127.0.0.1", "--port", str(port), "--workers", str(api_workers)
        )
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    if httpx.get(f"{api}/healthz").status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError("API did not start")
                time.sleep(0.1)
            yield bench
        finally:
            bench.stop_all()


def timed(
    call: Callable[[int], None], indices: range, concurrency: int
) -> tuple[list[float], float]:
    """Runs call(i) for each index on `concurrency` threads; returns latencies and wall time."""

    def one(i: int) -> float:
        started = time.perf_counter()
        call(i)
        return time.perf_counter() - started

    started = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        latencies = list(pool.map(one, indices))
    return latencies, time.perf_counter() - started


def summary(label: str, latencies: list[float], wall: float) -> dict[str, float]:
    ordered = sorted(latencies)
    p95 = ordered[int(len(ordered) * 0.95) - 1]
    stats = {
        "p50_ms": statistics.median(ordered) * 1000,
        "p95_ms": p95 * 1000,
        "max_ms": ordered[-1] * 1000,
        "rate": len(ordered) / wall,
    }
    print(
        f"{label:<28} n={len(ordered):<5} p50={stats['p50_ms']:7.1f}ms "
        f"p95={stats['p95_ms']:7.1f}ms max={stats['max_ms']:7.1f}ms "
        f"rate={stats['rate']:7.1f}/s"
    )
    return stats


def submit_as_alice(db: Database, amounts: list[str], tag: str) -> list[uuid.UUID]:
    """Store routine travel expenses for the demo employee Alice; returns their ids."""
    with db.session() as session:
        alice = find_by_email(session, "alice@example.com")
        assert alice is not None
    ids = []
    for i, amount in enumerate(amounts):
        data = expenses.NewExpense(
            Decimal(amount),
            "USD",
            "travel",
            f"{tag}-{i}",
            "bench",
            date(2026, 11, 1),
            # One link each: a link claimed twice is a duplicate, which a human decides.
            f"https://r.example/{tag}-{i}",
        )
        with db.session() as session:
            expense, _ = expenses.submit(session, alice, data, None)
            ids.append(expense.id)
    return ids
