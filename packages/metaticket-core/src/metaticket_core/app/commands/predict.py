"""``mt predict``: adapt a trained run to your own few-shot task and label query images."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from ...api.console import console
from ...api.errors import DataError
from ...engine.runs import open_run
from ...engine.threads import set_threads
from ..inference import Predictor
from .options import (
    CHECKPOINT,
    DEFAULT_RUNS_DIR,
    JSON_OUT,
    LOAD_DEVICE,
    RUN_ID,
    RUNS_DIR,
    THREADS,
)

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp"}


def register(app: typer.Typer) -> None:
    app.command("predict")(predict_command)


def _images(folder: Path) -> list[Path]:
    """The image files of ``folder``: regular files only (opening a FIFO would block forever)."""
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())


def support_folders(root: Path) -> dict[str, list[Path]]:
    """``root/<class>/<image>`` as {class: [images]}; a clear error for any other layout."""
    expected = "expected one sub-folder per class, each holding that class's images"
    if not root.is_dir():
        raise DataError(f"Support folder {str(root)!r} does not exist ({expected}).")
    classes = {d.name: _images(d) for d in sorted(root.iterdir()) if d.is_dir()}
    empty = [name for name, files in classes.items() if not files]
    if not classes or empty:
        what = f"empty class folders: {', '.join(empty)}" if empty else "no class folders"
        raise DataError(f"Support folder {str(root)!r} has {what} ({expected}).")
    return classes


def query_paths(paths: list[Path]) -> list[Path]:
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(_images(path))
        elif path.is_file():
            found.append(path)
        elif path.exists():
            raise DataError(
                f"Query {str(path)!r} is not a regular file or folder (give image files or "
                f"folders)."
            )
        else:
            raise DataError(f"Query {str(path)!r} does not exist (give image files or folders).")
    if not found:
        raise DataError("No query images found in " + ", ".join(map(str, paths)) + ".")
    return found


def predict_command(
    run_id: RUN_ID,
    support: Annotated[Path, typer.Option(help="Folder with one sub-folder of images per class.")],
    query: Annotated[list[Path], typer.Option(help="Query image or folder (repeatable).")],
    steps: Annotated[
        int | None,
        typer.Option(min=0, max=10_000, help="Adaptation steps.", show_default="the run's"),
    ] = None,
    checkpoint: CHECKPOINT = "last",
    device: LOAD_DEVICE = "auto",
    runs_dir: RUNS_DIR = DEFAULT_RUNS_DIR,
    threads: THREADS = None,
    json_out: JSON_OUT = False,
) -> None:
    """Adapt a trained run on labelled support images, then label each query image."""
    set_threads(threads)
    run = open_run(run_id, runs_dir)
    classes = support_folders(support)
    queries = query_paths(query)
    predictor = Predictor.from_run(run, checkpoint, steps, device)
    predictor.fit_images(classes)
    predictions = predictor.predict_images(queries)
    if json_out:
        typer.echo(json.dumps([
            {"query": str(p), "class": c, "probability": prob}
            for p, (c, prob) in zip(queries, predictions, strict=True)
        ]))  # fmt: skip
        return
    table = Table(title=f"{run.id} adapted on {support}", title_justify="left")
    for column in ("query", "class", "probability"):
        table.add_column(column)
    for path, (name, prob) in zip(queries, predictions, strict=True):
        table.add_row(str(path), name, f"{prob:.3f}")
    console.print(table)
