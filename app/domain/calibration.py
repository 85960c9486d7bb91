"""How the AI's recommendations compare with the human decisions, by confidence and threshold."""

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from app.domain.advice import Recommendation

# Bucket edges: lower bound included, upper excluded, except the last, which includes 1.0.
EDGES = (0.0, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 1.0)
THRESHOLDS = (0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95, 0.97, 0.99)
BUCKET_COLUMNS = ("confidence", "expenses", "agreed", "agreement", "mean_confidence")
THRESHOLD_COLUMNS = (
    "threshold",
    "llm_approved",
    "human_rejected",
    "human_rejected_share",
    "human_rejected_amount",
)


@dataclass(frozen=True, slots=True)
class Judged:
    """One expense the AI advised on and a human then decided."""

    recommendation: Recommendation
    confidence: float
    human_approved: bool
    # In the policy currency; None when the policy has no rate for its currency.
    amount: Decimal | None

    @property
    def agreed(self) -> bool:
        wanted = Recommendation.APPROVE if self.human_approved else Recommendation.REJECT
        return self.recommendation is wanted


def _bucket(confidence: float) -> int:
    for i in range(len(EDGES) - 2, -1, -1):
        if confidence >= EDGES[i]:
            return i
    return 0


def _share(part: int, whole: int) -> str:
    return "" if whole == 0 else f"{part / whole:.3f}"


def by_bucket(judged: Sequence[Judged]) -> list[tuple[str, int, int, str, str]]:
    """Agreement per confidence bucket: the reliability curve's points."""
    groups: list[list[Judged]] = [[] for _ in EDGES[:-1]]
    for item in judged:
        groups[_bucket(item.confidence)].append(item)
    rows = []
    for i, group in enumerate(groups):
        agreed = sum(item.agreed for item in group)
        mean = sum(item.confidence for item in group) / len(group) if group else None
        label = f"{EDGES[i]:.2f}-{EDGES[i + 1]:.2f}"
        rows.append((label, len(group), agreed, _share(agreed, len(group)), _mean(mean)))
    return rows


def _mean(value: float | None) -> str:
    return "" if value is None else f"{value:.3f}"


def by_threshold(judged: Sequence[Judged]) -> list[tuple[str, int, int, str, str]]:
    """For each threshold: the approvals the AI recommended at or above it, and how many of
    those a human rejected (what auto-approval at that threshold would have let through)."""
    rows = []
    for threshold in THRESHOLDS:
        approved = [
            item
            for item in judged
            if item.recommendation is Recommendation.APPROVE and item.confidence >= threshold
        ]
        rejected = [item for item in approved if not item.human_approved]
        amounts = [item.amount for item in rejected if item.amount is not None]
        total = sum(amounts, Decimal(0)).quantize(Decimal("0.01"))
        rows.append(
            (
                f"{threshold:.2f}",
                len(approved),
                len(rejected),
                _share(len(rejected), len(approved)),
                str(total),
            )
        )
    return rows
