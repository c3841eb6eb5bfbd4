"""Episodic sampling (ImageEpisodes): shapes, labels, determinism, rotations, check()."""

import numpy as np
import pytest
import torch

from metaticket_core import ConfigError, DataError
from metaticket_datasets.episodes import ImageEpisodes, proportional_split


def toy(rotations=1, counts=(3, 3, 3, 3, 3, 3)):
    """Class c's images are filled with the value 10 * c + example index, except one marked pixel
    (value 255) at the top-left corner, so rotations are visible."""
    images = []
    for c, n in enumerate(counts):
        for e in range(n):
            image = np.full((1, 4, 4), 10 * c + e, np.uint8)
            image[0, 0, 0] = 255
            images.append(image)
    offsets = np.cumsum([0, *counts])
    splits = {"train": np.array([0, 1, 2]), "val": np.array([3, 4]), "test": np.array([5])}
    names = [f"c{c}" for c in range(len(counts))]
    return ImageEpisodes("toy", np.stack(images), offsets, names, splits, rotations=rotations)


def test_shapes_labels_and_values():
    task = next(toy().episodes("train", ways=3, shots=1, queries=2, seed=0))
    assert task.support_x.shape == (3, 1, 4, 4) and task.query_x.shape == (6, 1, 4, 4)
    assert task.support_x.dtype == torch.uint8 and task.support_y.dtype == torch.int64
    assert task.support_y.tolist() == [0, 1, 2] and task.query_y.tolist() == [0, 0, 1, 1, 2, 2]
    on_device = task.to("cpu")  # images become float where they are used
    assert on_device.support_x.dtype == torch.float32
    assert on_device.support_x.min() >= 0 and on_device.support_x.max() == 1.0
    exact = np.divide(task.query_x.numpy(), 255, dtype=np.float32)  # as numpy converted them
    assert torch.equal(on_device.query_x, torch.from_numpy(exact))
    for label, name in enumerate(task.classes):  # label i holds examples of classes[i] only
        cls = int(name[1:])
        values = task.query_x[task.query_y == label][:, 0, 1, 1].int()
        assert set(torch.round(values / 10).int().tolist()) == {cls}


def test_examples_distinct_within_a_class():
    for task in [
        next(toy().episodes("train", ways=2, shots=1, queries=2, seed=s)) for s in range(9)
    ]:
        for label in range(2):
            xs = torch.cat(
                [task.support_x[task.support_y == label], task.query_x[task.query_y == label]]
            )
            assert len(set(xs[:, 0, 1, 1].tolist())) == 3


def test_label_order_is_random():
    orders = {
        next(toy().episodes("train", ways=3, shots=1, queries=1, seed=s)).classes for s in range(30)
    }
    assert len(orders) > 3


def test_deterministic_by_seed_and_distinct_per_seed_rank_worker_split(tasks):
    ds = toy()
    base = dict(ways=2, shots=1, queries=1)
    a = tasks.take(ds, 8, split="train", seed=3, **base)
    assert tasks.same(a, tasks.take(ds, 8, split="train", seed=3, **base))
    for other in (dict(seed=4), dict(seed=3, rank=1), dict(seed=3, worker=1)):
        assert not tasks.same(a, tasks.take(ds, 8, split="train", **other, **base))


def test_rotations_are_classes_of_the_same_split():
    ds = toy(rotations=4)
    assert ds.num_classes("train") == 12 and ds.num_classes("test") == 4
    seen = set()
    for task in ds.episodes("test", ways=4, shots=1, queries=0, seed=0):
        assert all(name.startswith("c5/rot") for name in task.classes)
        for x, name in zip(task.support_x, task.classes, strict=True):
            turns = int(name[-3:]) // 90
            corner = np.rot90(np.eye(4)[0:1].T @ np.eye(4)[0:1], turns)  # where the mark went
            assert x[0].numpy()[corner == 1].item() == 255
        seen.update(task.classes)
        if len(seen) == 4:
            break
    assert seen == {f"c5/rot{r:03d}" for r in (0, 90, 180, 270)}


def test_check_names_counts():
    ds = toy(rotations=4, counts=(3, 3, 3, 3, 2, 3))
    ds.check("val", ways=8, shots=1, queries=1)
    with pytest.raises(DataError, match=r"toy val split has 8 classes \(2 x 4 rotations\); 9-way"):
        ds.check("val", ways=9, shots=1, queries=1)
    with pytest.raises(DataError, match=r"2 examples in its smallest class \(c4\).*1 \+ 2 = 3"):
        ds.episodes("val", ways=2, shots=1, queries=2, seed=0)  # fails at once, not lazily
    with pytest.raises(DataError, match="shots >= 1"):
        ds.check("train", ways=2, shots=0, queries=1)
    with pytest.raises(ConfigError, match="Unknown split 'valid'"):
        ds.check("valid", ways=2, shots=1, queries=1)


def test_proportional_split_is_consecutive_and_complete():
    parts = proportional_split(200, (0.64, 0.16, 0.20))
    assert [len(parts[s]) for s in ("train", "val", "test")] == [128, 32, 40]
    assert list(parts["train"]) + list(parts["val"]) + list(parts["test"]) == list(range(200))


def test_episodes_of_one_shape_share_their_labels_on_a_device(tasks):
    a, b = (
        t.to("meta")
        for t in tasks.take(toy(), 2, split="train", ways=3, shots=1, queries=2, seed=0)
    )
    assert a.support_y is b.support_y and a.query_y is b.query_y
