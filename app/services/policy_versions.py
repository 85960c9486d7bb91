"""Keeping each policy text a decision was made under, and finding the ones in force in a period."""

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from app.domain.policy import Policy
from models import AuditEvent, PolicyVersion

_STORED = "policy_versions_stored"
_INSERTED = "policy_versions_inserted"


def remember(session: Session, policy: Policy, at: datetime) -> None:
    """Store the policy's text the first time a decision uses it, `at` that decision's time
    (a no-op afterwards)."""
    if policy.source_text is None or policy.source_sha256 is None:
        return
    # Texts are never deleted: once a connection has seen one stored, it need not look again.
    seen: set[str] = session.connection().info.setdefault(_STORED, set())
    if policy.source_sha256 in seen:
        return
    inserted_here: set[str] = session.info.setdefault(_INSERTED, set())
    if session.get(PolicyVersion, policy.source_sha256) is not None:
        # Only a row another transaction committed is known to last; this one may roll back.
        if policy.source_sha256 not in inserted_here:
            seen.add(policy.source_sha256)
        return
    inserted_here.add(policy.source_sha256)
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    # Two workers may meet the same new file at once; the second insert changes nothing.
    session.execute(
        dialect.insert(PolicyVersion)
        .values(
            sha256=policy.source_sha256,
            version=policy.version,
            text=policy.source_text,
            first_used_at=at,
        )
        .on_conflict_do_nothing(index_elements=["sha256"])
    )


def in_force(session: Session, start: datetime, end: datetime) -> Sequence[PolicyVersion]:
    """Texts of the versions decisions named in [start, end), and of the one in force at `start`.

    Oldest first. A version used before policy texts were kept has no row, so it is not listed:
    `versions_named` tells which versions the events name.
    """
    named = set(versions_named(session, start, end))
    before = session.scalar(
        select(PolicyVersion.version)
        .where(PolicyVersion.first_used_at < start)
        .order_by(PolicyVersion.first_used_at.desc())
        .limit(1)
    )
    if before is not None:
        named.add(before)
    stmt = (
        select(PolicyVersion)
        .where(PolicyVersion.version.in_(named), PolicyVersion.first_used_at < end)
        .order_by(PolicyVersion.first_used_at)
    )
    return session.scalars(stmt).all()


def versions_named(session: Session, start: datetime, end: datetime) -> list[str]:
    """The policy versions that events in [start, end) were recorded under."""
    stmt = (
        select(AuditEvent.policy_version)
        .where(
            AuditEvent.created_at >= start,
            AuditEvent.created_at < end,
            AuditEvent.policy_version.is_not(None),
        )
        .group_by(AuditEvent.policy_version)
        .order_by(func.min(AuditEvent.id))
    )
    return [v for v in session.scalars(stmt) if v is not None]
