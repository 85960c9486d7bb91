"""The series a load run is judged by: their PromQL, read back from Prometheus, and as text."""

import statistics
from collections import Counter
from dataclasses import dataclass, field
from typing import Protocol

from bench.prometheus import Points

# Rates over 5 s (five scrapes) follow a 60 s run closely; quantiles want a few more samples.
RATE_SECONDS = 5.0
RATE = f"{RATE_SECONDS:g}s"
QUANTILE = "10s"
ACCEPTED = '{outcome="accepted"}'
# Label values as a reader of the chart would say them.
FRIENDLY = {
    "accepted": "accepted (202)",
    "duplicate": "retry of one already stored (202)",
    "refused": "refused, invalid (422)",
    "conflict": "key reused for another body (409)",
    "auto: approved": "auto-approved",
    "auto: routed_to_human": "sent to an approver",
}


def quantile(q: float, histogram: str, selector: str = "") -> str:
    rate = f"rate({histogram}_bucket{selector}[{QUANTILE}])"
    return f"histogram_quantile({q}, sum by (le) ({rate}))"


def mean(histogram: str, selector: str = "") -> str:
    """Exact, unlike the quantiles, which are interpolated within a bucket."""
    total = f"sum(rate({histogram}_sum{selector}[{QUANTILE}]))"
    return f"{total} / sum(rate({histogram}_count{selector}[{QUANTILE}]))"


@dataclass(frozen=True)
class Query:
    legend: str  # str.format over the series' labels
    promql: str


@dataclass(frozen=True)
class Panel:
    key: str
    title: str
    unit: str
    queries: tuple[Query, ...]
    scale: float = 1.0
    # Counts the benchmark read from the database each second, drawn dashed for comparison
    # (as a rate per second on a panel of rates): (count's name, legend, series label value
    # it compares with, so both are drawn in one colour).
    database: tuple[tuple[str, str, str], ...] = ()
    database_rate: bool = False
    caption: str = ""  # what the metric does not see, in grey under the chart


PANELS = (
    Panel(
        "intake",
        "Expenses submitted, by answer",
        "requests / s",
        (Query("{outcome}", f"sum by (outcome) (rate(expense_bot_intake_total[{RATE}]))"),),
    ),
    Panel(
        "intake_time",
        "Intake answer time (POST /expenses, accepted)",
        "milliseconds",
        (
            Query("mean", mean("expense_bot_intake_seconds", ACCEPTED)),
            Query("p50", quantile(0.5, "expense_bot_intake_seconds", ACCEPTED)),
            Query("p99", quantile(0.99, "expense_bot_intake_seconds", ACCEPTED)),
        ),
        scale=1000.0,
        caption="p50 and p99 are interpolated within histogram buckets; the mean is exact.",
    ),
    Panel(
        "decisions",
        "Decisions, by path and outcome",
        "expenses / s",
        (
            Query(
                "{path}: {outcome}",
                f"sum by (path, outcome) (rate(expense_bot_decisions_total[{RATE}]))",
            ),
        ),
        database=(("decided by an approver", "decided by an approver (database)", ""),),
        database_rate=True,
    ),
    Panel(
        "queue",
        "Jobs waiting in the queue",
        "jobs",
        (Query("queue depth", "sum(expense_bot_queue_depth)"),),
        database=(
            ("awaiting or in evaluation", "expenses awaiting or in evaluation (database)", ""),
        ),
        caption=(
            "The Redis list only: jobs the worker has taken (running, or\n"
            "retrying later, e.g. a Slack post waiting for its channel) are not in it."
        ),
    ),
    Panel(
        "queue_age",
        "Oldest waiting job",
        "seconds",
        (Query("oldest job's wait", "max(expense_bot_queue_oldest_message_age_seconds)"),),
        caption="No sample at all while the queue is empty.",
    ),
    Panel(
        "outbox",
        "Slack outbox backlog",
        "messages",
        (Query("outbox gauge: {kind}", "sum by (kind) (expense_bot_slack_outbox_backlog)"),),
        database=(
            ("cards not yet posted", "cards not yet posted, queued jobs too (database)", "card"),
            ("outcome DMs not yet sent", "DMs not yet sent, queued jobs too (database)", "dm"),
        ),
        caption=(
            "The gauge counts posts with an outbox row: being sent, or waiting\n"
            "for the channel's turn (1 a second); not those whose job is queued."
        ),
    ),
    Panel(
        "slack",
        "Slack Web API calls, by method",
        "calls / s",
        (
            Query("{method}", f"sum by (method) (rate(expense_bot_slack_calls_total[{RATE}]))"),
            Query(
                "not ok: {method} {outcome}",
                "sum by (method, outcome) "
                f'(rate(expense_bot_slack_calls_total{{outcome!="ok"}}[{RATE}]))',
            ),
        ),
    ),
    Panel(
        "llm_time",
        "LLM review time",
        "seconds",
        (
            Query("mean", mean("expense_bot_llm_request_seconds")),
            Query("p50", quantile(0.5, "expense_bot_llm_request_seconds")),
            Query("p99", quantile(0.99, "expense_bot_llm_request_seconds")),
        ),
        caption=(
            "p50 and p99 are interpolated in buckets 0.25 s apart around 1 s.\n"
            "1 in 100 asks the stand-in to take 4 s longer."
        ),
    ),
    Panel(
        "llm_errors",
        "LLM reviews without advice, by reason",
        "reviews / s",
        (Query("{kind}", f"sum by (kind) (rate(expense_bot_llm_errors_total[{RATE}]))"),),
        caption="Each goes to an approver. The stand-in answers 500 for 3 in 100.",
    ),
)

# Totals at the end of the run, printed against the benchmark's own counts.
TOTALS = (
    ("intake answers", "sum by (outcome) (expense_bot_intake_total)"),
    ("decisions", "sum by (path, outcome) (expense_bot_decisions_total)"),
    (
        "time to human decision (count)",
        "sum by (role) (expense_bot_time_to_human_decision_seconds_count)",
    ),
    ("LLM reviews", "sum(expense_bot_llm_request_seconds_count)"),
    ("LLM reviews without advice", "sum by (kind) (expense_bot_llm_errors_total)"),
    ("Slack calls", "sum by (method, outcome) (expense_bot_slack_calls_total)"),
    ("Slack 429s", "sum by (method) (expense_bot_slack_rate_limited_total)"),
)


class Source(Protocol):
    def range(
        self, query: str, start: float, end: float, step: float = 1.0
    ) -> dict[tuple[tuple[str, str], ...], Points]: ...

    def instant(self, query: str) -> dict[tuple[tuple[str, str], ...], float]: ...


class Counts(Protocol):
    intake: Counter[str]
    kinds: Counter[str]
    clicks: Counter[str]
    late: list[float]


@dataclass(frozen=True)
class RunShape:
    t0: float  # Unix time the load started
    phases: tuple[tuple[str, float], ...]  # (name, seconds)
    load_seconds: float
    end_seconds: float  # the drain ends here
    setup: str


@dataclass
class Line:
    label: str
    points: Points
    from_database: bool = False
    colour_key: str = ""  # lines with one key share a colour


@dataclass
class PanelData:
    panel: Panel
    lines: list[Line] = field(default_factory=list)
    warning: str = ""  # a metric that disagrees with what happened, in red on the chart


def _label(legend: str, labels: tuple[tuple[str, str], ...]) -> str:
    try:
        text = legend.format(**dict(labels))
    except KeyError:
        text = legend
    return FRIENDLY.get(text, text)


def collect(
    prom: Source, shape: RunShape, samples: list[tuple[float, dict[str, int]]]
) -> list[PanelData]:
    start, end = shape.t0 - 3, shape.t0 + shape.end_seconds + 1
    data = []
    for panel in PANELS:
        found = PanelData(panel)
        for query in panel.queries:
            for labels, points in sorted(prom.range(query.promql, start, end).items()):
                scaled = [(t + start - shape.t0, v * panel.scale) for t, v in points]
                if scaled:
                    label = _label(query.legend, labels)
                    found.lines.append(Line(label, scaled, colour_key=dict(labels).get("kind", "")))
        for key, legend, colour_key in panel.database:
            points = [(t, float(s[key])) for t, s in samples]
            if panel.database_rate:
                points = _rate(points, RATE_SECONDS)
            found.lines.append(Line(legend, points, from_database=True, colour_key=colour_key))
        data.append(found)
    return data


def _rate(counts: Points, window: float) -> Points:
    """Per-second increase of a count sampled about once a second, over the last `window` s."""
    rates = []
    for i, (t, value) in enumerate(counts):
        j = i
        while j > 0 and t - counts[j - 1][0] <= window + 0.5:
            j -= 1
        if j < i:
            rates.append((t, (value - counts[j][1]) / (t - counts[j][0])))
    return rates


def check(data: list[PanelData], counts: Counts) -> None:
    """Flag series that contradict what the benchmark saw happen."""
    by_key = {d.panel.key: d for d in data}
    decisions = by_key["decisions"]
    human = sum(counts.clicks.values())
    if human and not any(line.label.startswith("human:") for line in decisions.lines):
        decisions.warning = (
            f'No path="human" series (nor any time to a human decision):\n'
            f"the {human} decisions approvers clicked were never counted."
        )


def _stats(points: Points, until: float) -> tuple[float, float, float]:
    """Mean over the load, peak over the whole run, and when the peak was."""
    during = [v for t, v in points if 0 <= t <= until] or [0.0]
    peak_t, peak = max(points, key=lambda p: p[1])
    return statistics.fmean(during), peak, peak_t


def report(
    prom: Source,
    shape: RunShape,
    samples: list[tuple[float, dict[str, int]]],
    counts: Counts,
    left: dict[str, int],
) -> list[PanelData]:
    """Print every plotted series (mean during the load, peak) and the end-of-run totals."""
    data = collect(prom, shape, samples)
    check(data, counts)
    print(f"load {shape.load_seconds:.0f} s, drain until {shape.end_seconds:.0f} s; {shape.setup}")
    late = sorted(counts.late)
    if late:
        print(f"  sends over 50 ms behind schedule: {len(late)}, worst {late[-1] * 1000:.0f} ms")
    print(f"{'series (mean over the samples present during the load)':<58} {'mean':>8} ", end="")
    print(f"{'peak':>8} {'at':>5} {'samples':>7}")
    for panel_data in data:
        panel = panel_data.panel
        print(f"{panel.title} [{panel.unit}]")
        if not panel_data.lines:
            print("  (no samples)")
        for line in panel_data.lines:
            mean, peak, at = _stats(line.points, shape.load_seconds)
            print(f"  {line.label:<56} {mean:8.3g} {peak:8.3g} {at:4.0f}s {len(line.points):7d}")
        if panel_data.warning:
            print("  ! " + panel_data.warning.replace("\n", " "))
    print("totals at the end (Prometheus, since the processes started):")
    for title, query in TOTALS:
        found = prom.instant(query)
        values = ", ".join(
            f"{' '.join(v for _k, v in labels) or 'all'}={value:g}"
            for labels, value in sorted(found.items())
        )
        print(f"  {title:<32} {values or '(no series)'}")
    print("the benchmark's own counts:")
    print(f"  {'intake answers':<32} {dict(sorted(counts.intake.items()))}")
    print(f"  {'expense kinds sent':<32} {dict(sorted(counts.kinds.items()))}")
    print(f"  {'approver clicks':<32} {dict(sorted(counts.clicks.items()))}")
    print(f"  {'left undone at the end':<32} {left}")
    return data
