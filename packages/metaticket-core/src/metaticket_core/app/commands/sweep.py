"""``mt sweep`` and ``mt report``: several seeds (and a grid) of one configuration, and the
table of their results."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from ...api.config import RunConfig, load_config
from ...api.console import console, err_console
from ...api.errors import MetaticketError
from ...api.presets import preset as get_preset
from ...engine.experiment import build
from ...engine.progress import Progress
from ...engine.runs import open_run
from ...engine.threads import check_count, check_threads, set_threads
from ..sweep_jobs import follow_parent, run_jobs
from ..sweeps import parse_grid, parse_seeds, plan, report_rows, run_sweep, sweep_runs, train_run
from .options import CONFIG_FILE, DEFAULT_RUNS_DIR, FORCE, RUNS_DIR, SETS, THREADS


def register(app: typer.Typer) -> None:
    app.command("sweep")(sweep_command)
    app.command("sweep-job", hidden=True)(sweep_job_command)
    app.command("report")(report_command)


def sweep_command(
    config_file: CONFIG_FILE = None,
    preset: Annotated[
        str | None, typer.Option(help="Start from a preset (mt list presets).")
    ] = None,
    set_: SETS = None,
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
    runs_dir: RUNS_DIR = DEFAULT_RUNS_DIR,
    jobs: Annotated[
        int,
        typer.Option(
            help="Runs at once, each in its own process with its share of the cores; a failed "
            "run is reported and the others go on."
        ),
    ] = 1,
    threads: Annotated[
        int | None,
        typer.Option(
            help="Intra-op threads of each run.",
            show_default="cores / jobs with --jobs, else torch's",
        ),
    ] = None,
) -> None:
    """Train and test one configuration over several seeds and an optional grid of values.

    Finished runs are kept and unfinished ones resumed, so re-running a sweep continues it."""
    check_count("--jobs", jobs)
    check_threads(threads)
    base = get_preset(preset) if preset else None if config_file else get_preset("demo")

    def configure(point: dict[str, Any]) -> RunConfig:
        return load_config(config_file, sets=set_, preset=base, extra=point)

    seed_list = parse_seeds(seeds)
    sweep_id = sweep_id or time.strftime("sweep-%Y%m%d-%H%M%S")
    grid_values = parse_grid(grid or [])
    failed: list[str] = []
    with Progress() as progress:
        if jobs == 1:
            set_threads(threads)
            count = len(run_sweep(configure, grid_values, seed_list, runs_dir, sweep_id, progress))
        else:
            points = plan(configure, grid_values, seed_list, runs_dir, sweep_id)
            count = len(points)
            failed = run_jobs(points, runs_dir, jobs, threads, progress)
    console.print(f"sweep [bold]{sweep_id}[/]: {count} runs; mt report {sweep_id}", highlight=False)
    if failed:
        raise MetaticketError(
            f"{len(failed)} of {count} runs failed: {', '.join(failed)} (their output: "
            f"<run>/job.log); running the same sweep again retries them."
        )


def sweep_job_command(
    run_id: Annotated[str, typer.Argument(help="The run, created by mt sweep.")],
    runs_dir: RUNS_DIR = DEFAULT_RUNS_DIR,
    threads: THREADS = None,
    parent: Annotated[
        int | None, typer.Option(help="Stop (as on Ctrl-C) when this process dies.")
    ] = None,
) -> None:
    """One run of mt sweep --jobs, in its own process: trained from its last checkpoint (or from
    the start) and tested, as mt sweep --jobs 1 trains it."""
    if parent is not None:
        follow_parent(parent)
    set_threads(threads)
    run = open_run(run_id, runs_dir)
    with Progress(plain=True) as progress:  # the parent reads these lines (sweep_jobs.py)
        train_run(build(run.config()), run, progress)


def report_command(
    ids: Annotated[list[str], typer.Argument(help="Run ids or sweep ids.")],
    markdown: Annotated[bool, typer.Option(help="Print a markdown table.")] = False,
    plot: Annotated[
        Path | None, typer.Option(help="Also draw the rows as a bar chart (PNG).")
    ] = None,
    force: FORCE = False,
    runs_dir: RUNS_DIR = DEFAULT_RUNS_DIR,
) -> None:
    """Mean ± std over seeds of the meta-test results, one row per configuration."""
    runs, pending = sweep_runs(ids, runs_dir)
    if pending:
        err_console.print(f"{len(pending)} runs not started yet: {', '.join(pending)}")
    varying, rows = report_rows(runs)
    if plot:
        from ..plots import plot_report  # matplotlib: only when asked

        console.print(f"wrote {plot_report(rows, plot, force)}", highlight=False, soft_wrap=True)
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
