"""Starts the whole bot: on PostgreSQL with Redis, with RabbitMQ, and as the embedded default."""

import os
import shutil
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from app.dev import seed_demo_people
from app.migrate import upgrade
from app.settings import SANDBOX_SIGNING_SECRET, Settings
from bench.standins.openai_standin import EXPECTED_KEY, create_openai_standin
from bench.standins.production import production_env
from bench.standins.server import ServerThread, free_port
from slack.sandbox.app import create_sandbox_app
from tests.conftest import broker_connection, migrated_database, service_unavailable
from tests.e2e.harness import Stack, wait_for
from tests.standins.postgres_server import PostgresServer, PostgresUnavailable

ROOT = Path(__file__).resolve().parents[2]
OWN_PREFIXES = (
    "DATABASE_",
    "CELERY_",
    "SLACK_",
    "OPENAI_",
    "APP_ENV",
    "DATA_DIR",
    "PUBLIC_BASE_URL",
    "POLICY_FILE",
    "WORKER_",
    "STUCK_",
    "SWEEP_",
    "SESSION_",
    "RATE_LIMIT_",
    "LLM_",
    "MAX_",
)


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(OWN_PREFIXES)}
    env.update(extra)
    return env


class Processes:
    def __init__(self, logdir: Path) -> None:
        self.logdir = logdir
        self.running: list[tuple[subprocess.Popen[bytes], Path]] = []
        self.by_name: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, name: str, args: list[str], env: dict[str, str], cwd: Path) -> Path:
        log = self.logdir / f"{name}.log"
        proc = subprocess.Popen(
            [sys.executable, "-m", "app", *args],
            env=env,
            cwd=cwd,
            stdout=log.open("ab"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.running.append((proc, log))
        self.by_name[name] = proc
        return log

    def wait(self, name: str, timeout: float) -> int:
        """Wait for a process to exit by itself; returns its exit code."""
        proc = self.by_name.pop(name)
        code = proc.wait(timeout=timeout)
        self.running = [(p, log) for p, log in self.running if p is not proc]
        return code

    def kill(self, name: str) -> None:
        """SIGKILL the process group: a crash, with no chance to clean up or ack."""
        proc = self.by_name.pop(name)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)

    def stop(self) -> None:
        for proc, _log in self.running:
            proc.terminate()
        for proc, log in self.running:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)  # the whole group: dev's worker too
                proc.wait(timeout=10)
            if proc.returncode not in (0, -9, -15, None):
                print(f"\n--- {log.name} (exit {proc.returncode}) ---\n{log.read_text()[-4000:]}")


def wait_ready(api: str, worker_log: Path) -> None:
    def healthy() -> bool:
        try:
            return httpx.get(f"{api}/healthz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    wait_for(healthy, timeout=60, what=f"API at {api}")
    wait_for(lambda: "ready." in worker_log.read_text(), timeout=60, what="Celery worker")


@pytest.fixture(scope="session")
def openai_standin() -> Iterator[ServerThread]:
    with ServerThread(create_openai_standin()) as server:
        yield server


@pytest.fixture(scope="session")
def slow_llm() -> Iterator[ServerThread]:
    """An LLM that takes a second over every answer: work is in flight when a fault hits."""
    with ServerThread(create_openai_standin(delay_seconds=1.0)) as server:
        yield server


def llm_env(openai: ServerThread) -> dict[str, str]:
    return {
        "OPENAI_BASE_URL": f"{openai.url}/v1",
        "OPENAI_API_KEY": EXPECTED_KEY,
        "OPENAI_MODEL": "standin-model",
        "OPENAI_TIMEOUT_SECONDS": "1",
        "OPENAI_MAX_RETRIES": "0",
    }


def delete_broker_queue(broker_url: str, queue: str) -> None:
    """RabbitMQ keeps durable queues and exchanges; each run removes its own."""
    if not broker_url.startswith("amqp"):
        return
    with broker_connection(broker_url) as conn:
        channel = conn.default_channel
        channel.queue_delete(queue)
        channel.exchange_delete(queue)


def postgres_stack(
    tmp: Path, openai: ServerThread, broker_url: str, **extra_env: str
) -> Iterator[Stack]:
    """The bot on a database of its own: no other test's rows can reach its sweeper."""
    with migrated_database("e2e") as postgres_url:
        yield from _postgres_stack(tmp, openai, postgres_url, broker_url, **extra_env)


def _postgres_stack(
    tmp: Path, openai: ServerThread, postgres_url: str, broker_url: str, **extra_env: str
) -> Iterator[Stack]:
    api_port = free_port()
    api = f"http://127.0.0.1:{api_port}"
    secret = uuid.uuid4().hex
    token = "xoxb-" + uuid.uuid4().hex
    sandbox_app = create_sandbox_app(
        bot_token=token, signing_secret=secret, events_url=f"{api}/slack/events"
    )
    with ServerThread(sandbox_app) as sandbox:
        # A queue of its own: runs sharing one Redis or RabbitMQ never take each other's jobs.
        queue = f"expense-bot-e2e-{uuid.uuid4().hex[:8]}"
        env = clean_env(
            **{
                **production_env(
                    database_url=postgres_url,
                    broker_url=broker_url,
                    slack_api_url=f"{sandbox.url}/api/",
                    bot_token=token,
                    signing_secret=secret,
                ),
                "CELERY_QUEUE": queue,
                "DATA_DIR": str(tmp),
                "PUBLIC_BASE_URL": api,
                # The test's own settings win, the LLM's timeout and the Slack channel included.
                **llm_env(openai),
                **extra_env,
            }
        )
        settings = Settings(
            _env_file=None, app_env="development", data_dir=tmp, database_url=postgres_url
        )
        tokens = seed_demo_people(settings)
        procs = Processes(tmp)
        try:
            # Two API processes: the conditional transition must hold across processes.
            api_args = ["api", "--host", "127.0.0.1", "--port", str(api_port), "--workers", "2"]
            procs.start("api", api_args, env, tmp)
            worker_log = procs.start("worker", ["worker", "--concurrency", "8", "--beat"], env, tmp)
            wait_ready(api, worker_log)
            yield Stack(
                "postgres", api, sandbox.url, secret, tokens, procs=procs, env=env, workdir=tmp
            )
        finally:
            procs.stop()
            delete_broker_queue(broker_url, queue)


# The sweeper looks every 2 s for work quiet for 10 s.
SWEEPING = {"STUCK_AFTER_SECONDS": "10", "SWEEP_INTERVAL_SECONDS": "2"}


def sweeping_stack(
    tmp: Path, openai: ServerThread, broker_url: str, **extra_env: str
) -> Iterator[Stack]:
    """A PostgreSQL stack whose sweeper looks every 2 s for work quiet for 10 s."""
    yield from postgres_stack(tmp, openai, broker_url, **{**SWEEPING, **extra_env})


@contextmanager
def own_postgres() -> Iterator[PostgresServer]:
    """A PostgreSQL cluster of the test's own, to stop and restart; never the machine's."""
    try:
        server = PostgresServer()
    except PostgresUnavailable as exc:
        service_unavailable("PostgreSQL server", "this machine", exc)
    with server:
        yield server


def own_postgres_stack(
    server: PostgresServer, tmp: Path, openai: ServerThread, broker_url: str, **extra_env: str
) -> Iterator[Stack]:
    """A sweeping stack (as `sweeping_stack`) on a new database in the test's own cluster."""
    url = server.create_database("expense_bot")
    upgrade(url)
    yield from _postgres_stack(tmp, openai, url, broker_url, **{**SWEEPING, **extra_env})


def embedded_stack(tmp: Path, openai: ServerThread) -> Iterator[Stack]:
    """`expense-bot dev` as a new user runs it: with .env.example copied to .env."""
    port = free_port()
    api = f"http://127.0.0.1:{port}"
    data = tmp / "data"
    shutil.copy(ROOT / ".env.example", tmp / ".env")
    # The tests poll far faster than a person clicks: the limiter stays on, set high.
    env = clean_env(
        DATA_DIR=str(data),
        RATE_LIMIT_PER_TOKEN="1000000/minute",
        RATE_LIMIT_PER_ADDRESS="1000000/minute",
        **llm_env(openai),
    )
    procs = Processes(tmp)
    try:
        log = procs.start("dev", ["dev", "--port", str(port)], env, tmp)
        wait_ready(api, log)
        tokens = {p.stem: p.read_text().strip() for p in data.glob("*.token")}
        yield Stack(
            "embedded", api, f"{api}/sandbox", SANDBOX_SIGNING_SECRET, tokens, env=env, workdir=tmp
        )
    finally:
        procs.stop()


@pytest.fixture(scope="module", params=["postgres", "rabbitmq", "embedded"])
def stack(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    openai_standin: ServerThread,
) -> Iterator[Stack]:
    """`postgres` is PostgreSQL with Redis, `rabbitmq` PostgreSQL with RabbitMQ."""
    tmp = tmp_path_factory.mktemp(request.param)
    if request.param == "embedded":
        yield from embedded_stack(tmp, openai_standin)
        return
    broker = "redis_url" if request.param == "postgres" else "rabbitmq_url"
    broker_url = request.getfixturevalue(broker)
    yield from postgres_stack(tmp, openai_standin, broker_url)
