"""``mt plot``: a run's plots, or several runs compared, as PNG files."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ...api.console import console
from ...engine.runs import open_run
from .options import DEFAULT_RUNS_DIR, RUNS_DIR


def register(app: typer.Typer) -> None:
    app.command("plot")(plot_command)


def plot_command(
    run_ids: Annotated[
        list[str], typer.Argument(help="One run, or several to compare.", metavar="RUN_ID...")
    ],
    output: Annotated[
        Path | None,
        typer.Option(
            "-o", "--output", help="Folder for the PNGs.", show_default="RUN/plots, or ./plots"
        ),
    ] = None,
    runs_dir: RUNS_DIR = DEFAULT_RUNS_DIR,
) -> None:
    """Learning curves, per-layer sparsity, inner-loop gradients and first-layer masks of a run;
    with several runs, their validation curves and inner-loop gradients side by side."""
    from ..plots import plot_comparison, plot_run  # matplotlib: half a second, only when asked

    runs = [open_run(r, runs_dir) for r in run_ids]
    if len(runs) == 1:
        written = plot_run(runs[0], output or runs[0].path / "plots")
    else:
        written = plot_comparison(runs, output or Path("plots"))
    for path in written:
        console.print(f"wrote {path}", highlight=False, soft_wrap=True)
