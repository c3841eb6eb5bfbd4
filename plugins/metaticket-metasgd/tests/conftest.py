"""The plugin's tests see core and this plugin only, registered inline: they pass with core
alone installed (nox session ``plugin``) as well as in the full dev environment."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from metaticket_core.app.testing import isolated_plugins, registered_plugin
from metaticket_metasgd import plugin


@pytest.fixture(autouse=True)
def _isolated(monkeypatch):
    monkeypatch.delenv("MT_DISABLE_PLUGINS", raising=False)
    with isolated_plugins() as pm:
        yield pm


@pytest.fixture
def metasgd_plugin():
    with registered_plugin(plugin, "metasgd") as registered:
        yield registered


def write_image_folder(root: Path, classes: int = 4, images: int = 4, size: int = 10) -> Path:
    """``classes`` classes per split, each with ``images`` small PNGs of a class-specific
    pattern (gray and RGB mixed, odd sizes: the loader converts and resizes)."""
    rng = np.random.default_rng(0)
    split = {s: [f"{s}-{c}" for c in range(classes)] for s in ("train", "val", "test")}
    for i, name in enumerate(n for names in split.values() for n in names):
        (root / name).mkdir(parents=True)
        base = rng.integers(0, 256, (size, size, 3), dtype=np.uint8)
        for k in range(images):
            noisy = np.clip(base + rng.integers(-20, 20, base.shape), 0, 255).astype(np.uint8)
            image = Image.fromarray(noisy) if i % 2 else Image.fromarray(noisy[..., 0])
            image.resize((size + k, size)).save(root / name / f"img{k}.png")
    (root / "split.json").write_text(json.dumps(split))
    return root


@pytest.fixture
def make_image_folder():
    return write_image_folder


@pytest.fixture
def image_root(tmp_path) -> Path:
    return write_image_folder(tmp_path / "images")
