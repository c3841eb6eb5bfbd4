"""``mt preview``: a picture of sample classes, so a person can judge a dataset (or compare two)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from metaticket_core.console import console


def register(app: typer.Typer) -> None:
    app.command("preview")(preview_command)


def preview_command(
    datasets: Annotated[
        list[str],
        typer.Argument(
            help="Datasets side by side, each NAME or NAME=ROOT, e.g. glyphs omniglot=data/omniglot.",
            show_default=False,
        ),
    ],
    data_root: Annotated[
        Path | None,
        typer.Option("--data-root", help="Data folder for every dataset given without =ROOT."),
    ] = None,
    classes: Annotated[int, typer.Option("--classes", min=1, help="Classes (rows) each.")] = 8,
    examples: Annotated[int, typer.Option("--examples", min=1, help="Examples per class.")] = 8,
    split: Annotated[str, typer.Option("--split", help="train, val or test.")] = "train",
    seed: Annotated[int, typer.Option("--seed", min=0, help="Which classes and examples.")] = 0,
    scale: Annotated[int, typer.Option("--scale", min=1, help="Screen pixels per pixel.")] = 2,
    cache_dir: Annotated[
        Path | None,
        typer.Option(
            "--cache-dir",
            help="Decoded-data cache (default: $MT_CACHE_DIR or ~/.cache/metaticket).",
        ),
    ] = None,
    output: Annotated[Path, typer.Option("--output", "-o", help="PNG file to write.")] = Path(
        "preview.png"
    ),
    force: Annotated[bool, typer.Option("--force", help="Replace an existing file.")] = False,
) -> None:
    """Save a PNG grid of sample classes (one row each) of image datasets, side by side, as the
    model sees them (ink bright on dark paper for Omniglot-like data)."""
    from metaticket_core.files import check_output
    from metaticket_core.registry import datasets as registry

    from .preview import save_preview

    check_output(output, force)
    panels = []
    for spec in datasets:
        name, _, root = spec.partition("=")
        dataset = (
            registry().get(name).factory(Path(root) if root else data_root, cache_dir=cache_dir)
        )
        panels.append((name, dataset))
    size = save_preview(
        panels, output, split=split, classes=classes, examples=examples, seed=seed, scale=scale
    )
    console.print(f"Saved {output} ({size[0]}x{size[1]} pixels, {split} split).")
