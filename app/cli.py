"""The `expense-bot` command line: migrations, employees, tokens, and running the bot."""

import argparse
import os
import shutil
import socket
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from pydantic import ValidationError
from sqlalchemy.exc import OperationalError

from app.cli_audit import add_audit_commands, record_operator_action
from app.cli_directory import add_directory_commands
from app.cli_policy import add_policy_commands
from app.cli_report import add_report_commands
from app.cli_timers import add_timer_commands
from app.domain.audit import AuditAction
from app.domain.errors import DomainError, PolicyError
from app.domain.roles import Role
from app.logs import configure_logging
from app.policy_loader import load_policy
from app.secrets_check import masked_url
from app.settings import Environment, Settings, get_settings
from slack.channels import UnknownChannel, resolve_channel_names
from slack.client import make_web_client

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


def _metrics_dir(settings: Settings, port: int) -> None:
    """Each uvicorn worker writes its metrics here; /metrics adds them up. Emptied at start."""
    path = (settings.data_dir / "metrics" / f"api-{port}").resolve()
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(path)


def cmd_api(settings: Settings, args: argparse.Namespace) -> int:
    import uvicorn
    from uvicorn.supervisors import Multiprocess

    _metrics_dir(settings, args.port)
    config = uvicorn.Config(
        "app.main:app_for_server",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_level="info",
        log_config=None,  # our structured logging, configured in every server process
        # Slack and clients keep connections open; don't wait for them forever on shutdown.
        timeout_graceful_shutdown=5,
    )
    if config.workers == 1:
        uvicorn.Server(config).run()
        return EXIT_OK
    # Several workers share a socket that uvicorn binds itself, and asyncio then leaves Nagle on
    # for every connection (it sets TCP_NODELAY only on sockets it knows are TCP): a response
    # written in two parts waited ~40 ms for the client's delayed ACK. Accepted connections
    # inherit the option from the listening socket.
    sock = config.bind_socket()
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    Multiprocess(config, sockets=[sock]).run()
    return EXIT_OK


def cmd_worker(settings: Settings, args: argparse.Namespace) -> int:
    argv = [
        "worker",
        f"--pool={args.pool}",
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
    return _run_celery(argv)


def cmd_beat(settings: Settings, _args: argparse.Namespace) -> int:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return _run_celery(
        ["beat", "--loglevel=INFO", f"--schedule={settings.data_dir / 'celerybeat-schedule'}"]
    )


def _run_celery(argv: list[str]) -> int:
    """Run a `celery` subcommand and return its exit code.

    Not `worker_main()` or `start()`: both drop the code click hands back, so a worker that
    stopped on an unrecoverable error exited 0, and a restart policy of on-failure left it dead.
    """
    from celery.bin.celery import celery as celery_command

    code = celery_command.main(
        args=["--app", "tasks.celery_app:celery_app", *argv], standalone_mode=False
    )
    return code if isinstance(code, int) else EXIT_OK


def cmd_dev(settings: Settings, args: argparse.Namespace) -> int:
    from app.dev import run_dev

    return run_dev(settings, host=args.host, port=args.port)


def _print_delivery_problems(settings: Settings) -> None:
    """Messages Slack refused for good in the last week: a channel gone, a member deactivated."""
    from datetime import timedelta

    from app.services.deliveries import delivery_problems
    from models.base import utcnow

    db = _database(settings)
    try:
        with db.session() as session:
            rows = delivery_problems(session, since=utcnow() - timedelta(days=7), limit=20)
            lines = [
                f"  {r.failed_at:%Y-%m-%d %H:%M} {r.kind} for expense {r.expense_id} "
                f"to {r.channel}: {r.error}"
                for r in rows
            ]
    except OperationalError:
        print("slack delivery: unknown (the database is unreachable)")
        return
    finally:
        db.dispose()
    print(f"slack delivery: {len(lines)} message(s) Slack refused in the last 7 days")
    for line in lines:
        print(line)


def cmd_doctor(settings: Settings, _args: argparse.Namespace) -> int:
    """The effective configuration, secrets never shown; in development, what production refuses."""
    import slack

    print(f"environment:   {settings.app_env.value}")
    print(f"database:      {masked_url(settings.database_url)}")
    print(f"broker:        {masked_url(settings.celery_broker_url)}")
    print(f"slack api:     {settings.effective_slack_api_url}")
    llm = "enabled" if settings.llm_enabled else "disabled"
    print(f"llm:           {llm} ({settings.openai_model})")
    print(f"policy file:   {settings.policy_file}")
    print(f"slack package: {slack.__file__}")
    _print_delivery_problems(settings)
    problems = settings.production_problems()
    if problems:
        print("production would refuse to start:")
        for problem in problems:
            print(f"  {problem.setting}: {problem.message}")
    return EXIT_OK


STARTS_THE_BOT = (cmd_api, cmd_worker, cmd_beat, cmd_dev)


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
    add_directory_commands(employee, token)

    api = sub.add_parser("api", help="run the HTTP API")
    api.add_argument(
        "--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this host only)"
    )
    api.add_argument("--port", type=int, default=8000)
    api.add_argument("--workers", type=int, default=1)
    api.set_defaults(run=cmd_api)

    worker = sub.add_parser("worker", help="run a Celery worker")
    worker.add_argument("--concurrency", type=int)
    # prefork is only for comparison (bench/evaluation.py); threads is what the bot runs on.
    worker.add_argument("--pool", choices=["threads", "prefork"], default="threads")
    worker.add_argument("--beat", action="store_true", help="also run the periodic sweeper")
    worker.set_defaults(run=cmd_worker)
    sub.add_parser("beat", help="run the periodic scheduler").set_defaults(run=cmd_beat)

    dev = sub.add_parser("dev", help="run everything locally (API, worker, Slack sandbox)")
    dev.add_argument("--host", default="127.0.0.1")
    dev.add_argument("--port", type=int, default=8000)
    # `dev` is the one command that asks for development; everything else runs as configured.
    dev.set_defaults(run=cmd_dev, environment=Environment.DEVELOPMENT)
    sub.add_parser("doctor", help="show the effective configuration").set_defaults(run=cmd_doctor)
    add_audit_commands(sub)
    add_report_commands(sub)
    add_timer_commands(sub)
    add_policy_commands(sub)
    return parser


def _print_config_errors(exc: ValidationError) -> None:
    """Names each setting and what is wrong; values are never printed (they may be secrets)."""
    for error in exc.errors():
        message = str(error["msg"]).removeprefix("Value error, ")
        where = ".".join(str(p) for p in error["loc"]).upper()
        print(f"configuration error: {where + ': ' if where else ''}{message}", file=sys.stderr)


def _with_channel_ids(settings: Settings) -> Settings:
    """Channel names resolved once, here; the ids reach every process this one starts."""
    if settings.uses_sandbox:  # the built-in stand-in starts with the API, after this
        return settings
    ids = resolve_channel_names(settings, make_web_client(settings))
    if not ids:
        return settings
    os.environ.update(ids)
    get_settings.cache_clear()
    return Settings()


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    # A command that reads only its own input (`policy check FILE`) runs on any configuration.
    standalone: Callable[[argparse.Namespace], int] | None = getattr(args, "standalone", None)
    if standalone is not None:
        return standalone(args)
    environment: Environment | None = getattr(args, "environment", None)
    if environment is not None:
        os.environ["APP_ENV"] = environment.value  # child processes (the dev worker) inherit it
    try:
        settings = Settings()
    except ValidationError as exc:
        _print_config_errors(exc)
        return EXIT_CONFIG
    run: Callable[[Settings, argparse.Namespace], int] = args.run
    if run in STARTS_THE_BOT:
        configure_logging(settings)
    try:
        if run in STARTS_THE_BOT:
            # Refuse to start on a policy that cannot be read, rather than fail on first use.
            load_policy(settings.policy_file)
            settings = _with_channel_ids(settings)
        return run(settings, args)
    except UnknownChannel as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    except PolicyError as exc:
        print(f"configuration error: POLICY_FILE: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    except DomainError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except OperationalError as exc:
        print(f"error: cannot reach the database: {exc.orig}", file=sys.stderr)
        return EXIT_UNREACHABLE
    except KeyboardInterrupt:
        return EXIT_OK
