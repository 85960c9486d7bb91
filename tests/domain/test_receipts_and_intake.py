"""Receipt links count only as https on an allowed host; claims stay within the policy's bounds."""

from datetime import date
from decimal import Decimal

import pytest

from app.domain.errors import InvalidInput
from app.domain.intake import check_claim
from app.domain.policy import parse_policy
from app.domain.receipts import counts_as_receipt

HOSTS = frozenset({"files.corp.example", "*.sharepoint.com"})


@pytest.mark.parametrize(
    ("url", "counted"),
    [
        ("https://files.corp.example/r/1.pdf", True),
        ("https://FILES.corp.example/r/1.pdf", True),
        ("https://files.corp.example:443/r.pdf", True),
        ("https://team.sharepoint.com/r.pdf", True),
        ("https://a.b.sharepoint.com/r.pdf", True),
        ("http://files.corp.example/r.pdf", False),  # not https
        ("https://files.corp.example:8443/r.pdf", False),  # another port
        ("https://sharepoint.com/r.pdf", False),  # the wildcard means subdomains only
        ("https://evilsharepoint.com/r.pdf", False),
        ("https://files.corp.example.evil.test/r.pdf", False),
        ("https://files.corp.example@evil.test/r.pdf", False),  # userinfo trick
        ("https://evil.test/files.corp.example", False),
        ("https://tinyurl.com/abc", False),
        ("not a url", False),
        ("", False),
        (None, False),
    ],
)
def test_only_https_links_on_allowed_hosts_count(url: str | None, counted: bool) -> None:
    assert counts_as_receipt(url, HOSTS) is counted


POLICY = parse_policy(
    {
        "version": "t",
        "currency": "USD",
        "auto_approve_below": "1000",
        "finance_required_from": "10000",
        "allowed_categories": ["travel"],
        "max_amount": "50000",
        "max_claim_age_days": 90,
        "fx_rates": {"EUR": "1.10"},
    }
)
TODAY = date(2026, 12, 1)


def claim(amount: str, currency: str = "USD", incurred_on: date = TODAY) -> None:
    check_claim(
        POLICY, amount=Decimal(amount), currency=currency, incurred_on=incurred_on, today=TODAY
    )


def test_claims_within_bounds_pass() -> None:
    claim("50000.00")
    claim("45000.00", "EUR")  # 49,500 USD
    claim("999999", "CHF")  # no rate: a human decides, intake cannot compare
    claim("1", incurred_on=date(2026, 12, 2))  # tomorrow: the claimant may be ahead of UTC
    claim("1", incurred_on=date(2026, 9, 2))  # exactly 90 days ago


@pytest.mark.parametrize(
    ("amount", "currency", "incurred_on", "field"),
    [
        ("50000.01", "USD", TODAY, "amount"),
        ("46000.00", "EUR", TODAY, "amount"),
        ("1", "USD", date(2026, 12, 3), "incurred_on"),
        ("1", "USD", date(2026, 9, 1), "incurred_on"),
    ],
)
def test_claims_outside_bounds_name_the_field(
    amount: str, currency: str, incurred_on: date, field: str
) -> None:
    with pytest.raises(InvalidInput) as refused:
        claim(amount, currency, incurred_on)
    assert refused.value.field == field
