"""The directory and token commands: `employee import|list|deactivate`, `token list|revoke`."""

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.domain.errors import DomainError
from app.settings import Settings

if TYPE_CHECKING:  # heavy modules are imported by the command that needs them
    from app.db import Database
    from app.directory_changes import Report

# app.cli.EXIT_OK; not imported from there, because app.cli imports this module.
DONE = 0


def _database(settings: Settings) -> "Database":
    from app.db import Database

    return Database(settings.database_url, job_sender=lambda _jobs: None)  # no jobs to send


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(cell) for cell in column) for column in zip(header, *rows, strict=True)]
    lines = [header, *rows]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
        for line in lines
    )


def _read(file: str) -> bytes:
    if file == "-":
        return sys.stdin.buffer.read()
    try:
        return Path(file).read_bytes()
    except OSError as exc:
        raise DomainError(f"cannot read {file}: {exc.strerror}") from None


def _print_report(file: str, report: "Report") -> None:
    from app.domain.directory_plan import Outcome

    plan = report.plan
    added, updated = plan.count(Outcome.ADDED), plan.count(Outcome.UPDATED)
    unchanged = plan.count(Outcome.UNCHANGED)
    if added or updated:
        print(f"{file}: {added} added, {updated} updated, {unchanged} unchanged")
    else:
        print(f"{file}: nothing changed ({unchanged} unchanged)")
    for change in plan.changes:
        if change.outcome is not Outcome.UNCHANGED:
            fields = f" ({', '.join(change.changes)})" if change.outcome is Outcome.UPDATED else ""
            print(f"  line {change.line}: {change.outcome.value} {change.record.email}{fields}")
    if report.lookup_failures:
        print("Slack user ids not found by email (importing again retries them):")
        for failure in report.lookup_failures:
            print(f"  line {failure.line}: {failure.email}: {failure.error}")


def cmd_employee_import(settings: Settings, args: argparse.Namespace) -> int:
    from functools import partial

    from app.directory_changes import change_directory
    from app.domain.audit import Channel
    from app.domain.directory import read_csv
    from app.services.audit import cli_operator
    from slack.client import make_web_client
    from slack.directory import lookup_slack_ids

    rows = read_csv(_read(args.file))
    lookup = None if args.no_slack_lookup else partial(lookup_slack_ids, make_web_client(settings))
    db = _database(settings)
    try:
        report = change_directory(
            db, rows, actor=cli_operator(), channel=Channel.CLI, lookup=lookup
        )
    finally:
        db.dispose()
    _print_report(args.file, report)
    return DONE


def cmd_employee_list(settings: Settings, args: argparse.Namespace) -> int:
    from app.services import directory

    db = _database(settings)
    try:
        with db.session() as session:
            people = directory.listed(session)
    finally:
        db.dispose()
    if args.json:
        out: list[dict[str, Any]] = [
            {
                "email": p.email,
                "name": p.name,
                "slack_user_id": p.slack_user_id,
                "manager_email": p.manager_email,
                "department": p.department,
                "cost_center": p.cost_center,
                "roles": p.roles,
                "active": p.active,
                "created_at": p.created_at.isoformat(),
            }
            for p in people
        ]
        print(json.dumps(out, indent=2, ensure_ascii=False))
        return DONE
    header = ("EMAIL", "NAME", "SLACK", "MANAGER", "DEPARTMENT", "COST CENTER", "ROLES", "ACTIVE")
    rows = [
        (
            p.email,
            p.name,
            p.slack_user_id or "-",
            p.manager_email or "-",
            p.department or "-",
            p.cost_center or "-",
            ";".join(p.roles),
            "yes" if p.active else "no",
        )
        for p in people
    ]
    print(_table(header, rows))
    return DONE


def cmd_employee_deactivate(settings: Settings, args: argparse.Namespace) -> int:
    from app.domain.audit import Channel
    from app.services import directory
    from app.services.audit import cli_operator

    db = _database(settings)
    try:
        with db.session() as session:
            changed = directory.deactivate(
                session, args.email, actor=cli_operator(), channel=Channel.CLI
            )
    finally:
        db.dispose()
    email = args.email.strip().lower()
    if changed:
        print(
            f"deactivated {email}: their tokens stop working and they can no longer decide "
            "in Slack; their expenses and history stay"
        )
    else:
        print(f"{email} was already deactivated")
    return DONE


def cmd_token_list(settings: Settings, args: argparse.Namespace) -> int:
    from app.services.employees import list_tokens

    db = _database(settings)
    try:
        with db.session() as session:
            tokens = list_tokens(session, args.email)
    finally:
        db.dispose()
    rows = [
        (
            str(token.id),
            email,
            token.created_at.strftime("%Y-%m-%d %H:%M UTC"),
            token.revoked_at.strftime("%Y-%m-%d %H:%M UTC") if token.revoked_at else "-",
        )
        for token, email in tokens
    ]
    print(_table(("ID", "EMPLOYEE", "CREATED", "REVOKED"), rows))
    return DONE


def cmd_token_revoke(settings: Settings, args: argparse.Namespace) -> int:
    from app.domain.audit import Channel
    from app.services.audit import cli_operator
    from app.services.employees import revoke_token

    db = _database(settings)
    try:
        with db.session() as session:
            token, revoked = revoke_token(
                session, args.id, actor=cli_operator(), channel=Channel.CLI
            )
    finally:
        db.dispose()
    if revoked:
        print(f"revoked token {token.id}: it is refused from the next request on")
    else:
        assert token.revoked_at is not None
        print(f"token {token.id} was already revoked at {token.revoked_at:%Y-%m-%d %H:%M UTC}")
    return DONE


def add_directory_commands(
    employee: "argparse._SubParsersAction[argparse.ArgumentParser]",
    token: "argparse._SubParsersAction[argparse.ArgumentParser]",
) -> None:
    imports = employee.add_parser(
        "import",
        help="add or update employees from a CSV file, all or nothing",
        description="Columns: email,name,slack_user_id,manager_email,department,cost_center,"
        "roles (roles separated by ';'). Keyed by email; importing the same file again "
        "changes nothing. Missing Slack ids are looked up by email.",
    )
    imports.add_argument("file", help="the CSV file, or - for standard input")
    imports.add_argument(
        "--no-slack-lookup", action="store_true", help="do not look up missing Slack ids"
    )
    imports.set_defaults(run=cmd_employee_import)
    listing = employee.add_parser("list", help="list employees")
    listing.add_argument("--json", action="store_true", help="as JSON")
    listing.set_defaults(run=cmd_employee_list)
    deactivate = employee.add_parser(
        "deactivate", help="stop an employee's tokens and Slack decisions; history stays"
    )
    deactivate.add_argument("email")
    deactivate.set_defaults(run=cmd_employee_deactivate)

    tokens = token.add_parser("list", help="list tokens (never the tokens themselves)")
    tokens.add_argument("--email", help="only this employee's tokens")
    tokens.set_defaults(run=cmd_token_list)
    revoke = token.add_parser("revoke", help="revoke a token, from the next request on")
    revoke.add_argument("id", type=int, help="the token's id, from `token list`")
    revoke.set_defaults(run=cmd_token_revoke)
