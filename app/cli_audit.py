"""`expense-bot audit verify|head|pack`: prove the log is whole, anchor it, pack a month."""

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from app.domain.audit import AuditAction, Channel, EventContext
from app.domain.audit_chain import Json, parse_anchor
from app.settings import Settings

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from models import Employee


def record_operator_action(session: "Session", action: AuditAction, employee: "Employee") -> None:
    """Who was given roles or a token is audited too: auditors ask who could approve."""
    from app.services import audit

    details: dict[str, Json] = {
        "employee_id": employee.id,
        "email": employee.email,
        "roles": list(employee.roles),
    }
    audit.record(
        session,
        expense_id=None,
        actor=audit.cli_operator(),
        action=action,
        channel=Channel.CLI,
        context=EventContext(details=details),
    )


def _anchor(text: str) -> tuple[int, str]:
    try:
        return parse_anchor(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _anchor_file(path: str) -> list[tuple[int, str]]:
    """Lines of `ID HASH` or `ID:HASH`; blank lines and `#` comments are skipped."""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise argparse.ArgumentTypeError(f"cannot read anchors file {path}: {exc}") from None
    texts = [line.split("#", 1)[0] for line in lines]
    return [_anchor(text) for text in texts if text.strip()]


def cmd_audit_verify(settings: Settings, args: argparse.Namespace) -> int:
    from app.cli import EXIT_ERROR, EXIT_OK, EXIT_USAGE
    from app.db import make_engine
    from app.services.audit_verify import verify

    anchors: dict[int, str] = {}
    for event_id, digest in [*args.anchor, *(a for f in args.anchors for a in f)]:
        if anchors.setdefault(event_id, digest) != digest:
            print(f"error: two different anchors for event {event_id}", file=sys.stderr)
            return EXIT_USAGE
    early = [i for i in anchors if args.since is not None and i < args.since]
    if early:
        print(f"error: anchor {early[0]} lies before --since {args.since}", file=sys.stderr)
        return EXIT_USAGE
    engine = make_engine(settings.database_url, pool_size=1)
    try:
        verdict = verify(engine, since_id=args.since, anchors=anchors)
    finally:
        engine.dispose()
    if verdict.problem is not None:
        problem = verdict.problem
        where = f"event {problem.event_id}" if problem.event_id is not None else "the log"
        print(f"audit log BROKEN at {where}: {problem.fault.value}", file=sys.stderr)
        print(f"  {problem.message}", file=sys.stderr)
        print(f"  {verdict.checked} event(s) checked before it", file=sys.stderr)
        return EXIT_ERROR
    print(f"audit log intact: {verdict.checked} event(s) checked, ", end="")
    print(f"{verdict.anchors_checked} anchor(s) matched")
    if verdict.last is not None:
        last = verdict.last
        print(f"head: event {last.id} seq {last.seq} hash {last.hash}")
    return EXIT_OK


def cmd_audit_head(settings: Settings, _args: argparse.Namespace) -> int:
    from app.cli import EXIT_OK
    from app.db import make_engine
    from app.services.audit_verify import last_event, snapshot

    engine = make_engine(settings.database_url, pool_size=1)
    try:
        with snapshot(engine) as conn:
            head = last_event(conn)
    finally:
        engine.dispose()
    if head is None:
        print("the audit log is empty")
    else:
        print(f"event {head.id} seq {head.seq} hash {head.hash}")
        print(f"anchor: {head.id}:{head.hash}")
    return EXIT_OK


def cmd_audit_pack(settings: Settings, args: argparse.Namespace) -> int:
    from app.cli import EXIT_ERROR, EXIT_OK, EXIT_USAGE
    from app.db import make_engine
    from app.domain.audit_filter import InvalidFilter
    from app.policy_loader import load_policy
    from app.services.audit_pack import build

    out = Path(args.out)
    if out.suffix.lower() != ".zip" or not out.parent.is_dir():
        print(f"error: --out must be a .zip file in an existing folder: {out}", file=sys.stderr)
        return EXIT_USAGE
    engine = make_engine(settings.database_url, pool_size=1)
    try:
        pack = build(engine, load_policy(settings.policy_file).currency, args.month, out)
    except InvalidFilter as exc:
        print(f"error: --month: {exc}", file=sys.stderr)
        return EXIT_USAGE
    finally:
        engine.dispose()
    print(f"wrote {pack.path}: {len(pack.files)} files, policies {', '.join(pack.policies) or '-'}")
    if pack.unrecorded_versions:
        print(f"  no text recorded for policy version(s): {', '.join(pack.unrecorded_versions)}")
    if pack.verdict.problem is not None:
        print(f"audit log BROKEN: {pack.verdict.problem.message}", file=sys.stderr)
        return EXIT_ERROR
    print(f"audit log intact: {pack.verdict.checked} event(s) checked")
    return EXIT_OK


def add_audit_commands(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    audit = sub.add_parser("audit", help="check the tamper-evident audit log").add_subparsers(
        dest="audit_command", required=True
    )
    check = audit.add_parser("verify", help="walk the hash chain; exit 1 naming what was altered")
    check.add_argument("--since", type=int, metavar="ID", help="start at event ID")
    check.add_argument(
        "--anchor",
        type=_anchor,
        action="append",
        default=[],
        metavar="ID:HASH",
        help="the chain must pass through event ID with this hash (repeatable)",
    )
    check.add_argument(
        "--anchors",
        type=_anchor_file,
        action="append",
        default=[],
        metavar="FILE",
        help="a file of earlier `ID HASH` or `ID:HASH` lines, e.g. the daily witness posts",
    )
    check.set_defaults(run=cmd_audit_verify)
    audit.add_parser("head", help="print the newest event's id and hash").set_defaults(
        run=cmd_audit_head
    )
    pack = audit.add_parser(
        "pack", help="a month's evidence pack: exports, verification, head, policies, reports"
    )
    pack.add_argument("--month", required=True, metavar="YYYY-MM", help="a UTC calendar month")
    pack.add_argument("--out", required=True, metavar="FILE.zip")
    pack.set_defaults(run=cmd_audit_pack)
