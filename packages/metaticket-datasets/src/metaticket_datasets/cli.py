"""The datasets plugin's commands: ``mt preview``, a picture of sample classes so a person can
judge a dataset (or compare two), and ``mt data``, which fetches the archives that have a stable
public address and checks what a data root holds."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from metaticket_core.api.console import console

DEADLINE = 6 * 3600.0  # seconds: hours at a slow line's speed for the largest archive

data_app = typer.Typer(
    help="Download datasets that have stable public archives (checksums verified), and check a "
    "data root.",
    no_args_is_help=True,
)
NAME = Annotated[str, typer.Argument(help="Dataset name (mt data list).", show_default=False)]
ROOT = Annotated[
    Path,
    typer.Option(
        "--root",
        help="The dataset's folder: archives are unpacked here; pass it to mt train as "
        "--data-root.",
        show_default=False,
    ),
]


def register(app: typer.Typer) -> None:
    app.command("preview")(preview_command)
    app.add_typer(data_app, name="data")


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
    from metaticket_core import check_output
    from metaticket_core import datasets as registry

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


@data_app.command("list")
def data_list_command() -> None:
    """The datasets mt can download, their archives and checksum sources, and those it cannot."""
    from rich.table import Table

    from .specs import SPECS

    table = Table(title="downloadable", title_justify="left")
    table.add_column("name", style="bold cyan", no_wrap=True)
    table.add_column("archive", no_wrap=True)
    table.add_column("MD5", no_wrap=True)
    table.add_column("checksum from")
    for spec in SPECS.values():
        for archive in spec.archives:
            table.add_row(spec.name, archive.filename, archive.md5, archive.checksum_from)
    console.print(table)
    table = Table(title="not downloadable", title_justify="left")
    table.add_column("name", style="bold cyan")
    table.add_column("why, and how to get it")
    for spec in SPECS.values():
        if spec.unavailable:
            table.add_row(spec.name, spec.unavailable)
    console.print(table)


@data_app.command("download")
def data_download_command(
    name: NAME,
    root: ROOT,
    cache_dir: Annotated[
        Path | None,
        typer.Option(
            "--cache-dir",
            help="Where partial downloads wait to be resumed (default: $MT_CACHE_DIR or "
            "~/.cache/metaticket).",
        ),
    ] = None,
    deadline: Annotated[
        float,
        typer.Option(
            "--deadline",
            min=1,
            help="Seconds one archive's download may take at most, however slowly the server "
            "sends it; run the command again to resume it.",
        ),
    ] = DEADLINE,
) -> None:
    """Download NAME's archives into --root, verify their MD5 and unpack them safely.

    The layout is the one mt train --data-root reads. Run it again to resume an interrupted
    download, or to unpack an archive that was verified but not unpacked."""
    from metaticket_core import DataError, default_cache_dir

    from .fetch import check, install

    root = root.expanduser()
    downloads = (cache_dir or default_cache_dir()) / "downloads"
    spec = downloadable(name)
    for archive in spec.archives:
        status = check(archive, root)
        if status.state == "present":
            console.print(
                f"{archive.filename}: already present in {root}", highlight=False, soft_wrap=True
            )
            continue
        if status.state == "corrupt":  # say so before a long download, not after it
            raise DataError(
                f"{archive.filename} in {root} is corrupt ({status.detail}): move "
                f"{', '.join(archive.provides)} away, then run the command again."
            )
        console.print(f"{archive.filename} from {archive.url}", highlight=False, soft_wrap=True)
        install(archive, root, downloads, deadline)
    ready = f"{name} is ready: mt train --dataset {name} --data-root {root}"
    console.print(ready, highlight=False, soft_wrap=True)
    if spec.afterwards:
        console.print(f"Note: {spec.afterwards}.", highlight=False, soft_wrap=True)


@data_app.command("check")
def data_check_command(name: NAME, root: ROOT) -> None:
    """Report each of NAME's archives under --root as present, missing or corrupt.

    Exit status 1 unless all are present."""
    from metaticket_core import DataError

    from .fetch import check

    root = root.expanduser()
    statuses = [check(archive, root) for archive in downloadable(name).archives]
    for s in statuses:
        color = {"present": "green", "missing": "yellow", "corrupt": "red"}[s.state]
        console.print(
            f"{s.archive.filename}: [{color}]{s.state}[/] ({s.detail})",
            highlight=False,
            soft_wrap=True,
        )
    bad = [s for s in statuses if s.state != "present"]
    if bad:
        raise DataError(
            f"{name} in {root}: {len(bad)} of {len(statuses)} archives {' or '.join(sorted({s.state for s in bad}))}; "
            f"mt data download {name} --root {root} fetches what is missing."
        )


def downloadable(name: str):
    """The spec of a downloadable dataset; for others, why not and what to do instead."""
    from metaticket_core import DataError, UnknownNameError

    from .specs import SPECS

    spec = SPECS.get(name)
    if spec is not None and spec.unavailable:
        raise DataError(f"{name} cannot be downloaded: {spec.unavailable}.")
    if spec is None or not spec.archives:
        raise UnknownNameError(
            "downloadable dataset", name, [n for n, s in SPECS.items() if s.archives]
        )
    return spec
