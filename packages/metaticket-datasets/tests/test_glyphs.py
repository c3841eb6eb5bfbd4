"""The generated default: deterministic, Omniglot-like, learnable but not trivial."""

import numpy as np
import pytest
import torch

from metaticket_core import ConfigError, DataError
from metaticket_datasets import glyphs


def nearest_centroid_accuracy(dataset, split, episodes=300, ways=5, shots=1):
    """Mean query accuracy of the nearest class mean in raw pixel space."""
    correct = []
    stream = dataset.episodes(split, ways=ways, shots=shots, queries=15, seed=0)
    for _, episode in zip(range(episodes), stream, strict=False):
        task = episode.to("cpu")  # images as float
        centroids = task.support_x.flatten(1).reshape(ways, shots, -1).mean(1)
        predicted = torch.cdist(task.query_x.flatten(1), centroids).argmin(1)
        correct.append((predicted == task.query_y).float().mean().item())
    return float(np.mean(correct))


def test_default_is_learnable_but_not_trivial(glyph_cache, build):
    ds = build("glyphs", None, glyph_cache)
    assert [ds.num_classes(s) for s in ("train", "val", "test")] == [800, 100, 300]
    assert ds.images.shape == (24000, 1, 28, 28)
    accuracy = nearest_centroid_accuracy(ds, "test")
    assert 0.35 < accuracy < 0.8, accuracy  # Omniglot: about 0.45; chance 0.2
    ink = ds.images.mean() / 255
    assert 0.04 < ink < 0.12  # like Omniglot's 0.08 at 28x28


def test_deterministic_and_independent_of_counts():
    a = glyphs.generate(0, 4, 3)
    assert np.array_equal(a, glyphs.generate(0, 4, 3))
    assert np.array_equal(a[:2, :2], glyphs.generate(0, 2, 2))
    assert not np.array_equal(a, glyphs.generate(1, 4, 3))
    assert not np.array_equal(a[0, 0], a[0, 1])  # examples differ


def test_options_and_cache(tmp_path, build, tasks):
    ds = build("glyphs", None, tmp_path, classes=12, examples=4, seed=5)
    assert [ds.num_classes(s) for s in ("train", "val", "test")] == [8, 1, 3]
    again = build("glyphs", None, tmp_path, classes=12, examples=4, seed=5)
    kwargs = dict(split="train", ways=3, shots=1, queries=3, seed=0)
    assert tasks.same(tasks.take(ds, **kwargs), tasks.take(again, **kwargs))
    assert len(list(tmp_path.glob("glyphs-*.npz"))) == 1


def test_bad_input(tmp_path, build):
    with pytest.raises(
        DataError, match=r"'glyphs' is generated and reads no files.*drop --data-root"
    ):
        build("glyphs", tmp_path, tmp_path)
    with pytest.raises(ConfigError, match="Did you mean 'classes'"):
        build("glyphs", None, tmp_path, clases=10)
    with pytest.raises(ConfigError, match="examples must be an integer >= 1"):
        build("glyphs", None, tmp_path, examples=0)


def test_user_images_are_preprocessed_like_the_dataset(tmp_path, build):
    """A glyph saved as a dark-on-light PNG comes back as the same bright-ink example."""
    from PIL import Image

    ds = build("glyphs", None, tmp_path, classes=3, examples=2)
    example = ds.images[0, 0]  # uint8, ink bright
    Image.fromarray(255 - example).save(tmp_path / "drawn.png")
    loaded = ds.load_images([tmp_path / "drawn.png"])
    assert loaded.shape == (1, 1, 28, 28) and loaded.dtype == torch.float32
    assert torch.allclose(loaded[0, 0], torch.from_numpy(example).float() / 255)
