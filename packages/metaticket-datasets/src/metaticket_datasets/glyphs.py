"""``glyphs``: procedurally generated, Omniglot-like handwritten characters (no files needed).

A class is a stroke program: 2-4 pen strokes, each one or two cubic Bezier segments (straight,
arched or S-shaped; two segments meet at a corner), heading along one of 8 directions give or
take, often starting on an earlier stroke so that characters hang together; the whole character
is then centred and scaled to fill 60-75% of the frame. An example redraws the program as another
person would: control points jittered, pen width varied, the character slightly rotated, scaled,
sheared and shifted. Strokes are drawn binary on a 105x105 canvas (Omniglot's drawing size) and
reduced to 28x28 with LANCZOS like ``omniglot``, ink 1.0 on paper 0.0.

Class c depends only on (seed, c) and example e only on (seed, c, e): changing ``classes`` or
``examples`` keeps the other glyphs unchanged. Split by class index: the first 2/3 train, the
next 1/12 val, the last 1/4 test (800 / 100 / 300 of the default 1200 classes).
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from metaticket_core import ConfigError

from .cache import cache_key, cached_arrays
from .episodes import ImageEpisodes, proportional_split
from .images import RESAMPLE, Preprocess, decode_files
from .roots import no_root
from .spec import DatasetSpec

VERSION = 2  # bump whenever the generator's output changes: old caches are then ignored
CANVAS, SIZE = 105, 28
FRACTIONS = (2 / 3, 1 / 12, 1 / 4)
_T = np.linspace(0, 1, 16)[:, None]
BEZIER = np.concatenate([(1 - _T) ** 3, 3 * (1 - _T) ** 2 * _T, 3 * (1 - _T) * _T**2, _T**3], 1)


def load(
    spec: DatasetSpec, root: Path | None, *, cache_dir: Path, seed: int, classes: int, examples: int
) -> ImageEpisodes:
    """Generated Omniglot-like handwritten characters; needs no files."""
    no_root(spec.name, root)
    for option, value, least in (
        ("seed", seed, 0),
        ("classes", classes, 3),
        ("examples", examples, 1),
    ):
        if not isinstance(value, int) or value < least:
            raise ConfigError(f"glyphs: {option} must be an integer >= {least}, got {value!r}.")
    key = cache_key(
        dataset="glyphs", version=VERSION, seed=seed, classes=classes, examples=examples
    )

    def build() -> dict[str, np.ndarray]:
        return {"images": generate(seed, classes, examples).reshape(-1, 1, SIZE, SIZE)}

    arrays, cache_file = cached_arrays(cache_dir, "glyphs", key, build)
    offsets = np.arange(classes + 1) * examples
    names = [f"glyph{c:04d}" for c in range(classes)]
    splits = {s: np.array(r) for s, r in proportional_split(classes, FRACTIONS).items()}
    facts = {
        "source": f"generated (seed {seed}, generator version {VERSION})",
        "split": spec.split,
        "preprocessing": "strokes drawn at 105x105, LANCZOS to 28x28, ink 1.0 paper 0.0",
        "cache": str(cache_file),
    }
    return ImageEpisodes(
        "glyphs", arrays["images"], offsets, names, splits, facts=facts,
        decode=functools.partial(decode_files, preprocess=Preprocess(SIZE, "L", ink=True)),
    )  # fmt: skip


def generate(seed: int, classes: int, examples: int) -> np.ndarray:
    """uint8 (classes, examples, 28, 28)."""
    out = np.empty((classes, examples, SIZE, SIZE), np.uint8)
    for c in range(classes):
        strokes = stroke_program(np.random.default_rng([seed, 0, c]))
        for e in range(examples):
            out[c, e] = draw(strokes, np.random.default_rng([seed, 1, c, e]))
    return out


def stroke_program(rng: np.random.Generator) -> list[np.ndarray]:
    """Control points of each stroke, (3 * segments + 1, 2), in the unit square."""
    strokes: list[np.ndarray] = []
    drawn: list[np.ndarray] = []
    for _ in range(rng.choice([2, 3, 4], p=[0.45, 0.4, 0.15])):
        if drawn and rng.random() < 0.55:
            on = drawn[rng.integers(len(drawn))]
            knots = [on[rng.integers(len(on))]]
        else:
            knots = [rng.uniform(0, 1, 2)]
        heading = rng.integers(8) * np.pi / 4 + rng.normal(0, 0.08)
        for segment in range(1 if rng.random() < 0.55 else 2):
            if segment:
                heading += rng.choice([-1, 1]) * rng.uniform(1.3, 2.4)
            start = knots[-1]
            step = rng.uniform(0.3, 0.6) * np.array([np.cos(heading), np.sin(heading)])
            normal = np.array([-step[1], step[0]])
            u = rng.random()
            if u < 0.45:
                bend = (0.0, 0.0)
            elif u < 0.92:
                arch = rng.choice([-1, 1]) * rng.uniform(0.2, 0.5)
                bend = (arch, arch)
            else:
                s = rng.uniform(0.3, 0.6)
                bend = (s, -s)
            knots += [
                start + step / 3 + bend[0] * normal,
                start + 2 * step / 3 + bend[1] * normal,
                start + step,
            ]
        strokes.append(np.array(knots))
        drawn.append(_curve(strokes[-1]))
    points = np.concatenate(drawn)
    lo, hi = points.min(0), points.max(0)
    scale = rng.uniform(0.6, 0.75) / max(float((hi - lo).max()), 1e-6)
    return [(s - (lo + hi) / 2) * scale + 0.5 for s in strokes]


def draw(strokes: list[np.ndarray], rng: np.random.Generator) -> np.ndarray:
    """One handwritten rendition of a stroke program: uint8 (28, 28), ink 255."""
    angle, shear = rng.normal(0, 0.15), rng.normal(0, 0.1)
    rotate = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    affine = rotate @ np.array([[1, shear], [0, 1]]) @ np.diag(rng.normal(1, 0.08, 2))
    shift = rng.normal(0, 0.05, 2)
    width = rng.uniform(4.5, 6.5)
    image = Image.new("L", (CANVAS, CANVAS), 0)
    pen = ImageDraw.Draw(image)
    for knots in strokes:
        points = _curve(knots + rng.normal(0, 0.03, knots.shape))
        points = ((points - 0.5) @ affine.T + 0.5 + shift) * CANVAS
        pen.line(points.ravel().tolist(), fill=255, width=round(width))
        r = width / 2
        for x, y in [*points[:: len(BEZIER)], points[-1]]:  # round tips and corners
            pen.ellipse([x - r, y - r, x + r, y + r], fill=255)
    return np.asarray(image.resize((SIZE, SIZE), RESAMPLE))


def _curve(knots: np.ndarray) -> np.ndarray:
    """Points along consecutive cubic Bezier segments sharing their end knots."""
    return np.concatenate([BEZIER @ knots[i : i + 4] for i in range(0, len(knots) - 1, 3)])
