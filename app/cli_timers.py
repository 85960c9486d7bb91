"""`expense-bot timers tick` and `expense-bot delegate`: the scheduler's tick on demand (at any
moment, to move the clock), and out-of-office delegations."""

import argparse
import sys
from datetime import date, datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from app.settings import Settings


def _moment(text: str) -> str:
    try:
        datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an ISO 8601 time") from None
    return text


def cmd_timers_tick(settings: "Settings", args: argparse.Namespace) -> int:
    """Queue one tick for the workers, as beat does, but at `--at` if given."""
    from app import job_names
    from app.cli import EXIT_OK, EXIT_UNREACHABLE
    from app.db import Job
    from tasks.celery_app import send_jobs

    try:
        send_jobs([Job(job_names.TIMERS_TICK, (args.at,))])
    except Exception as exc:  # noqa: BLE001  (any broker failure: say so, exit 4)
        print(f"error: cannot reach the broker: {exc}", file=sys.stderr)
        return EXIT_UNREACHABLE
    print(f"queued a timers tick at {args.at or 'the current time'}")
    return EXIT_OK


def cmd_delegate(settings: "Settings", args: argparse.Namespace) -> int:
    from app.cli import EXIT_OK
    from app.db import Database
    from app.domain.audit import Channel
    from app.domain.errors import NotFound
    from app.services.audit import cli_operator
    from app.services.delegations import delegate
    from app.services.employees import find_by_email
    from models.base import utcnow
    from tasks.celery_app import send_jobs

    # Cards already waiting on the approver go to the delegate too: jobs for the workers.
    db = Database(settings.database_url, job_sender=send_jobs)
    with db.session() as session:
        people = []
        for email in (args.principal, args.delegate):
            found = find_by_email(session, email)
            if found is None:
                raise NotFound(f"no employee with email {email}")
            people.append(found)
        delegate(
            session,
            principal=people[0],
            delegate=people[1],
            until=args.until,
            now=utcnow(),
            actor=cli_operator(),
            channel=Channel.CLI,
        )
    print(f"{people[1].email} decides {people[0].email}'s steps until {args.until} (UTC)")
    return EXIT_OK


def add_timer_commands(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    timers = sub.add_parser("timers", help="reminders, escalations and expiry").add_subparsers(
        dest="timers_command", required=True
    )
    tick = timers.add_parser("tick", help="queue a scheduler tick now, as if it were --at")
    tick.add_argument("--at", type=_moment, metavar="ISO", help="e.g. 2026-12-24T09:00:00Z")
    tick.set_defaults(run=cmd_timers_tick)
    away = sub.add_parser("delegate", help="let someone decide an approver's steps until a date")
    away.add_argument("--from", dest="principal", required=True, metavar="EMAIL")
    away.add_argument("--to", dest="delegate", required=True, metavar="EMAIL")
    away.add_argument(
        "--until", required=True, type=date.fromisoformat, metavar="YYYY-MM-DD", help="inclusive"
    )
    away.set_defaults(run=cmd_delegate)
