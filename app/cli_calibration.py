"""`expense-bot report calibration`: the AI's recommendations against the human decisions."""

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from app.cli_report import since_option

if TYPE_CHECKING:
    from app.domain.calibration import Judged
    from app.settings import Settings

CHARTS_HINT = "--png needs matplotlib: pip install -e '.[charts]'"


def draw_reliability(judged: "list[Judged]", target: Path) -> None:
    """Agreement with the humans against the AI's stated confidence, per bucket."""
    from matplotlib.figure import Figure

    from app.domain.calibration import by_bucket

    points = [
        (float(mean), float(agreement), n)
        for _label, n, _agreed, agreement, mean in by_bucket(judged)
        if n
    ]
    figure = Figure(figsize=(5, 5), dpi=100)
    axes = figure.add_subplot()
    axes.plot([0, 1], [0, 1], linestyle="--", color="#999999", label="perfectly calibrated")
    axes.plot([p[0] for p in points], [p[1] for p in points], marker="o", label="the AI")
    for x, y, n in points:
        axes.annotate(str(n), (x, y), textcoords="offset points", xytext=(4, -10), fontsize=8)
    axes.set(
        xlim=(0, 1),
        ylim=(0, 1),
        xlabel="AI confidence (bucket mean)",
        ylabel="share a human agreed with",
        title=f"Reliability: {len(judged)} human-decided expenses",
    )
    axes.legend(loc="upper left")
    figure.savefig(target, format="png")


def cmd_calibration(settings: "Settings", args: argparse.Namespace) -> int:
    import importlib.util

    from app.cli import EXIT_ERROR, EXIT_OK, _database
    from app.cli_report import Table, print_table
    from app.domain.calibration import BUCKET_COLUMNS, THRESHOLD_COLUMNS, by_bucket, by_threshold
    from app.policy_loader import load_policy
    from app.services.calibration import judged

    if args.png and importlib.util.find_spec("matplotlib") is None:
        print(CHARTS_HINT, file=sys.stderr)
        return EXIT_ERROR
    policy = load_policy(settings.policy_file)
    db = _database(settings)
    try:
        with db.read_only() as session:
            items = judged(session, policy, args.since)
    finally:
        db.dispose()
    print("Agreement with the human decision, per AI confidence bucket:")
    print_table(Table(BUCKET_COLUMNS, list(by_bucket(items))), sys.stdout)
    print()
    print(
        "For each threshold: AI approvals at or above it, and those a human rejected "
        f"(amounts in {policy.currency}):"
    )
    print_table(Table(THRESHOLD_COLUMNS, list(by_threshold(items))), sys.stdout)
    if args.png:
        draw_reliability(items, args.png)
        print(f"wrote the reliability chart to {args.png}", file=sys.stderr)
    return EXIT_OK


def add_calibration_command(reports: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    description = "the AI's recommendations against the human decisions, by confidence"
    parser = reports.add_parser("calibration", help=description, description=description)
    parser.add_argument(
        "--since", type=since_option, metavar="DATE", help="expenses submitted from then on"
    )
    parser.add_argument("--png", type=Path, metavar="FILE", help="draw the reliability chart")
    parser.set_defaults(run=cmd_calibration)
