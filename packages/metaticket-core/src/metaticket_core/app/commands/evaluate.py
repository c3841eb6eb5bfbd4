"""``mt test`` and ``mt cross-test``: meta-test a trained run, on its dataset or others."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from ...api.console import console
from ...engine.evaluation import evaluate
from ...engine.progress import Progress
from ...engine.runs import open_run
from ...engine.threads import set_threads
from ..inference import load_experiment
from .options import (
    CHECKPOINT,
    DEFAULT_RUNS_DIR,
    EPISODES,
    JSON_OUT,
    LOAD_DEVICE,
    PRECISION,
    RUN_ID,
    RUNS_DIR,
    THREADS,
)


def register(app: typer.Typer) -> None:
    app.command("test")(test_command)
    app.command("cross-test")(cross_test_command)


def _meta_test(run, which, episodes, progress, device, **changes):
    x = load_experiment(run, which, device, **changes)
    n = x.config.test_episodes if episodes is None else episodes
    return evaluate(x.learner, x.dataset, x.config, "test", n, x.device, progress)


def test_command(
    run_id: RUN_ID,
    episodes: EPISODES = None,
    dataset: Annotated[str | None, typer.Option(help="Test on another dataset.")] = None,
    data_root: Annotated[Path | None, typer.Option(help="Its folder on disk.")] = None,
    checkpoint: CHECKPOINT = "last",
    precision: PRECISION = None,
    device: LOAD_DEVICE = "auto",
    runs_dir: RUNS_DIR = DEFAULT_RUNS_DIR,
    threads: THREADS = None,
    json_out: JSON_OUT = False,
) -> None:
    """Meta-test a run on fixed test episodes: mean accuracy (or MSE) with its 95% CI."""
    set_threads(threads)
    run = open_run(run_id, runs_dir)
    chosen = {"dataset": dataset, "data_root": data_root, "precision": precision}
    changes = {k: v for k, v in chosen.items() if v}
    if dataset and not data_root:
        changes["data_root"] = None
    with Progress() as progress:
        result = _meta_test(run, checkpoint, episodes, progress, device, **changes)
    if json_out:
        typer.echo(json.dumps({"run_id": run.id, "checkpoint": checkpoint, **result.as_dict()}))
    else:
        console.print(f"{run.id}: meta-test {result.summary()}", highlight=False)


def cross_test_command(
    run_id: RUN_ID,
    dataset: Annotated[
        list[str],
        typer.Option(help="NAME or NAME=ROOT, repeatable: one table row each."),
    ],
    episodes: EPISODES = None,
    checkpoint: CHECKPOINT = "last",
    device: LOAD_DEVICE = "auto",
    runs_dir: RUNS_DIR = DEFAULT_RUNS_DIR,
    threads: THREADS = None,
    json_out: JSON_OUT = False,
) -> None:
    """Meta-test one run on several datasets: the paper's cross-domain table."""
    set_threads(threads)
    run = open_run(run_id, runs_dir)
    rows = []
    with Progress() as progress:
        for item in dataset:
            name, _, root = item.partition("=")
            result = _meta_test(
                run, checkpoint, episodes, progress, device, dataset=name, data_root=root or None
            )
            rows.append((name, result))
    if json_out:
        typer.echo(json.dumps({name: r.as_dict() for name, r in rows}))
        return
    config = run.config()
    table = Table(title=f"{run.id}: {config.method} on {config.model}, trained on {config.dataset}")
    for column in ("meta-test dataset", "result", "95% CI", "episodes"):
        table.add_column(column)
    for name, r in rows:
        scale, unit = (100, "%") if r.metric == "accuracy" else (1, "")
        table.add_row(
            name, f"{scale * r.mean:.2f}{unit}", f"± {scale * r.ci95:.2f}{unit}", str(r.episodes)
        )
    console.print(table)
