"""``mt runs`` and ``mt show``: what has been trained, and one run in detail."""

from __future__ import annotations

from typing import Annotated

import typer
import yaml
from rich.markup import escape
from rich.table import Table

from ...api.console import console, err_console
from ...api.errors import MetaticketError, one_line
from ...engine.runs import Run, list_runs, open_run
from .options import DEFAULT_RUNS_DIR, RUN_ID, RUNS_DIR


def register(app: typer.Typer) -> None:
    app.command("runs")(runs_command)
    app.command("show")(show_command)


def _score(value: float | None, metric: str | None) -> str:
    if value is None:
        return "-"
    return f"{100 * value:.2f}%" if metric in (None, "accuracy") else f"{value:.4f}"


def runs_command(
    pattern: Annotated[str, typer.Argument(help="fnmatch pattern on run ids.")] = "*",
    runs_dir: RUNS_DIR = DEFAULT_RUNS_DIR,
) -> None:
    """Table of runs: id, method, model, dataset, iterations done, best validation, test."""
    import fnmatch

    table = Table(title=f"runs in {runs_dir}", title_justify="left")
    # Where the terminal is too narrow the names fold onto more lines; the figures stay whole.
    for column in ("id", "method", "model", "dataset"):
        table.add_column(column, overflow="fold")
    for column in ("iterations", "best val", "test", "state"):
        table.add_column(column, no_wrap=True)
    damaged = []
    for run in list_runs(runs_dir):
        if not fnmatch.fnmatchcase(run.id, pattern):
            continue
        try:
            table.add_row(*_row(run))
        except MetaticketError as exc:  # one damaged folder must not hide the others
            table.add_row(run.id, *["-"] * 6, "[red]damaged[/]")
            damaged.append(f"{run.id}: {one_line(exc)}")
    console.print(table)
    for line in damaged:
        err_console.print(f"[red]damaged[/] {escape(line)}", soft_wrap=True, highlight=False)


def _row(run: Run) -> list[str]:
    config, status = run.config(), run.status()
    metric = status.get("val_metric")
    try:
        return [
            run.id,
            config.method,
            config.model,
            f"{config.dataset} {config.ways}w{config.shots}s",
            f"{status.get('iteration', 0)}/{config.iterations}",
            _score(status.get("best_val"), metric),
            _score(status.get("test"), metric),
            run.state(),
        ]
    except (TypeError, ValueError) as exc:  # a status.json edited to hold other types
        raise MetaticketError(f"its status.json is damaged ({exc})") from None


def show_command(run_id: RUN_ID, runs_dir: RUNS_DIR = DEFAULT_RUNS_DIR) -> None:
    """A run's configuration, status and test result."""
    run = open_run(run_id, runs_dir)
    console.rule(f"[bold]{run.id}[/]  {run.path}")
    console.print(
        yaml.safe_dump(run.config().model_dump(mode="json"), sort_keys=False).rstrip(),
        markup=False,
        highlight=False,
    )
    console.rule("status")
    console.print(
        yaml.safe_dump({**run.status(), "state": run.state()}, sort_keys=False).rstrip(),
        markup=False,
        highlight=False,
    )
    test = run.test_result()
    if test:
        console.rule("meta-test")
        console.print(yaml.safe_dump(test, sort_keys=False).rstrip(), markup=False, highlight=False)
