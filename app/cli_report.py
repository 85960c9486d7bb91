"""`expense-bot report sample|sod|overrides|timing`: the auditors' reports, as a table or CSV."""

import argparse
import secrets
import sys
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TextIO

from app.domain.audit_filter import FILTER_NAMES, AuditFilter, InvalidFilter, parse_filter
from app.domain.audit_reports import DEFAULT_SAMPLE_RATE, ReportName, parse_rate, parse_seed

if TYPE_CHECKING:
    from app.settings import Settings

REPORTS = {
    ReportName.SAMPLE: "a reproducible random sample of auto-approved expenses, to spot-check",
    ReportName.SOD: "refused decisions: self-approval, out-of-role clicks, unknown users",
    ReportName.OVERRIDES: "human decisions that went against the AI's recommendation",
    ReportName.TIMING: "time to decision per approval step and per approver",
}
CELL_WIDTH = 40


class Tabular(Protocol):
    """What a report prints: its columns, rows and the parameters that reproduce it."""

    @property
    def columns(self) -> tuple[str, ...]: ...
    @property
    def rows(self) -> list[tuple[Any, ...]]: ...
    @property
    def parameters(self) -> dict[str, str]: ...


@dataclass(frozen=True, slots=True)
class Table:
    columns: tuple[str, ...]
    rows: list[tuple[Any, ...]]
    parameters: dict[str, str] = field(default_factory=dict)


def since_option(text: str) -> datetime | None:
    """--since as the audit filters read it: a date (from its start, UTC) or a time."""
    try:
        return parse_filter({"since": text}).since
    except InvalidFilter as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def add_filter_options(parser: argparse.ArgumentParser) -> None:
    """--since, --until, --submitter, ...: the same filters as the API's query parameters."""
    group = parser.add_argument_group("filters (as in GET /audit/events)")
    for name in FILTER_NAMES:
        group.add_argument(f"--{name.replace('_', '-')}", dest=f"filter_{name}", metavar="VALUE")


def filter_from(args: argparse.Namespace) -> AuditFilter:
    values = {name: getattr(args, f"filter_{name}") for name in FILTER_NAMES}
    return parse_filter({k: v for k, v in values.items() if v is not None})


def option_error(exc: InvalidFilter) -> int:
    from app.cli import EXIT_USAGE

    print(f"error: --{exc.field.replace('_', '-')}: {exc}", file=sys.stderr)
    return EXIT_USAGE


def _cell(value: Any) -> str:
    text = "" if value is None else str(value)
    return text if len(text) <= CELL_WIDTH else text[: CELL_WIDTH - 1] + "…"


def print_table(report: Tabular, out: TextIO) -> None:
    if report.parameters:
        print(", ".join(f"{k} {v}" for k, v in report.parameters.items()), file=out)
    cells = [[_cell(v) for v in row] for row in report.rows]
    widths = [
        max([len(column), *(len(row[i]) for row in cells)])
        for i, column in enumerate(report.columns)
    ]
    for row in [list(report.columns), *cells]:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip(), file=out)
    print(f"({len(report.rows)} row(s))", file=out)


def write_csv(report: Tabular, target: str) -> None:
    from app.domain.audit_export import csv_chunks

    chunks = csv_chunks(report.rows, report.columns)
    if target == "-":
        for chunk in chunks:
            sys.stdout.write(chunk)
        return
    with Path(target).open("w", encoding="utf-8", newline="") as out:
        for chunk in chunks:
            out.write(chunk)
    print(f"wrote {len(report.rows)} row(s) to {target}", file=sys.stderr)


def cmd_report(settings: "Settings", args: argparse.Namespace) -> int:
    from app.cli import EXIT_OK, _database
    from app.policy_loader import load_policy
    from app.services import audit_reports

    try:
        flt = filter_from(args)
        rate = parse_rate(args.rate) if args.rate else DEFAULT_SAMPLE_RATE
        seed = parse_seed(args.seed) if args.seed else secrets.token_hex(4)
    except InvalidFilter as exc:
        return option_error(exc)
    currency = load_policy(settings.policy_file).currency
    db = _database(settings)
    try:
        with db.session() as session:
            report = audit_reports.build(session, args.report, flt, currency, rate=rate, seed=seed)
    finally:
        db.dispose()
    if args.csv:
        write_csv(report, args.csv)
    else:
        print_table(report, sys.stdout)
    return EXIT_OK


def add_report_commands(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    reports = sub.add_parser("report", help="auditors' reports (also as CSV)").add_subparsers(
        dest="report_command", required=True
    )
    for name, description in REPORTS.items():
        parser = reports.add_parser(name.value, help=description, description=description)
        add_filter_options(parser)
        if name is ReportName.SAMPLE:
            parser.add_argument("--rate", help="a fraction or a percentage (default 5%%)")
            parser.add_argument(
                "--seed", help="draw the same sample again (default: a new seed, printed)"
            )
        parser.add_argument("--csv", metavar="FILE", help="write CSV to FILE (- for stdout)")
        parser.set_defaults(run=cmd_report, report=name, rate=None, seed=None)
    from app.cli_calibration import add_calibration_command

    add_calibration_command(reports)
