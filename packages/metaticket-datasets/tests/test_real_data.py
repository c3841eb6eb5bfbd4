"""The real copies in <repo>/../shared (skipped where absent). Cheap: decoding is limited to a
few classes linked into a tmp folder in the same layout; the split checks only list files."""

import numpy as np

from metaticket_core import SPLITS
from metaticket_datasets import omniglot
from metaticket_datasets.splitfiles import read_omniglot_split


def link(source, target, parts):
    """``target`` laid out like ``source`` but holding only ``parts`` (symlinked folders)."""
    for part in parts:
        (target / part).parent.mkdir(parents=True, exist_ok=True)
        (target / part).symlink_to(source / part, target_is_directory=True)
    return target


def test_real_omniglot_listing(shared):
    characters = omniglot.list_characters(omniglot.find_root(shared("data", "omniglot")))
    assert len(characters) == 1623
    assert sum(len(pngs) for _, _, pngs in characters) == 32460
    assert sum(s == 0 for _, s, _ in characters) == 964


def test_real_omniglot_decodes(shared, tmp_path, build, tasks):
    source = shared("data", "omniglot")
    root = link(source, tmp_path / "omniglot-py", [
        "images_background/Latin", "images_background/Greek", "images_evaluation/Tengwar",
    ])  # fmt: skip
    ds = build("omniglot", tmp_path, tmp_path / "cache", split="background")
    assert ds.images.shape == (len(ds.class_names) * 20, 1, 28, 28) and root.is_dir()
    ink = ds.images / 255.0
    assert 0.04 < ink.mean() < 0.15 and ink[:, 0, 0, 0].max() < 0.05  # paper 0, ink 1
    batch = tasks.take(ds, 3, split="train", ways=5, shots=5, queries=15, seed=0)
    assert batch[0].query_x.shape == (75, 1, 28, 28)
    assert all(
        "/rot" in name and name.split("/")[0] in {"Latin", "Greek"} for name in batch[0].classes
    )


def test_vinyals_split_files_match_builtin_test_set(shared):
    names = [name for name, _, _ in omniglot.list_characters(shared("data", "omniglot"))]
    builtin = omniglot.vinyals_split(len(names))
    for path in (shared("splits", "omniglot"), shared("splits", "omniglot", "torchmeta")):
        parts = read_omniglot_split(path, names)
        assert [len(parts[s]) for s in SPLITS] == [1028, 172, 423]
        assert set(parts["test"].tolist()) == set(builtin["test"].tolist())
        assert len(np.unique(np.concatenate(list(parts.values())))) == 1623
    txt = read_omniglot_split(shared("splits", "omniglot", "val.txt"), names)
    assert set(txt["val"].tolist()) == set(parts["val"].tolist())  # txt and json agree


def test_real_tiny_imagenet(shared, tmp_path, build):
    source = shared("data", "tiny-imagenet-32")
    wnids = (source / "wnids.txt").read_text().split()[:10]
    link(source, tmp_path / "tiny", [f"train/{w}" for w in wnids])
    (tmp_path / "tiny" / "wnids.txt").write_text("\n".join(wnids))
    ds = build("tiny-imagenet", tmp_path / "tiny", tmp_path / "cache")
    assert ds.images.shape == (1000, 3, 32, 32) and ds.images.std() > 20
    task = next(ds.episodes("train", ways=5, shots=5, queries=15, seed=0))
    assert task.query_x.shape == (75, 3, 32, 32) and set(task.classes) <= set(wnids[:6])
