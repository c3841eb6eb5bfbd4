"""``mt sweep`` and ``mt report``: several seeds (and a grid) of one configuration, and the
table of their results."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from ..config import load_config
from ..console import console, err_console
from ..presets import preset as get_preset
from ..progress import Progress
from ..runs import default_runs_dir
from ..sweeps import parse_grid, report_rows, run_sweep, sweep_runs
from .train import FORCE, RUNS_DIR


def register(app: typer.Typer) -> None:
    app.command("sweep")(sweep_command)
    app.command("report")(report_command)


def sweep_command(
    config_file: Annotated[
        Path | None, typer.Option("--config", "-c", help="YAML or JSON config file.")
    ] = None,
    preset: Annotated[
        str | None, typer.Option(help="Start from a preset (mt list presets).")
    ] = None,
    set_: Annotated[
        list[str] | None, typer.Option("--set", help="Any setting: key=value (repeatable).")
    ] = None,
    seeds: Annotated[str, typer.Option(help="Comma-separated seeds.")] = "0,1,2",
    grid: Annotated[
        list[str] | None,
        typer.Option(
            help="key=v1,v2 (repeatable): run every combination, e.g. method=maml,metaticket."
        ),
    ] = None,
    sweep_id: Annotated[
        str | None, typer.Option(help="Name of the sweep; run it again to continue it.")
    ] = None,
    runs_dir: RUNS_DIR = None,
) -> None:
    """Train and test one configuration over several seeds and an optional grid of values.

    Finished runs are kept and unfinished ones resumed, so re-running a sweep continues it."""
    runs_dir = runs_dir or default_runs_dir()
    base = get_preset(preset) if preset else {} if config_file else get_preset("demo")
    config = load_config(config_file, sets=set_, base=base)
    try:
        seed_list = [int(s) for s in seeds.split(",") if s.strip()]
    except ValueError:
        raise typer.BadParameter(f"--seeds expects integers like 0,1,2, got {seeds!r}.") from None
    sweep_id = sweep_id or time.strftime("sweep-%Y%m%d-%H%M%S")
    with Progress() as progress:
        results = run_sweep(config, parse_grid(grid or []), seed_list, runs_dir, sweep_id, progress)
    console.print(
        f"sweep [bold]{sweep_id}[/]: {len(results)} runs; mt report {sweep_id}", highlight=False
    )


def report_command(
    ids: Annotated[list[str], typer.Argument(help="Run ids or sweep ids.")],
    markdown: Annotated[bool, typer.Option(help="Print a markdown table.")] = False,
    plot: Annotated[
        Path | None, typer.Option(help="Also draw the rows as a bar chart (PNG).")
    ] = None,
    force: FORCE = False,
    runs_dir: RUNS_DIR = None,
) -> None:
    """Mean ± std over seeds of the meta-test results, one row per configuration."""
    runs, pending = sweep_runs(ids, runs_dir or default_runs_dir())
    if pending:
        err_console.print(f"{len(pending)} runs not started yet: {', '.join(pending)}")
    varying, rows = report_rows(runs)
    if plot:
        from ..plots import plot_report  # matplotlib: only when asked

        console.print(f"wrote {plot_report(rows, plot, force)}", highlight=False)
    header = ["configuration", "seeds", "meta-test (mean ± std over seeds)"]
    cells = [
        [
            r.label,
            f"{len(r.values)}" + (f" (+{r.missing} unfinished)" if r.missing else ""),
            r.text(),
        ]
        for r in rows
    ]
    if markdown:
        typer.echo("| " + " | ".join(header) + " |")
        typer.echo("|" + "---|" * len(header))
        for row in cells:
            typer.echo("| " + " | ".join(row) + " |")
        return
    table = Table(title="differs in: " + (", ".join(varying) or "seed only"), title_justify="left")
    for column in header:
        table.add_column(column)
    for row in cells:
        table.add_row(*row)
    console.print(table)
