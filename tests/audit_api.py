"""The real API process, serving a database's audit log to an auditor: for the export's memory
test and its benchmark.

The download is read to the end and counted, never kept; afterwards the API process reports its
own peak resident memory (VmHWM), which is what a long export would push up if it buffered.
"""

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from app.db import Database
from app.services.employees import add_employee, create_token
from bench.standins.production import production_env
from bench.standins.server import free_port

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


@dataclass(frozen=True)
class RunningApi:
    url: str
    token: str
    pid: int

    def peak_kb(self) -> int:
        status = Path(f"/proc/{self.pid}/status").read_text()
        line = next(line for line in status.splitlines() if line.startswith("VmHWM:"))
        return int(line.split()[1])


@dataclass(frozen=True)
class Download:
    seconds: float
    size: int
    lines: int


def auditor_token(database_url: str) -> str:
    db = Database(database_url, job_sender=lambda _jobs: None)
    try:
        with db.session() as session:
            tag = os.urandom(5).hex()
            dana = add_employee(
                session, email=f"auditor-{tag}@corp.example", name="Dana", roles=["auditor"]
            )
            return create_token(session, dana)
    finally:
        db.dispose()


@contextmanager
def api_process(database_url: str, workdir: Path) -> Iterator[RunningApi]:
    """`expense-bot api` as production on this database; stopped afterwards."""
    token = auditor_token(database_url)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DATABASE_"))}
    env.update(
        production_env(
            database_url=database_url,
            broker_url=REDIS_URL,
            slack_api_url="http://127.0.0.1:9/api/",
            bot_token="xoxb-" + os.urandom(16).hex(),
            signing_secret=os.urandom(16).hex(),
        ),
        LLM_REVIEW="false",
        DATA_DIR=str(workdir),
    )
    log = (workdir / f"api-{port}.log").open("ab")
    proc = subprocess.Popen(
        [sys.executable, "-m", "app", "api", "--port", str(port)],
        env=env,
        cwd=workdir,
        stdout=log,
        stderr=log,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the API did not start; see {log.name}")
            time.sleep(0.1)
        yield RunningApi(url, token, proc.pid)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()


def download(api: RunningApi, path: str, **params: str) -> Download:
    """Reads the whole answer in pieces, keeping none of it: its time, size and line count."""
    started = time.perf_counter()
    size = lines = 0
    headers = {"Authorization": f"Bearer {api.token}"}
    with httpx.stream(
        "GET", f"{api.url}{path}", params=params, headers=headers, timeout=600
    ) as response:
        response.raise_for_status()
        for chunk in response.iter_raw(256 * 1024):
            size += len(chunk)
            lines += chunk.count(b"\n")
    return Download(time.perf_counter() - started, size, lines)


def abandon(api: RunningApi, path: str) -> None:
    """Reads the first piece of a download, then hangs up, as a browser's cancel does."""
    headers = {"Authorization": f"Bearer {api.token}"}
    with httpx.stream("GET", f"{api.url}{path}", headers=headers, timeout=60) as response:
        response.raise_for_status()
        next(response.iter_raw(64 * 1024))
