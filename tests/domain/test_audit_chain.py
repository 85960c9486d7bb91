"""The chain without a database: the canonical form, and each kind of tampering the walk catches."""

import dataclasses
import hashlib
import uuid
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.domain.advice import (
    LlmAdvice,
    LlmUnavailable,
    Recommendation,
    advice_from_record,
    advice_to_record,
)
from app.domain.audit import (
    Actor,
    AuditAction,
    Channel,
    EventContext,
    LlmOpinion,
    event_content,
    valuation,
)
from app.domain.audit_chain import (
    CONTENT_FIELDS,
    GENESIS_HASH,
    START,
    ChainPoint,
    EventContent,
    Fault,
    StoredEvent,
    build_chain,
    canonical_content,
    canonical_values,
    chain_hash,
    parse_anchor,
    stored_values,
    walk,
)
from app.domain.policy import parse_policy
from app.domain.rules import RuleResult

WHEN = datetime(2026, 11, 22, 2, 3, 39, 629717, tzinfo=UTC)
EXPENSE = uuid.UUID("6f1c1c3e-4b7e-4a53-9d43-0e7c2f3a9b10")


def content(i: int = 0, **changes: object) -> EventContent:
    base = event_content(
        created_at=WHEN + timedelta(seconds=i),
        expense_id=EXPENSE,
        actor=Actor.slack_user("U0BOB", 7, "bob@example.com"),
        action=AuditAction.APPROVED,
        channel=Channel.SLACK,
        from_status="pending_approval",
        to_status="approved",
        reason=f"fine {i}",
        context=EventContext(
            policy_version="2026-11-22.1",
            rule_trace=(RuleResult("category_limit", True, "within", "120.00", "250"),),
            llm=LlmOpinion("m", "approve", 0.97, ("routine",)),
            details={"step": 0, "role": "approver"},
        ),
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def chain(count: int) -> list[StoredEvent]:
    contents = [content(i) for i in range(count)]
    links = build_chain([canonical_content(c) for c in contents], START)
    return [
        StoredEvent(100 + i, seq, prev, digest, 1, stored_values(c))
        for i, (c, (seq, prev, digest)) in enumerate(zip(contents, links, strict=True))
    ]


def head_of(events: list[StoredEvent]) -> ChainPoint:
    return ChainPoint(events[-1].seq, events[-1].hash)


def rehash_from(events: list[StoredEvent], index: int) -> list[StoredEvent]:
    """What a forger with write access does: recompute every hash from `index` on."""
    out = events[:index]
    prev = out[-1].hash if out else GENESIS_HASH
    for event in events[index:]:
        digest = chain_hash(event.seq, prev, canonical_values(event.values))
        out.append(event._replace(prev_hash=prev, hash=digest))
        prev = digest
    return out


def test_canonical_form_is_pinned() -> None:
    """Changing this output breaks every stored hash: a new form needs a new format version."""
    event = content()
    expected = (
        '["2026-11-22T02:03:39.629717Z","6f1c1c3e-4b7e-4a53-9d43-0e7c2f3a9b10","slack",'
        '"slack_user","U0BOB",7,"bob@example.com","approved","pending_approval","approved",'
        'null,null,null,null,null,"fine 0","2026-11-22.1",'
        '"[{\\"detail\\":\\"within\\",\\"figure\\":\\"120.00\\",\\"limit\\":\\"250\\",'
        '\\"passed\\":true,\\"rule\\":\\"category_limit\\"}]",'
        '"m","approve",0.97,"[\\"routine\\"]","{\\"role\\":\\"approver\\",\\"step\\":0}"]'
    )
    assert canonical_content(event).decode() == expected
    header = f"expense-bot-audit/1\n1\n{GENESIS_HASH}\n".encode()
    assert chain_hash(1, GENESIS_HASH, expected.encode()) == (
        hashlib.sha256(header + expected.encode()).hexdigest()
    )


def test_canonical_form_ignores_key_order_and_zone_but_not_content() -> None:
    reordered = content(details={"role": "approver", "step": 0})
    elsewhere = content(created_at=WHEN.astimezone(timezone(timedelta(hours=-5))))
    assert canonical_content(reordered) == canonical_content(content())
    assert canonical_content(elsewhere) == canonical_content(content())
    assert canonical_content(content(reason="fine 0 ")) != canonical_content(content())
    assert "é".encode() in canonical_content(content(reason="café"))
    with pytest.raises(ValueError, match="timezone-aware"):
        canonical_content(content(created_at=WHEN.replace(tzinfo=None)))


def test_stored_values_hash_like_the_content_they_came_from() -> None:
    """The database keeps JSON as canonical text and may hand back any UUID form."""
    event = content(details={"ratio": 0.5, "nested": {"b": [1, "ü"], "a": None}})
    stored = stored_values(event)
    assert stored[CONTENT_FIELDS.index("details")] == (
        '{"nested":{"a":null,"b":[1,"ü"]},"ratio":0.5}'
    )
    assert stored[CONTENT_FIELDS.index("rule_trace")].startswith('[{"detail":"within",')
    as_hex = [*stored[:1], EXPENSE.hex, *stored[2:]]
    assert canonical_values(as_hex) == canonical_content(event)


def test_valuation_records_the_rate_and_the_converted_amount() -> None:
    policy = parse_policy(
        {
            "version": "v",
            "currency": "USD",
            "allowed_categories": ["travel"],
            "auto_approve_below": "1000",
            "finance_required_from": "10000",
            "fx_rates": {"EUR": "1.08"},
        }
    )
    assert valuation(Decimal("100.5"), "EUR", policy) == valuation(Decimal("100.50"), "EUR", policy)
    euro = valuation(Decimal("100.50"), "EUR", policy)
    assert (euro.amount, euro.policy_amount, euro.fx_rate) == ("100.50", "108.54", "1.08")
    dollars = valuation(Decimal("1500.0000"), "USD", policy)
    assert (dollars.amount, dollars.policy_amount, dollars.fx_rate) == ("1500.00", "1500.00", "1")
    unknown = valuation(Decimal("5000"), "JPY", policy)
    assert (unknown.policy_amount, unknown.fx_rate, unknown.policy_currency) == (None, None, "USD")


def test_llm_opinion_reads_advice_and_its_stored_record() -> None:
    advice = LlmAdvice(Recommendation.REJECT, 0.8, ("odd merchant",), "m1")
    assert LlmOpinion.of(advice) == LlmOpinion("m1", "reject", 0.8, ("odd merchant",))
    assert advice_from_record(advice_to_record(advice)) == advice
    unavailable = LlmUnavailable("timeout", "m1")
    assert advice_from_record(advice_to_record(unavailable)) == unavailable
    assert LlmOpinion.of(unavailable).unavailable == "timeout"
    assert advice_from_record(None) is None


def test_an_untouched_chain_verifies() -> None:
    events = chain(5)
    verdict = walk(events, head=head_of(events), anchors={102: events[2].hash})
    assert verdict.problem is None
    assert (verdict.checked, verdict.anchors_checked) == (5, 1)
    assert verdict.last == ChainPoint(5, events[-1].hash, 104)
    assert walk([], head=ChainPoint(0, GENESIS_HASH)).problem is None


def test_changed_content_names_the_event() -> None:
    events = chain(5)
    events[2] = events[2]._replace(values=stored_values(content(2, reason="changed")))
    problem = walk(events, head=head_of(events)).problem
    assert problem is not None
    assert (problem.fault, problem.event_id) == (Fault.CHANGED, 102)


def test_changed_and_rehashed_event_is_named_by_the_next_link() -> None:
    events = chain(5)
    forged = events[2]._replace(values=stored_values(content(2, reason="changed")))
    events[2] = forged._replace(
        hash=chain_hash(3, forged.prev_hash, canonical_values(forged.values))
    )
    problem = walk(events, head=head_of(events)).problem
    assert problem is not None
    assert (problem.fault, problem.event_id) == (Fault.CHANGED, 102)
    assert "event 103" in problem.message


def test_removed_event_is_found_at_the_gap() -> None:
    events = chain(5)
    del events[2]
    problem = walk(events, head=head_of(events)).problem
    assert problem is not None
    assert (problem.fault, problem.event_id) == (Fault.REMOVED, 103)
    assert "seq 3..3" in problem.message
    assert "after event 101" in problem.message


def test_removed_tail_is_found_by_the_head() -> None:
    events = chain(5)
    problem = walk(events[:3], head=head_of(events)).problem
    assert problem is not None
    assert (problem.fault, problem.event_id) == (Fault.REMOVED, 102)
    everything = walk([], head=head_of(events)).problem
    assert everything is not None
    assert everything.fault is Fault.REMOVED


def test_swapped_events_are_reordered() -> None:
    events = chain(5)
    events[1], events[3] = (
        events[3]._replace(id=events[1].id),
        events[1]._replace(id=events[3].id),
    )
    problem = walk(events, head=head_of(events)).problem
    assert problem is not None
    assert (problem.fault, problem.event_id) == (Fault.REORDERED, 101)


def test_inserted_events_are_found() -> None:
    events = chain(5)
    head = head_of(events)
    appended = build_chain([canonical_content(content(9))], ChainPoint(5, head.hash))[0]
    forged = StoredEvent(200, *appended, 1, stored_values(content(9)))
    problem = walk([*events, forged], head=head).problem
    assert problem is not None
    assert (problem.fault, problem.event_id) == (Fault.INSERTED, 200)
    repeated = events[1]._replace(id=150)
    problem = walk([*events[:3], repeated, *events[3:]], head=head).problem
    assert problem is not None
    assert (problem.fault, problem.event_id) == (Fault.INSERTED, 150)


def test_anchors_catch_a_fully_recomputed_rewrite() -> None:
    events = chain(6)
    anchors = {102: events[2].hash, 104: events[4].hash}
    events[3] = events[3]._replace(values=stored_values(content(3, reason="rewritten")))
    rewritten = rehash_from(events, 3)
    assert walk(rewritten, head=head_of(rewritten)).problem is None
    problem = walk(rewritten, head=head_of(rewritten), anchors=anchors).problem
    assert problem is not None
    assert (problem.fault, problem.event_id) == (Fault.REWRITTEN, 104)
    assert walk(rewritten, head=head_of(rewritten), anchors={102: events[2].hash}).problem is None


def test_an_anchor_on_a_missing_event_fails() -> None:
    events = chain(3)
    problem = walk(events, head=head_of(events), anchors={999: events[0].hash}).problem
    assert problem is not None
    assert (problem.fault, problem.event_id) == (Fault.REMOVED, 999)


def test_walk_from_the_middle_trusts_its_first_event() -> None:
    events = chain(6)
    assert walk(events[3:], start=None, head=head_of(events)).problem is None
    broken = walk(events[3:], head=head_of(events)).problem
    assert broken is not None
    assert broken.fault is Fault.REMOVED


@given(st.integers(min_value=2, max_value=12), st.data())
def test_any_removal_or_adjacent_swap_is_caught(count: int, data: st.DataObject) -> None:
    events = chain(count)
    head = head_of(events)
    index = data.draw(st.integers(min_value=0, max_value=count - 2))
    removed = events[:index] + events[index + 1 :]
    assert walk(removed, head=head).problem is not None
    swapped = list(events)
    swapped[index], swapped[index + 1] = (
        events[index + 1]._replace(id=events[index].id),
        events[index]._replace(id=events[index + 1].id),
    )
    problem = walk(swapped, head=head).problem
    assert problem is not None
    assert problem.event_id == events[index].id


def test_anchor_text_forms() -> None:
    digest = "ab" * 32
    assert parse_anchor(f"12:{digest}") == (12, digest)
    assert parse_anchor(f"  12 {digest.upper()}\n") == (12, digest)
    for bad in ("12", f"x:{digest}", "12:abc", f"12:{digest}:1", f"12:{'zz' * 32}"):
        with pytest.raises(ValueError, match="anchor"):
            parse_anchor(bad)
