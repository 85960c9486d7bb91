"""The dashboard and scrape config shipped in observability/ match what the bot exports."""

import json
import re
from pathlib import Path

import yaml
from prometheus_client.metrics import MetricWrapperBase

from app import metrics

ROOT = Path(__file__).resolve().parents[1]
DASHBOARD = ROOT / "observability" / "grafana" / "dashboards" / "expense-bot.json"
SUFFIXES = re.compile(r"_(total|bucket|count|sum|created)$")


def exported() -> set[str]:
    names = {m._name for m in vars(metrics).values() if isinstance(m, MetricWrapperBase)}
    names |= {metrics.QUEUE_DEPTH, metrics.QUEUE_OLDEST_AGE, metrics.OUTBOX_BACKLOG}
    return {SUFFIXES.sub("", n) for n in names}


def test_every_panel_queries_a_metric_the_bot_exports() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    known = exported()
    panels = dashboard["panels"]
    assert len(panels) >= 10
    for panel in panels:
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            used = set(re.findall(r"expense_bot_[a-z_]+", target["expr"]))
            assert used, f"{panel['title']}: no expense_bot metric in {target['expr']}"
            missing = {SUFFIXES.sub("", name) for name in used} - known
            assert not missing, f"{panel['title']} queries unknown metrics {missing}"


def test_the_scrape_config_targets_the_api_and_the_workers() -> None:
    config = yaml.safe_load((ROOT / "observability" / "prometheus.yml").read_text())
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    assert jobs["expense-bot-api"]["metrics_path"] == "/metrics"
    assert jobs["expense-bot-worker"]["dns_sd_configs"][0]["port"] == 9101


def test_compose_runs_prometheus_and_grafana_under_the_observability_profile() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    for name in ("prometheus", "grafana"):
        assert compose["services"][name]["profiles"] == ["observability"]


def test_the_load_run_benchmark_queries_metrics_the_bot_exports() -> None:
    from bench.series import PANELS, TOTALS

    queries = [q.promql for panel in PANELS for q in panel.queries] + [q for _t, q in TOTALS]
    known = exported()
    for query in queries:
        used = {SUFFIXES.sub("", n) for n in re.findall(r"expense_bot_[a-z_]+", query)}
        assert used, query
        assert not used - known, f"{query} queries unknown metrics {used - known}"
