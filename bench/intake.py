"""Intake rate: POST /expenses (authenticated, de-duplicated, stored before the 202) against a
minimal FastAPI service that only calls send_task, side by side, same uvicorn worker count.

Run: python -m bench.intake   (needs wrk: apt-get install wrk)
Prints both services' requests/s and p99 per round, and the ratio.
"""

import os
import re
import shutil
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from bench.common import REDIS_URL, running_api
from bench.standins.server import free_port

WORKERS = 2
CONNECTIONS = 16
SECONDS = 10
ROUNDS = 3
LUA = Path(__file__).with_name("wrk_post.lua")


def wrk(url: str, token: str) -> tuple[float, float]:
    """requests/s and p99 in ms over SECONDS, every answer checked to be a 202."""
    env = {
        **os.environ,
        "WRK_TOKEN": token,
        "WRK_DATE": (datetime.now(UTC).date() - timedelta(days=1)).isoformat(),
    }
    out = subprocess.run(
        ["wrk", "-t2", f"-c{CONNECTIONS}", f"-d{SECONDS}s", "--latency", "-s", str(LUA), url],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    if "Non-2xx" in out:
        raise RuntimeError(f"some answers were not 2xx:\n{out}")
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)\b", out)
    assert p99 is not None, out
    value, unit = float(p99.group(1)), p99.group(2)
    return rate, value / 1000 if unit == "us" else value * 1000 if unit == "s" else value


def start_baseline(port: int) -> "subprocess.Popen[bytes]":
    env = {**os.environ, "BASELINE_BROKER_URL": REDIS_URL, "BASELINE_QUEUE": f"baseline-{port}"}
    args = ["-m", "uvicorn", "bench.baseline_intake:app", "--port", str(port)]
    args += ["--workers", str(WORKERS), "--log-level", "warning", "--no-access-log"]
    proc = subprocess.Popen([sys.executable, *args], env=env)
    deadline = time.monotonic() + 30
    while True:
        try:
            httpx.get(f"http://127.0.0.1:{port}/docs", timeout=1)
            return proc
        except httpx.HTTPError:
            if time.monotonic() > deadline:
                raise RuntimeError("baseline did not start") from None
            time.sleep(0.1)


def main() -> None:
    if shutil.which("wrk") is None:
        print("wrk is missing: apt-get install -y wrk", file=sys.stderr)
        raise SystemExit(2)
    port = free_port()
    baseline = start_baseline(port)
    try:
        with running_api(api_workers=WORKERS) as bench:
            token = bench.tokens["alice"]
            rows = []
            for n in range(ROUNDS):
                base = wrk(f"http://127.0.0.1:{port}", "")
                ours = wrk(bench.api, token)
                rows.append((base, ours))
                print(
                    f"round {n + 1}: baseline {base[0]:7.1f} req/s p99 {base[1]:6.1f} ms | "
                    f"intake {ours[0]:7.1f} req/s p99 {ours[1]:6.1f} ms | "
                    f"ratio {ours[0] / base[0]:.2f}",
                    flush=True,
                )
            base_rate = sum(b[0] for b, _ in rows) / ROUNDS
            ours_rate = sum(o[0] for _, o in rows) / ROUNDS
            print(
                f"mean: baseline {base_rate:.1f} req/s, intake {ours_rate:.1f} req/s, "
                f"intake/baseline = {ours_rate / base_rate:.2f}; "
                f"p99 baseline {max(b[1] for b, _ in rows):.1f} ms (worst round), "
                f"intake {max(o[1] for _, o in rows):.1f} ms (worst round)"
            )
    finally:
        baseline.terminate()
        baseline.wait(timeout=20)


if __name__ == "__main__":
    main()
