"""Grids of sample classes drawn with Pillow: one panel per dataset, one row per class."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from metaticket_core import DataError, FewShotDataset, Split, atomic_path

GAP, MARGIN, TITLE = 2, 8, 14
GUTTER = 128  # gray between images, distinct from both ink and paper


def sample_classes(
    dataset: FewShotDataset, name: str, *, split: Split, classes: int, examples: int, seed: int
) -> np.ndarray:
    """uint8 (classes, examples, H, W, C): the support set of one seeded episode."""
    if dataset.task_type != "classification" or len(dataset.input_shape) != 3:
        raise DataError(f"mt preview draws image datasets; {name!r} has no images to show.")
    task = next(dataset.episodes(split, ways=classes, shots=examples, queries=0, seed=seed))
    task = task.to("cpu")  # images as float, as any dataset gives them there
    x = task.support_x.reshape(classes, examples, *dataset.input_shape).numpy()
    return np.round(x * 255).astype(np.uint8).transpose(0, 1, 3, 4, 2)


def panel(images: np.ndarray, title: str, *, scale: int, mode: str) -> Image.Image:
    """One dataset's grid, scaled up without smoothing, under its title."""
    rows, cols, h, w, c = images.shape
    grid = np.full((rows * (h + GAP) - GAP, cols * (w + GAP) - GAP, c), GUTTER, np.uint8)
    for r in range(rows):
        for k in range(cols):
            grid[r * (h + GAP) : r * (h + GAP) + h, k * (w + GAP) : k * (w + GAP) + w] = images[
                r, k
            ]
    picture = Image.fromarray(grid[..., 0] if c == 1 else grid).convert(mode)
    picture = picture.resize(
        (picture.width * scale, picture.height * scale), Image.Resampling.NEAREST
    )
    out = Image.new(mode, (picture.width, picture.height + TITLE), "white")
    ImageDraw.Draw(out).text((0, 0), title, fill="black")
    out.paste(picture, (0, TITLE))
    return out


def save_preview(
    datasets: Sequence[tuple[str, FewShotDataset]],
    output: Path,
    *,
    split: Split,
    classes: int,
    examples: int,
    seed: int,
    scale: int,
) -> tuple[int, int]:
    """Write the datasets' panels side by side as a PNG (gray if every dataset is); returns its
    (width, height)."""
    samples = [
        (n, sample_classes(d, n, split=split, classes=classes, examples=examples, seed=seed))
        for n, d in datasets
    ]
    mode = "L" if all(s.shape[-1] == 1 for _, s in samples) else "RGB"
    panels = [panel(s, f"{n} ({split})", scale=scale, mode=mode) for n, s in samples]
    width = sum(p.width for p in panels) + MARGIN * (len(panels) + 1)
    height = max(p.height for p in panels) + 2 * MARGIN
    sheet = Image.new(mode, (width, height), "white")
    x = MARGIN
    for p in panels:
        sheet.paste(p, (x, MARGIN))
        x += p.width + MARGIN
    with atomic_path(output) as tmp:
        sheet.save(tmp, format="PNG", optimize=True)
    return sheet.size
