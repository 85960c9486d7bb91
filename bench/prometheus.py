"""A throwaway Prometheus for benchmarks: find the binary, scrape given targets, query ranges."""

import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from bench.standins.server import free_port

INSTALL_HINT = """\
Prometheus is needed for this benchmark and was not found.
Install Debian's package (the benchmark runs the binary itself, on a free port, with its own
config and a temporary data directory; the system service is not needed):

    sudo apt-get install -y prometheus
    sudo systemctl disable --now prometheus   # optional: only if you don't want the service

or point PROMETHEUS_BIN at a prometheus binary (2.x or later)."""

# One sample per label set: (seconds since the run started, value).
Points = list[tuple[float, float]]


def find_binary() -> str:
    """The prometheus binary; prints how to install it and exits 2 when there is none."""
    found = os.environ.get("PROMETHEUS_BIN") or shutil.which("prometheus")
    if not found or not os.access(found, os.X_OK):
        print(INSTALL_HINT, file=sys.stderr)
        raise SystemExit(2)
    return found


def scrape_config(targets: dict[str, str], interval: str) -> dict[str, Any]:
    """Prometheus config (JSON is YAML) scraping each `job -> host:port` every `interval`."""
    return {
        "global": {"scrape_interval": interval, "scrape_timeout": interval},
        "scrape_configs": [
            {"job_name": job, "static_configs": [{"targets": [target]}]}
            for job, target in targets.items()
        ],
    }


@dataclass
class Prometheus:
    url: str
    http: httpx.Client

    def _get(self, path: str, params: dict[str, str]) -> Any:
        response = self.http.get(f"{self.url}{path}", params=params)
        body = response.json()
        if body.get("status") != "success":
            raise RuntimeError(f"Prometheus {path} {params}: {body.get('error', body)}")
        return body["data"]

    def targets_up(self) -> dict[str, bool]:
        data = self._get("/api/v1/targets", {"state": "active"})
        return {t["labels"]["job"]: t["health"] == "up" for t in data["activeTargets"]}

    def instant(self, query: str) -> dict[tuple[tuple[str, str], ...], float]:
        data = self._get("/api/v1/query", {"query": query})
        return {
            tuple(sorted(row["metric"].items())): float(row["value"][1]) for row in data["result"]
        }

    def scraped_until(self) -> float:
        """Unix time of the latest sample scraped from every target."""
        found = self.instant("min(timestamp(up))")
        return next(iter(found.values()), 0.0)

    def wait_for_scrape_after(self, moment: float, timeout: float = 15) -> None:
        """Return once every target was scraped after `moment` (Unix time)."""
        deadline = time.monotonic() + timeout
        while self.scraped_until() <= moment:
            if time.monotonic() > deadline:
                raise RuntimeError("Prometheus stopped scraping")
            time.sleep(0.2)

    def range(
        self, query: str, start: float, end: float, step: float = 1.0
    ) -> dict[tuple[tuple[str, str], ...], Points]:
        """query_range, as label set -> [(seconds after start, value)]; NaN samples dropped."""
        data = self._get(
            "/api/v1/query_range",
            {"query": query, "start": f"{start:.3f}", "end": f"{end:.3f}", "step": f"{step}"},
        )
        series: dict[tuple[tuple[str, str], ...], Points] = {}
        for row in data["result"]:
            points = [(float(t) - start, float(v)) for t, v in row["values"]]
            series[tuple(sorted(row["metric"].items()))] = [
                (t, v) for t, v in points if math.isfinite(v)
            ]
        return series


@contextmanager
def running_prometheus(
    targets: dict[str, str], interval: str = "1s", timeout: float = 30
) -> Iterator[Prometheus]:
    """Run Prometheus scraping `targets` (job -> host:port) until every target is up."""
    binary = find_binary()
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="bench-prometheus-") as tmp:
        config = Path(tmp, "prometheus.yml")
        config.write_text(json.dumps(scrape_config(targets, interval), indent=2))
        log = Path(tmp, "prometheus.log")
        proc = subprocess.Popen(
            [
                binary,
                f"--config.file={config}",
                f"--storage.tsdb.path={Path(tmp, 'data')}",
                f"--web.listen-address=127.0.0.1:{port}",
                "--log.level=warn",
            ],
            stdout=subprocess.DEVNULL,
            stderr=log.open("wb"),
        )
        prometheus = Prometheus(f"http://127.0.0.1:{port}", httpx.Client(timeout=10))
        try:
            deadline = time.monotonic() + timeout
            while True:
                if proc.poll() is not None:
                    raise RuntimeError(f"Prometheus exited:\n{log.read_text()[-2000:]}")
                try:
                    up = prometheus.targets_up()
                    if set(up) == set(targets) and all(up.values()):
                        break
                except (httpx.HTTPError, ValueError):
                    pass  # not listening yet, or not ready to answer JSON
                if time.monotonic() > deadline:
                    raise RuntimeError(f"Prometheus targets not up in {timeout}s: {targets}")
                time.sleep(0.2)
            yield prometheus
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
            prometheus.http.close()
