"""What a new claim must satisfy against the policy before it is stored: amount and date."""

from datetime import date, timedelta
from decimal import Decimal

from app.domain.errors import InvalidInput
from app.domain.policy import Policy


def check_claim(
    policy: Policy, *, amount: Decimal, currency: str, incurred_on: date, today: date
) -> None:
    """Raise InvalidInput naming the field when the claim is outside the policy's bounds.

    An amount in a currency the policy cannot convert is accepted; the rules send it to a human.
    """
    converted = policy.to_policy_currency(amount, currency)
    if converted is not None and converted > policy.max_amount:
        raise InvalidInput(
            "amount", f"is over the policy's maximum of {policy.max_amount} {policy.currency}"
        )
    if incurred_on > today + timedelta(days=1):
        raise InvalidInput("incurred_on", "cannot be later than tomorrow")
    earliest = today - timedelta(days=policy.max_claim_age_days)
    if incurred_on < earliest:
        raise InvalidInput(
            "incurred_on",
            f"is more than {policy.max_claim_age_days} days ago; "
            f"the earliest accepted is {earliest}",
        )
