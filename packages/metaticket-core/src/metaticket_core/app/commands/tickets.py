"""``mt export-mask`` and ``mt inspect``: tickets as safetensors files."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from ...api.console import console
from ...engine.runs import open_run
from ..export import describe_masks, export_mask, read_mask_file
from .options import CHECKPOINT, DEFAULT_RUNS_DIR, FORCE, LOAD_DEVICE, RUN_ID, RUNS_DIR


def register(app: typer.Typer) -> None:
    app.command("export-mask")(export_mask_command)
    app.command("inspect")(inspect_command)


def export_mask_command(
    run_id: RUN_ID,
    output: Annotated[
        Path | None,
        typer.Option("-o", "--output", help="File to write.", show_default="RUN/mask.safetensors"),
    ] = None,
    with_scores: Annotated[bool, typer.Option(help="Include the scores.")] = False,
    with_weights: Annotated[
        bool, typer.Option(help="Include phi_0 so the ticket is reproducible (mt: load_ticket).")
    ] = False,
    checkpoint: CHECKPOINT = "last",
    force: FORCE = False,
    device: LOAD_DEVICE = "auto",
    runs_dir: RUNS_DIR = DEFAULT_RUNS_DIR,
) -> None:
    """Write a Meta-ticket run's masks (0/1 per prunable weight) with metadata as safetensors."""
    run = open_run(run_id, runs_dir)
    path = output or run.path / "mask.safetensors"
    stats = export_mask(run, path, checkpoint, with_scores, with_weights, force, device)
    console.print(
        f"wrote {path} (sparsity {100 * stats['sparsity']:.2f}%)", highlight=False, soft_wrap=True
    )


def inspect_command(
    file: Annotated[Path, typer.Argument(help="A file written by mt export-mask.")],
) -> None:
    """Per-layer sparsity of an exported mask file."""
    tensors, meta = read_mask_file(file)
    config = meta["config"]
    title = (
        f"{file.name}: {meta['method']} on {meta['model']} {meta['model_options']}, "
        f"{meta['dataset']} {config.get('ways')}-way {config.get('shots')}-shot (run {meta['run_id']}, "
        f"{meta['checkpoint']} checkpoint, metaticket {meta['version']})"
    )
    table = Table(title=title, title_justify="left")
    for column in ("layer", "shape", "kept", "total", "sparsity"):
        table.add_column(column, justify="left" if column in ("layer", "shape") else "right")
    kept_all = total_all = 0
    for name, shape, kept, total in describe_masks(tensors):
        kept_all, total_all = kept_all + kept, total_all + total
        table.add_row(
            name,
            "x".join(map(str, shape)),
            f"{kept:,}",
            f"{total:,}",
            f"{100 * (1 - kept / total):.2f}%",
        )
    table.add_section()
    table.add_row(
        "total", "", f"{kept_all:,}", f"{total_all:,}", f"{100 * (1 - kept_all / total_all):.2f}%"
    )
    console.print(table)
    extras = sorted({k.split("/", 1)[0] for k in tensors} - {"mask"})
    console.print(f"also contains: {', '.join(extras) or 'masks only'}", highlight=False)
