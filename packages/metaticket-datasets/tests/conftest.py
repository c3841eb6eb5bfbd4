"""Fixtures: the real plugin registered alone, tmp caches, and tiny datasets written in the exact
on-disk layouts (Omniglot's binary PNGs, Tiny-ImageNet's JPEG tree, natural-image helpers)."""

from __future__ import annotations

import io
import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image, ImageDraw

import metaticket_datasets.plugin as plugin
from metaticket_core import SPLITS, datasets
from metaticket_core.app.testing import isolated_plugins, registered_plugin

SHARED = Path(__file__).resolve().parents[3].parent / "shared"

# Omniglot fixture: 10 characters in 4 alphabets, 4 drawings each
OMNIGLOT_FIXTURE = {
    "images_background": {"Alpha": 3, "Beta": 2},
    "images_evaluation": {"Gamma": 3, "Delta": 2},
}
DRAWINGS = 4


@pytest.fixture(autouse=True)
def registry(monkeypatch, tmp_path_factory):
    """Only this package's plugin; caches under a tmp folder, never ~/.cache."""
    monkeypatch.setenv("MT_CACHE_DIR", str(tmp_path_factory.mktemp("default-cache")))
    monkeypatch.delenv("MT_DEBUG", raising=False)
    with isolated_plugins(), registered_plugin(plugin, "datasets"):
        yield datasets()


@pytest.fixture
def build():
    """Build a dataset through the registry, as the trainer does."""

    def build(name: str, root: Path | None, cache_dir: Path, **options):
        return datasets().get(name).factory(root, cache_dir=cache_dir, **options)

    return build


def write_omniglot(root: Path) -> Path:
    """Official layout: binary 105x105 PNGs, True = white paper, one black bar per drawing whose
    position identifies the character (so tests can tell characters apart)."""
    index = 0
    for image_set, alphabets in OMNIGLOT_FIXTURE.items():
        for alphabet, characters in alphabets.items():
            for c in range(1, characters + 1):
                folder = root / image_set / alphabet / f"character{c:02d}"
                folder.mkdir(parents=True)
                for d in range(1, DRAWINGS + 1):
                    image = Image.new("1", (105, 105), 1)
                    y = 5 + 9 * index
                    ImageDraw.Draw(image).rectangle([10 + d, y, 90, y + 6], fill=0)
                    image.save(folder / f"{index:04d}_{d:02d}.png")
                index += 1
    return root


def write_tiny_imagenet(root: Path, classes: int = 10, images: int = 5, size: int = 32) -> Path:
    """Tiny-ImageNet layout: wnids.txt and train/<wnid>/images/<wnid>_<k>.JPEG, one flat colour
    per class."""
    wnids = [f"n{i:08d}" for i in range(classes)]
    root.mkdir(parents=True, exist_ok=True)
    (root / "wnids.txt").write_text("\n".join(wnids) + "\n")
    for i, wnid in enumerate(wnids):
        folder = root / "train" / wnid / "images"
        folder.mkdir(parents=True)
        for k in range(images):
            colour = (20 * i, 255 - 20 * i, 10 * k)
            Image.new("RGB", (size, size), colour).save(folder / f"{wnid}_{k}.JPEG", quality=95)
    return root


@pytest.fixture
def omniglot_root(tmp_path):
    return write_omniglot(tmp_path / "omniglot")


@pytest.fixture
def tiny_imagenet_root(tmp_path):
    return write_tiny_imagenet(tmp_path / "tiny")


@pytest.fixture
def make_tiny_imagenet():
    return write_tiny_imagenet


@pytest.fixture(scope="session")
def glyph_cache(tmp_path_factory):
    """The default glyphs (1200 classes), generated once per test session."""
    from metaticket_datasets.specs import GLYPHS

    cache = tmp_path_factory.mktemp("glyph-cache")
    GLYPHS.factory()(None, cache_dir=cache)
    return cache


@pytest.fixture
def shared():
    """A path under <repo>/../shared, or a skip when this checkout has no shared data beside it."""

    def shared(*parts: str) -> Path:
        path = SHARED.joinpath(*parts)
        if not path.exists():
            pytest.skip(f"{path} is absent (real data lives in <repo>/../shared, outside the repo)")
        return path

    return shared


def take(dataset, n=5, **kwargs):
    """The first n tasks of an episode stream."""
    stream = dataset.episodes(**kwargs)
    return [next(stream) for _ in range(n)]


def same(a, b) -> bool:
    """Two task lists are identical, tensors and class names."""
    return all(
        np.array_equal(getattr(x, f).numpy(), getattr(y, f).numpy()) and x.classes == y.classes
        for x, y in zip(a, b, strict=True)
        for f in ("support_x", "support_y", "query_x", "query_y")
    )


@pytest.fixture
def tasks():
    """``tasks.take(dataset, n, split=..., ...)`` and ``tasks.same(a, b)``."""
    return SimpleNamespace(take=take, same=same)


# Natural-image benchmarks: flat-colour images whose red channel names their class, and checks of
# a loaded dataset against what was written.


def red(k: int) -> int:
    """Red level of class k's images."""
    return 10 + 12 * k


def pixels(k: int, size: int = 32, n: int = 1) -> np.ndarray:
    """n flat images (n, size, size, 3) of class k, green varying per image."""
    out = np.empty((n, size, size, 3), np.uint8)
    out[..., 0] = red(k)
    out[..., 1] = (np.arange(n) * 7 % 256)[:, None, None]
    out[..., 2] = 90
    return out


def save(path: Path, k: int, size: int = 32, fmt: str | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels(k, size)[0]).save(path, format=fmt, quality=95)
    return path


def encoded(k: int, size: int = 32) -> np.ndarray:
    """PNG bytes as a uint8 array, as tieredImageNet's pickles hold them."""
    buffer = io.BytesIO()
    Image.fromarray(pixels(k, size)[0]).save(buffer, format="PNG")
    return np.frombuffer(buffer.getvalue(), np.uint8)


def write_json(path: Path, data) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data))
    return path


def check(ds, counts, shape, red_of: dict[str, int]) -> None:
    """Classes per split, image shape and, per class name, the red level of its images."""
    assert [len(ds.splits[s]) for s in SPLITS] == list(counts)
    assert ds.input_shape == shape and ds.images.dtype == np.uint8
    for i, name in enumerate(ds.class_names):
        images = ds.images[ds.offsets[i] : ds.offsets[i + 1]]
        assert abs(float(images[:, 0].mean()) - red_of[name]) < 3, name
    task = next(ds.episodes("train", ways=2, shots=1, queries=1, seed=0))
    assert task.support_x.shape == (2, *shape) and task.to("cpu").support_x.dtype.is_floating_point


def assert_cached(monkeypatch, build):
    """Building again reads the cache: nothing is decoded or unpickled."""

    def fail(*args, **kwargs):
        raise AssertionError("decoded again instead of reading the cache")

    monkeypatch.setattr("metaticket_datasets.pipeline.decode_into", fail)
    monkeypatch.setattr("metaticket_datasets.unpickle._Restricted.load", fail)
    return build()


@pytest.fixture
def natural(monkeypatch):
    """The helpers above; ``natural.cached(build)`` asserts a build reads the cache."""
    return SimpleNamespace(
        red=red, pixels=pixels, save=save, encoded=encoded, write_json=write_json, check=check,
        cached=lambda build: assert_cached(monkeypatch, build),
    )  # fmt: skip
