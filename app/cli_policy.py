"""`expense-bot policy check|backtest`: validate a policy file; replay stored expenses under it."""

import argparse
import sys
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.cli_report import Table, print_table, since_option, write_csv
from app.domain.errors import PolicyError

if TYPE_CHECKING:
    from app.services.backtest import Replayed
    from app.settings import Settings


def cmd_check(args: argparse.Namespace) -> int:
    """Exit 0 for a valid policy; 3 with one line per problem, naming its field."""
    from app.cli import EXIT_CONFIG, EXIT_OK
    from app.domain.policy import policy_problems
    from app.policy_loader import read_policy, read_toml

    path: Path = args.file
    try:
        problems = policy_problems(read_toml(path)[2])
        policy = None if problems else read_policy(path)
    except PolicyError as exc:
        print(f"{path}: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    for problem in problems:
        print(f"{path}: {problem}", file=sys.stderr)
    if policy is None:
        return EXIT_CONFIG
    print(f"{path}: valid; version {policy.version}, sha256 {policy.source_sha256}")
    return EXIT_OK


def _row(item: "Replayed") -> tuple[Any, ...]:
    e = item.expense
    when = e.created_at.strftime("%Y-%m-%dT%H:%M:%SZ")
    return (e.id, when, e.amount, e.currency, e.category, e.merchant, item.was, item.now, item.why)


def cmd_backtest(settings: "Settings", args: argparse.Namespace) -> int:
    """Print (or write as CSV) the expenses whose outcome would change, and why."""
    from rich.console import Console
    from rich.progress import Progress

    from app.cli import EXIT_CONFIG, EXIT_OK, _database
    from app.domain.backtest import COLUMNS
    from app.policy_loader import read_policy
    from app.services import backtest

    since: datetime | None = args.since
    try:
        policy = read_policy(args.policy)
    except PolicyError as exc:
        print(f"{args.policy}: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    rows: list[tuple[Any, ...]] = []
    moves: Counter[str] = Counter()
    db = _database(settings)
    try:
        with db.read_only() as session:
            total = backtest.count(session, since)
            # Drawn on a terminal only, and wiped when done; the table is what stays.
            bar = Console(stderr=True)
            with Progress(console=bar, disable=not bar.is_terminal, transient=True) as progress:
                task = progress.add_task("replaying expenses", total=total)
                for item in backtest.replay(session, policy, since):
                    progress.advance(task)
                    moves[f"{item.was} -> {item.now}"] += 1
                    if item.why is not None:
                        rows.append(_row(item))
    finally:
        db.dispose()
    replayed = sum(moves.values())
    parameters = {"policy": f"{policy.version} ({args.policy})", "replayed": str(replayed)}
    if since is not None:
        parameters["since"] = since.isoformat()
    table = Table(COLUMNS, rows, parameters)
    if args.csv:
        write_csv(table, args.csv)
    else:
        print_table(table, sys.stdout)
    print(f"{len(rows)} of {replayed} outcome(s) would change", file=sys.stderr)
    for move, n in sorted(moves.items()):
        print(f"  {move}: {n}", file=sys.stderr)
    return EXIT_OK


def add_policy_commands(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    policy = sub.add_parser("policy", help="check a policy file, or replay history under it")
    commands = policy.add_subparsers(dest="policy_command", required=True)
    check = commands.add_parser(
        "check", help="validate a policy file (exit 0, or 3 naming each problem)"
    )
    check.add_argument("file", type=Path)
    check.set_defaults(standalone=cmd_check)
    backtest = commands.add_parser(
        "backtest",
        help="which outcomes a policy would change on stored expenses, and why (changes nothing)",
    )
    backtest.add_argument("--policy", type=Path, required=True, metavar="NEW.toml")
    backtest.add_argument(
        "--since", type=since_option, metavar="DATE", help="expenses submitted from then on"
    )
    backtest.add_argument("--csv", metavar="FILE", help="write CSV to FILE (- for stdout)")
    backtest.set_defaults(run=cmd_backtest)
