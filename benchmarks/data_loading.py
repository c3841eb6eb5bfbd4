"""Data loading speed: first (decoding) and cached load, and episodes per second.

    .venv/bin/python benchmarks/data_loading.py [DATA_DIR]

DATA_DIR holds ``omniglot/`` and ``tiny-imagenet-32/`` (default: <repo>/../shared/data); a
missing dataset is reported and skipped. First loads use a fresh temporary cache, so they decode
every image. Also prints the nearest-centroid 5-way 1-shot accuracy on raw pixels, the check that
the generated glyphs are about as hard as Omniglot (chance is 20%).
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from metaticket_datasets.specs import SPECS

DEFAULT_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def timed(load, *args, **kwargs):
    start = time.perf_counter()
    result = load(*args, **kwargs)
    return result, time.perf_counter() - start


def episodes_per_second(dataset, seconds: float = 2.0) -> float:
    stream = dataset.episodes("train", ways=5, shots=5, queries=15, seed=0)
    next(stream)
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        next(stream)
        count += 1
    return count / (time.perf_counter() - start)


def nearest_centroid(dataset, episodes: int = 500) -> float:
    """5-way 1-shot accuracy of the nearest support image (raw pixels, Euclidean), test split."""
    stream = dataset.episodes("test", ways=5, shots=1, queries=15, seed=0)
    hits = []
    for _ in range(episodes):
        task = next(stream).to("cpu")  # images as float
        predicted = torch.cdist(task.query_x.flatten(1), task.support_x.flatten(1)).argmin(1)
        hits.append((predicted == task.query_y).float().mean().item())
    return float(np.mean(hits))


def main() -> None:
    data = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_DATA
    sources = {
        "omniglot": (SPECS["omniglot"].factory(), data / "omniglot"),
        "tiny-imagenet": (SPECS["tiny-imagenet"].factory(), data / "tiny-imagenet-32"),
        "glyphs": (SPECS["glyphs"].factory(), None),
    }
    rows = []
    with tempfile.TemporaryDirectory() as cache:
        for name, (load, root) in sources.items():
            if root is not None and not root.is_dir():
                print(f"{name}: skipped, {root} is absent")
                continue
            _, first = timed(load, root, cache_dir=Path(cache))
            dataset, cached = timed(load, root, cache_dir=Path(cache))
            accuracy = nearest_centroid(dataset) if dataset.input_shape[0] == 1 else None
            rows.append((name, first, cached, episodes_per_second(dataset), accuracy))
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; episodes: 5-way 5-shot "
          "15-query, train split; NC: nearest-centroid 5-way 1-shot accuracy, test split")  # fmt: skip
    print(f"{'dataset':<14} {'first load s':>12} {'cached s':>9} {'episodes/s':>11} {'NC 5w1s':>8}")
    for name, first, cached, rate, accuracy in rows:
        nc = f"{accuracy:.1%}" if accuracy is not None else "-"
        print(f"{name:<14} {first:>12.2f} {cached:>9.2f} {rate:>11.0f} {nc:>8}")


if __name__ == "__main__":
    main()
