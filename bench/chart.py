"""One PNG of a load run: a grid of small charts on one time axis, the load's phases shaded."""

import importlib.util
import io
import math
import sys
from pathlib import Path
from typing import Any

from bench.prometheus import Points
from bench.series import PanelData, RunShape

MATPLOTLIB_HINT = "matplotlib is needed: make bench-observability, or pip install -e '.[bench]'"
PHASE_COLOURS = {"burst": "#f6c26b", "drain": "#bbbbbb"}
SCRAPE_STEP = 1.0


def matplotlib_missing() -> bool:
    if importlib.util.find_spec("matplotlib") is None:
        print(MATPLOTLIB_HINT, file=sys.stderr)
        return True
    return False


def _with_gaps(points: Points) -> tuple[list[float], list[float]]:
    """A series absent for a while is drawn with a gap there, not a line across it."""
    xs: list[float] = []
    ys: list[float] = []
    for t, v in points:
        if xs and t - xs[-1] > 1.5 * SCRAPE_STEP:
            xs.append(math.nan)
            ys.append(math.nan)
        xs.append(t)
        ys.append(v)
    return xs, ys


def draw(data: list[PanelData], shape: RunShape, output: Path) -> None:
    """Write the grid as a palette PNG (line charts need few colours; it stays small)."""
    from matplotlib.figure import Figure
    from matplotlib.layout_engine import ConstrainedLayoutEngine
    from PIL import Image

    layout = ConstrainedLayoutEngine(rect=(0, 0, 1, 0.9), h_pad=0.08, w_pad=0.08)
    fig = Figure(figsize=(15, 11), dpi=80, layout=layout)
    fig.text(
        0.5,
        0.99,
        "Expense bot under a mixed load: what Prometheus scraped",
        ha="center",
        va="top",
        fontsize=16,
        weight="bold",
    )
    phases = ", ".join(f"{name} {seconds:.0f} s" for name, seconds in shape.phases)
    fig.text(
        0.5,
        0.96,
        f"Expenses submitted: {phases}; then a drain until every expense is decided and its "
        f"submitter told.\n{shape.setup}.\nSolid lines: Prometheus. Dashed lines: counted "
        "in the database by the benchmark, for comparison.",
        ha="center",
        va="top",
        fontsize=10,
        color="#333333",
        linespacing=1.4,
    )
    axes = fig.subplots(3, 3, sharex=True)
    for i, (ax, panel_data) in enumerate(zip(axes.flat, data, strict=True)):
        _panel(ax, panel_data, shape, bottom_row=i >= 6)
    for ax in axes[-1]:
        ax.set_xlabel("seconds since the load started")
    for ax in axes[0]:
        _phase_names(ax, shape)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    image = Image.open(buffer).convert("RGB").quantize(colors=128)
    output.parent.mkdir(parents=True, exist_ok=True)
    image.save(output, optimize=True)


def _spans(shape: RunShape) -> list[tuple[str, float, float]]:
    spans, start = [], 0.0
    for name, seconds in shape.phases:
        spans.append((name, start, start + seconds))
        start += seconds
    spans.append(("drain", shape.load_seconds, shape.end_seconds))
    return spans


def _phase_names(ax: Any, shape: RunShape) -> None:
    for name, start, end in _spans(shape):
        ax.text(
            (start + end) / 2,
            1.0,
            name,
            transform=ax.get_xaxis_transform(),
            ha="center",
            va="bottom",
            fontsize=8,
            color="#666666",
        )


def _panel(ax: Any, panel_data: PanelData, shape: RunShape, bottom_row: bool) -> None:
    panel = panel_data.panel
    for name, start, end in _spans(shape):
        if name in PHASE_COLOURS:
            ax.axvspan(start, end, color=PHASE_COLOURS[name], alpha=0.25, lw=0)
    colours: dict[str, str] = {}
    for i, line in enumerate(panel_data.lines):
        xs, ys = _with_gaps(line.points)
        sparse = len(line.points) < shape.end_seconds / 2
        colour = colours.setdefault(line.colour_key or f"#{i}", f"C{len(colours)}")
        ax.plot(
            xs,
            ys,
            lw=1.7,
            ls="--" if line.from_database else "-",
            marker="." if sparse else None,
            color=colour,
            label=line.label,
        )
    ax.set_title(panel.title, fontsize=12, loc="left", pad=14)
    ax.set_ylabel(panel.unit)
    ax.set_xlim(-2, shape.end_seconds + 1)
    ax.set_ylim(bottom=0, top=max(ax.get_ylim()[1] * 1.5, 1))  # room for the legend
    ax.grid(True, alpha=0.3)
    if not panel_data.lines:
        ax.text(0.5, 0.5, "no samples", transform=ax.transAxes, ha="center", color="#b00020")
    else:
        ax.legend(fontsize=8, loc="upper left", framealpha=0.85)
    # Under the chart, where no line can hide them: what the metric misses, then any warning.
    below = -0.22 if bottom_row else -0.03
    for text, colour in ((panel.caption, "#555555"), (panel_data.warning, "#b00020")):
        if not text:
            continue
        note = ax.text(0.0, below, text, transform=ax.transAxes, fontsize=9, color=colour, va="top")
        note.set_in_layout(True)
        below -= 0.065 * (text.count("\n") + 1)
