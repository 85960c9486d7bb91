"""`expense-bot audit verify|head` on real PostgreSQL: a whole log, and each way of tampering."""

import uuid
from pathlib import Path

import pytest
from sqlalchemy import Connection, create_engine, select, text

from app.cli import EXIT_ERROR, EXIT_OK, EXIT_UNREACHABLE, EXIT_USAGE, main
from app.db import Database
from app.domain.audit_chain import canonical_values, chain_hash
from app.services.audit_verify import last_event, snapshot, stream_events
from models import AuditEvent
from tests.audit_rows import behind_the_triggers
from tests.factories import click, pending_expense, person


@pytest.fixture
def log(monkeypatch: pytest.MonkeyPatch, own_postgres_url: str, tmp_path: Path) -> str:
    """A database of its own holding a few real decisions (about ten events)."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", own_postgres_url)
    monkeypatch.setenv("APP_ENV", "development")
    db = Database(own_postgres_url, job_sender=lambda _jobs: None)
    submitter, approver = person(db), person(db, "approver")
    for amount in ("1500.00", "2500.00", "3500.00"):
        click(db, pending_expense(db, submitter, amount), approver, reason="ok")
    db.dispose()
    return own_postgres_url


def ids(url: str) -> list[int]:
    engine = create_engine(url)
    with engine.connect() as conn:
        found = list(conn.scalars(select(AuditEvent.id).order_by(AuditEvent.id)))
    engine.dispose()
    return found


def verify(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main(["audit", "verify", *args])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def head(capsys: pytest.CaptureFixture[str]) -> str:
    assert main(["audit", "head"]) == EXIT_OK
    return capsys.readouterr().out.split("anchor: ")[1].strip()


def test_a_whole_log_verifies_and_prints_its_head(
    log: str, capsys: pytest.CaptureFixture[str]
) -> None:
    anchor = head(capsys)
    all_ids = ids(log)
    assert anchor.startswith(f"{all_ids[-1]}:")
    code, out = verify(capsys)
    assert code == EXIT_OK, out
    assert f"{len(all_ids)} event(s) checked" in out
    assert anchor.split(":")[1] in out
    code, out = verify(capsys, "--since", str(all_ids[4]), "--anchor", anchor)
    assert code == EXIT_OK, out
    assert f"{len(all_ids) - 4} event(s) checked, 1 anchor(s) matched" in out


def test_an_update_behind_the_trigger_is_named(
    log: str, capsys: pytest.CaptureFixture[str]
) -> None:
    target = ids(log)[3]
    behind_the_triggers(log, "UPDATE audit_events SET reason = 'fine' WHERE id = :id", id=target)
    code, out = verify(capsys)
    assert code == EXIT_ERROR
    assert f"BROKEN at event {target}: changed" in out


def test_a_deleted_event_is_named(log: str, capsys: pytest.CaptureFixture[str]) -> None:
    all_ids = ids(log)
    behind_the_triggers(log, "DELETE FROM audit_events WHERE id = :id", id=all_ids[4])
    code, out = verify(capsys)
    assert code == EXIT_ERROR
    assert f"BROKEN at event {all_ids[5]}: removed" in out
    assert "(seq 5..5)" in out
    assert f"after event {all_ids[3]}" in out


def test_deleting_the_newest_events_is_caught_by_the_head(
    log: str, capsys: pytest.CaptureFixture[str]
) -> None:
    all_ids = ids(log)
    behind_the_triggers(log, "DELETE FROM audit_events WHERE id >= :id", id=all_ids[-2])
    code, out = verify(capsys)
    assert code == EXIT_ERROR
    assert f"BROKEN at event {all_ids[-3]}: removed" in out
    assert "the last 2 event(s)" in out


def forge_appended(url: str) -> int:
    """A well-formed event written straight into the table, linked to the real newest one."""
    engine = create_engine(url)
    with snapshot(engine) as conn:
        newest = last_event(conn)
        assert newest is not None
        assert newest.id is not None
        real = next(stream_events(conn, since_id=newest.id))
    seq = newest.seq + 1
    # The newest decision, once more: a copy anyone with INSERT rights could write.
    digest = chain_hash(seq, newest.hash, canonical_values(real.values))
    with engine.begin() as conn:
        insert_copy(conn, newest.id, seq, newest.hash, digest)
        forged_id = int(conn.scalar(select(AuditEvent.id).where(AuditEvent.seq == seq)) or 0)
    engine.dispose()
    return forged_id


def insert_copy(conn: Connection, source_id: int, seq: int, prev_hash: str, digest: str) -> None:
    columns = [c.name for c in AuditEvent.__table__.columns if c.name not in ("id", "seq")]
    chained = {"prev_hash", "hash"}
    select_list = ", ".join(f":{c}" if c in chained else c for c in columns)
    conn.execute(
        text(
            f"INSERT INTO audit_events (seq, {', '.join(columns)}) "
            f"SELECT :seq, {select_list} FROM audit_events WHERE id = :source"
        ),
        {"seq": seq, "prev_hash": prev_hash, "hash": digest, "source": source_id},
    )


def test_an_inserted_event_is_named(log: str, capsys: pytest.CaptureFixture[str]) -> None:
    forged = forge_appended(log)  # inserts pass the trigger: only the chain head tells
    code, out = verify(capsys)
    assert code == EXIT_ERROR
    assert f"BROKEN at event {forged}: inserted" in out


def test_two_swapped_events_are_named(log: str, capsys: pytest.CaptureFixture[str]) -> None:
    all_ids = ids(log)
    first, second = all_ids[2], all_ids[6]
    behind_the_triggers(
        log,
        "UPDATE audit_events SET id = -id WHERE id = :a",
        "UPDATE audit_events SET id = :a WHERE id = :b",
        "UPDATE audit_events SET id = :b WHERE id = -:a",
        a=first,
        b=second,
    )
    code, out = verify(capsys)
    assert code == EXIT_ERROR
    assert f"BROKEN at event {first}: reordered" in out


def rewrite_from(url: str, event_id: int) -> None:
    """A forger who changes one event and recomputes every later hash, and the head."""
    change = "UPDATE audit_events SET reason = 'paid twice' WHERE id = :id"
    behind_the_triggers(url, change, id=event_id)
    engine = create_engine(url)
    with snapshot(engine) as conn:
        before = [e for e in stream_events(conn) if e.id < event_id][-1]
        later = list(stream_events(conn, since_id=event_id))
    prev, statements = before.hash, []
    for event in later:
        digest = chain_hash(event.seq, prev, canonical_values(event.values))
        statements.append((event.id, prev, digest))
        prev = digest
    engine.dispose()
    behind_the_triggers(
        url,
        *(
            f"UPDATE audit_events SET prev_hash = '{p}', hash = '{h}' WHERE id = {i}"
            for i, p, h in statements
        ),
        f"UPDATE audit_chain_head SET hash = '{prev}'",
    )


def test_anchors_catch_a_rewritten_history(
    log: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    all_ids = ids(log)
    early = [f"{i}:{h}" for i, h in hashes(log, all_ids[1], all_ids[5])]
    later = head(capsys)
    rewrite_from(log, all_ids[3])
    code, out = verify(capsys)
    assert code == EXIT_OK, "a full rewrite is consistent on its own: only anchors can tell"
    code, out = verify(capsys, "--anchor", early[0])
    assert code == EXIT_OK, out
    anchors = tmp_path / "anchors.txt"
    anchors.write_text(f"# from the witness channel\n{early[1].replace(':', ' ')}\n{later}\n")
    code, out = verify(capsys, "--anchors", str(anchors))
    assert code == EXIT_ERROR
    assert f"BROKEN at event {all_ids[5]}: rewritten" in out
    assert f"anchor {all_ids[5]}:" in out


def hashes(url: str, *event_ids: int) -> list[tuple[int, str]]:
    engine = create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(
            select(AuditEvent.id, AuditEvent.hash).where(AuditEvent.id.in_(event_ids))
        ).all()
    engine.dispose()
    return sorted((row.id, row.hash) for row in rows)


def test_usage_errors_and_an_unreachable_database(
    log: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for bad in (["--anchor", "12:nothex"], ["--anchors", "/nonexistent/anchors.txt"]):
        with pytest.raises(SystemExit) as usage:
            main(["audit", "verify", *bad])
        assert usage.value.code == EXIT_USAGE
    digest = "a" * 64
    assert main(["audit", "verify", "--since", "5", "--anchor", f"2:{digest}"]) == EXIT_USAGE
    conflicting = ["--anchor", f"2:{digest}", "--anchor", f"2:{'b' * 64}"]
    assert main(["audit", "verify", *conflicting]) == EXIT_USAGE
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg2://postgres@127.0.0.1:1/none")
    assert main(["audit", "verify"]) == EXIT_UNREACHABLE
    assert main(["audit", "head"]) == EXIT_UNREACHABLE
    assert "cannot reach the database" in capsys.readouterr().err


def test_cli_operator_actions_are_audited(log: str, capsys: pytest.CaptureFixture[str]) -> None:
    email = f"new-{uuid.uuid4().hex[:8]}@corp.example"
    assert main(["employee", "add", "--email", email, "--name", "N", "--role", "approver"]) == 0
    assert main(["token", "create", "--email", email]) == EXIT_OK
    engine = create_engine(log)
    with engine.connect() as conn:
        rows = conn.execute(
            select(AuditEvent.action, AuditEvent.actor_kind, AuditEvent.channel, AuditEvent.details)
            .where(AuditEvent.channel == "cli")
            .order_by(AuditEvent.id)
        ).all()
    engine.dispose()
    assert [(r.action, r.actor_kind) for r in rows] == [
        ("employee_added", "cli_operator"),
        ("token_created", "cli_operator"),
    ]
    assert rows[0].details["roles"] == ["approver", "employee"]
    code, out = verify(capsys)
    assert code == EXIT_OK, out
