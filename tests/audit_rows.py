"""Audit rows for tests: written through the app, or edited behind the triggers as a superuser."""

from sqlalchemy import create_engine, text

from app.db import Database
from app.domain.audit import Actor, ActorKind, AuditAction, Channel
from app.services import audit


def write_events(url: str, count: int) -> None:
    db = Database(url, job_sender=lambda _jobs: None)
    for i in range(count):
        with db.session() as session:
            audit.record(
                session,
                expense_id=None,
                actor=Actor(ActorKind.CLI_OPERATOR, "ops"),
                action=AuditAction.COMMENTED,
                channel=Channel.CLI,
                reason=f"note {i}",
            )
    db.dispose()


def behind_the_triggers(url: str, *statements: str, **params: object) -> None:
    """What a superuser can do: switch the triggers off for a session and edit rows."""
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("SET LOCAL session_replication_role = replica"))
        for statement in statements:
            conn.execute(text(statement), params)
    engine.dispose()
