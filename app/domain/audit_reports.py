"""The rules behind the auditors' reports: a reproducible spot-check sample, which human
decisions went against the AI's advice, and how long each approval step waited."""

import hashlib
import math
import re
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

from app.domain.advice import Recommendation
from app.domain.audit import AuditAction
from app.domain.audit_filter import InvalidFilter

DEFAULT_SAMPLE_RATE = Decimal("0.05")
SEED_PATTERN = re.compile(r"[A-Za-z0-9_.:-]{1,64}")
# Human decisions, and the verdict each one is.
VERDICTS = {
    AuditAction.STEP_APPROVED.value: Recommendation.APPROVE.value,
    AuditAction.APPROVED.value: Recommendation.APPROVE.value,
    AuditAction.REJECTED.value: Recommendation.REJECT.value,
}


class ReportName(StrEnum):
    SAMPLE = "sample"
    SOD = "sod"
    OVERRIDES = "overrides"
    TIMING = "timing"


@dataclass(frozen=True, slots=True)
class Report:
    name: ReportName
    columns: tuple[str, ...]
    rows: list[tuple[Any, ...]]
    # What was asked, so a reader can reproduce it (the sample's seed and rate, for instance).
    parameters: dict[str, str] = field(default_factory=dict)


# --- the sample ---------------------------------------------------------------------------


def parse_rate(text: str) -> Decimal:
    """A fraction in (0, 1]: `0.05`, or a percentage: `5%`."""
    try:
        rate = Decimal(text[:-1]) / 100 if text.endswith("%") else Decimal(text)
    except InvalidOperation:
        rate = Decimal(-1)
    if not rate.is_finite() or not 0 < rate <= 1 or not re.fullmatch(r"[0-9.]+%?", text):
        raise InvalidFilter("rate", "rate must be a fraction such as 0.05, or a percentage: 5%")
    return rate


def parse_seed(text: str) -> str:
    if not SEED_PATTERN.fullmatch(text):
        raise InvalidFilter("seed", "seed must be 1 to 64 letters, digits or _ . : -")
    return text


def sample_rank(seed: str, key: str) -> str:
    """Where `key` falls in the draw for `seed`; the same whatever else is in the population."""
    return hashlib.sha256(f"{seed}\n{key}".encode()).hexdigest()


def draw_sample(keys: Iterable[str], rate: Decimal, seed: str) -> list[str]:
    """ceil(rate x N) keys, those ranking first for this seed: the same seed and the same
    population give the same sample, in any order the keys arrive."""
    population = sorted(set(keys), key=lambda key: sample_rank(seed, key))
    size = math.ceil(len(population) * rate)
    return population[:size]


# --- decisions against the advice ---------------------------------------------------------


def against_advice(action: str, recommendation: str | None) -> bool:
    """A human approved what the model said to reject, or rejected what it said to approve.

    "needs_review" and no advice at all are no recommendation to go against.
    """
    verdict = VERDICTS.get(action)
    if verdict is None or recommendation not in VERDICTS.values():
        return False
    return verdict != recommendation


# --- time to decision ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StepEvent:
    """An event that opens or closes an approval step; `step` is set on decisions."""

    event_id: int
    action: str
    at: datetime
    step: int | None = None
    role: str | None = None
    approver: str | None = None


@dataclass(frozen=True, slots=True)
class DecisionTime:
    event_id: int
    step: int
    role: str
    approver: str
    seconds: float


def decision_times(events: Sequence[StepEvent]) -> list[DecisionTime]:
    """How long each decided step of one expense waited: from the moment it was opened (the
    gate's routing for the first step, the previous step's approval for the next) to the click."""
    opened: dict[int, datetime] = {}
    times: list[DecisionTime] = []
    for event in events:
        if event.action == AuditAction.ROUTED_TO_HUMAN.value:
            opened[0] = event.at
        elif event.action in VERDICTS and event.step is not None:
            start = opened.get(event.step)
            if start is not None:
                times.append(
                    DecisionTime(
                        event.event_id,
                        event.step,
                        event.role or "",
                        event.approver or "",
                        (event.at - start).total_seconds(),
                    )
                )
            if event.action == AuditAction.STEP_APPROVED.value:
                opened[event.step + 1] = event.at
    return times


TIMING_COLUMNS = ("scope", "key", "decisions", "median_seconds", "p90_seconds", "max_seconds")


def _p90(ordered: list[float]) -> float:
    """The nearest-rank 90th percentile."""
    return ordered[math.ceil(0.9 * len(ordered)) - 1]


def timing_rows(times: Iterable[DecisionTime]) -> list[tuple[Any, ...]]:
    """One row per step ("1 approver", "2 finance") and per approver, slowest median first."""
    groups: dict[tuple[str, str], list[float]] = {}
    for time in times:
        groups.setdefault(("step", f"{time.step + 1} {time.role}"), []).append(time.seconds)
        groups.setdefault(("approver", time.approver), []).append(time.seconds)
    rows = []
    for (scope, key), seconds in groups.items():
        ordered = sorted(seconds)
        rows.append(
            (
                scope,
                key,
                len(ordered),
                round(statistics.median(ordered)),
                round(_p90(ordered)),
                round(ordered[-1]),
            )
        )
    return sorted(rows, key=lambda row: (row[0] != "step", row[1] if row[0] == "step" else -row[3]))
