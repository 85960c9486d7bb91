"""Every Prometheus metric the bot exports, in one place, so dashboards and code agree.

API processes write to PROMETHEUS_MULTIPROC_DIR when several uvicorn workers run, and
/metrics adds them up; the worker process serves its own on WORKER_METRICS_PORT.
"""

import os

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)

# Latencies from a millisecond to a minute; human decisions from a minute to two weeks.
FAST_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)
# LLM reviews take around a second; finer steps there, so p50 and p99 read true.
LLM_BUCKETS = (0.25, 0.5, 0.75, 1, 1.25, 1.5, 2, 3, 5, 8, 13, 20, 30)
HUMAN_BUCKETS = (60, 300, 900, 3600, 4 * 3600, 8 * 3600, 86400, 3 * 86400, 7 * 86400, 14 * 86400)

HTTP_REQUESTS = Counter(
    "expense_bot_http_requests_total", "HTTP requests answered", ["method", "route", "status"]
)
HTTP_SECONDS = Histogram(
    "expense_bot_http_request_seconds",
    "HTTP answer time",
    ["method", "route"],
    buckets=FAST_BUCKETS,
)
INTAKE = Counter("expense_bot_intake_total", "POST /expenses answers by outcome", ["outcome"])
INTAKE_SECONDS = Histogram(
    "expense_bot_intake_seconds", "POST /expenses answer time", ["outcome"], buckets=FAST_BUCKETS
)
DECISIONS = Counter(
    "expense_bot_decisions_total", "Decisions by path (auto, human, shadow)", ["path", "outcome"]
)
TIME_TO_HUMAN_DECISION = Histogram(
    "expense_bot_time_to_human_decision_seconds",
    "From a step opening to a human's decision on it",
    ["role"],
    buckets=HUMAN_BUCKETS,
)
LLM_SECONDS = Histogram(
    "expense_bot_llm_request_seconds", "LLM review time", ["model"], buckets=LLM_BUCKETS
)
LLM_ERRORS = Counter("expense_bot_llm_errors_total", "LLM reviews without advice", ["kind"])
LLM_TOKENS = Counter("expense_bot_llm_tokens_total", "LLM tokens used", ["kind"])
SLACK_CALLS = Counter("expense_bot_slack_calls_total", "Slack Web API calls", ["method", "outcome"])
SLACK_RATE_LIMITED = Counter(
    "expense_bot_slack_rate_limited_total", "Slack 429 answers", ["method"]
)
# Read at scrape time by the worker's collector (tasks/backlog_metrics.py).
QUEUE_DEPTH = "expense_bot_queue_depth"
QUEUE_OLDEST_AGE = "expense_bot_queue_oldest_message_age_seconds"
OUTBOX_BACKLOG = "expense_bot_slack_outbox_backlog"
RECOVERIES = Counter(
    "expense_bot_sweeper_recoveries_total", "Jobs the sweeper re-queued, by kind", ["kind"]
)


def exposition() -> tuple[bytes, str]:
    """The text format of every metric this process can see (all API workers, in multiprocess)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
