"""``mt plot``: a run's plots as PNG files."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ..console import console
from ..plots import plot_run
from ..runs import default_runs_dir, open_run
from .evaluate import RUN_ID
from .train import RUNS_DIR


def register(app: typer.Typer) -> None:
    app.command("plot")(plot_command)


def plot_command(
    run_id: RUN_ID,
    output: Annotated[
        Path | None,
        typer.Option("-o", "--output", help="Folder for the PNGs.", show_default="RUN/plots"),
    ] = None,
    runs_dir: RUNS_DIR = None,
) -> None:
    """Learning curves, per-layer sparsity, inner-loop gradients and first-layer masks."""
    run = open_run(run_id, runs_dir or default_runs_dir())
    for path in plot_run(run, output or run.path / "plots"):
        console.print(f"wrote {path}", highlight=False)
