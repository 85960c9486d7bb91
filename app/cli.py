"""The `expense-bot` command line: migrations, employees, tokens, and running the bot."""

import argparse
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from pydantic import ValidationError
from sqlalchemy.exc import OperationalError

from app.cli_audit import add_audit_commands, record_operator_action
from app.domain.audit import AuditAction
from app.domain.errors import DomainError
from app.domain.roles import Role
from app.settings import Settings

if TYPE_CHECKING:  # the CLI imports heavy modules only for the command that needs them
    from app.db import Database

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_CONFIG, EXIT_UNREACHABLE = 0, 1, 2, 3, 4


def _no_jobs(_jobs: object) -> None:
    """CLI commands change no expense, so they queue no job."""


def _database(settings: Settings) -> "Database":
    from app.db import Database

    return Database(settings.database_url, job_sender=_no_jobs)


def cmd_migrate(settings: Settings, _args: argparse.Namespace) -> int:
    from app.migrate import upgrade

    if settings.database_url.startswith("sqlite"):
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    upgrade(settings.database_url)
    print("database is up to date")
    return EXIT_OK


def cmd_employee_add(settings: Settings, args: argparse.Namespace) -> int:
    from app.services.employees import add_employee

    db = _database(settings)
    with db.session() as session:
        employee = add_employee(
            session,
            email=args.email,
            name=args.name,
            slack_user_id=args.slack_id,
            roles=args.role or (),
            manager_email=args.manager,
        )
        record_operator_action(session, AuditAction.EMPLOYEE_ADDED, employee)
        print(f"added employee {employee.id}: {employee.email} roles={','.join(employee.roles)}")
    return EXIT_OK


def cmd_token_create(settings: Settings, args: argparse.Namespace) -> int:
    from app.domain.errors import NotFound
    from app.services.employees import create_token, find_by_email

    db = _database(settings)
    with db.session() as session:
        employee = find_by_email(session, args.email)
        if employee is None:
            raise NotFound(f"no employee with email {args.email}")
        token = create_token(session, employee)
        record_operator_action(session, AuditAction.TOKEN_CREATED, employee)
    print(token)
    print("Store this token now: it is not shown again.", file=sys.stderr)
    return EXIT_OK


def cmd_api(settings: Settings, args: argparse.Namespace) -> int:
    import uvicorn

    uvicorn.run(
        "app.main:create_app",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_level="info",
        # Slack and clients keep connections open; don't wait for them forever on shutdown.
        timeout_graceful_shutdown=5,
    )
    return EXIT_OK


def cmd_worker(settings: Settings, args: argparse.Namespace) -> int:
    from tasks.celery_app import celery_app

    argv = [
        "worker",
        "--pool=threads",
        f"--concurrency={args.concurrency or settings.worker_concurrency}",
        "--loglevel=INFO",
        "-Q",
        settings.celery_queue,
        "--without-gossip",
        "--without-mingle",
    ]
    if args.beat:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        argv += ["-B", f"--schedule={settings.data_dir / 'celerybeat-schedule'}"]
    celery_app.worker_main(argv)
    return EXIT_OK


def cmd_beat(settings: Settings, _args: argparse.Namespace) -> int:
    from tasks.celery_app import celery_app

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    celery_app.start(
        ["beat", "--loglevel=INFO", f"--schedule={settings.data_dir / 'celerybeat-schedule'}"]
    )
    return EXIT_OK


def cmd_dev(settings: Settings, args: argparse.Namespace) -> int:
    from app.dev import run_dev

    return run_dev(settings, host=args.host, port=args.port)


def cmd_doctor(settings: Settings, _args: argparse.Namespace) -> int:
    import slack

    print(f"environment:   {settings.app_env.value}")
    print(f"database:      {settings.database_url.split('@')[-1]}")
    print(f"broker:        {settings.celery_broker_url.split('@')[-1]}")
    print(f"slack api:     {settings.effective_slack_api_url}")
    llm = "enabled" if settings.llm_enabled else "disabled"
    print(f"llm:           {llm} ({settings.openai_model})")
    print(f"policy file:   {settings.policy_file}")
    print(f"slack package: {slack.__file__}")
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="expense-bot", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("migrate", help="apply database migrations").set_defaults(run=cmd_migrate)

    employee = sub.add_parser("employee", help="manage employees").add_subparsers(
        dest="employee_command", required=True
    )
    add = employee.add_parser("add", help="add an employee")
    add.add_argument("--email", required=True)
    add.add_argument("--name", required=True)
    add.add_argument("--slack-id", help="Slack user id, e.g. U012AB3CD")
    add.add_argument(
        "--role", action="append", choices=[r.value for r in Role], help="repeat for several roles"
    )
    add.add_argument("--manager", help="the manager's email")
    add.set_defaults(run=cmd_employee_add)

    token = sub.add_parser("token", help="manage API tokens").add_subparsers(
        dest="token_command", required=True
    )
    create = token.add_parser("create", help="create a token and print it once")
    create.add_argument("--email", required=True)
    create.set_defaults(run=cmd_token_create)

    api = sub.add_parser("api", help="run the HTTP API")
    api.add_argument("--host", default="0.0.0.0")
    api.add_argument("--port", type=int, default=8000)
    api.add_argument("--workers", type=int, default=1)
    api.set_defaults(run=cmd_api)

    worker = sub.add_parser("worker", help="run a Celery worker")
    worker.add_argument("--concurrency", type=int)
    worker.add_argument("--beat", action="store_true", help="also run the periodic sweeper")
    worker.set_defaults(run=cmd_worker)
    sub.add_parser("beat", help="run the periodic scheduler").set_defaults(run=cmd_beat)

    dev = sub.add_parser("dev", help="run everything locally (API, worker, Slack sandbox)")
    dev.add_argument("--host", default="127.0.0.1")
    dev.add_argument("--port", type=int, default=8000)
    dev.set_defaults(run=cmd_dev)
    sub.add_parser("doctor", help="show the effective configuration").set_defaults(run=cmd_doctor)
    add_audit_commands(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = Settings()
    except ValidationError as exc:
        for error in exc.errors():
            where = ".".join(str(p) for p in error["loc"]).upper() or "settings"
            print(f"configuration error: {where}: {error['msg']}", file=sys.stderr)
        return EXIT_CONFIG
    run: Callable[[Settings, argparse.Namespace], int] = args.run
    try:
        return run(settings, args)
    except DomainError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except OperationalError as exc:
        print(f"error: cannot reach the database: {exc.orig}", file=sys.stderr)
        return EXIT_UNREACHABLE
    except KeyboardInterrupt:
        return EXIT_OK
