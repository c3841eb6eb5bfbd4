"""Omniglot from its official layout (a tiny fixture in the exact format)."""

import json

import numpy as np
import pytest

from metaticket_core import SPLITS, ConfigError, DataError
from metaticket_datasets import omniglot


def split_names(ds):
    return {s: {ds.class_names[i] for i in ds.splits[s]} for s in SPLITS}


def test_reads_layout_resizes_and_inverts(omniglot_root, tmp_path, build):
    ds = build("omniglot", omniglot_root, tmp_path)
    assert ds.input_shape == (1, 28, 28) and ds.images.dtype == np.uint8
    assert len(ds.class_names) == 10 and ds.counts.tolist() == [4] * 10
    assert ds.class_names[:3] == ["Alpha/character01", "Alpha/character02", "Alpha/character03"]
    assert ds.class_names[5:7] == ["Delta/character01", "Delta/character02"]  # evaluation, sorted
    first = ds.images[0, 0] / 255  # paper 0, the black bar becomes ink 1
    assert first[0, 0] == 0 and first.max() == 1.0 and 0.02 < first.mean() < 0.2
    task = next(ds.episodes("train", ways=2, shots=1, queries=3, seed=0))
    assert task.support_x.shape == (2, 1, 28, 28) and task.query_x.shape == (6, 1, 28, 28)
    assert set(task.query_y.tolist()) == {0, 1}


def test_vinyals_rule_and_rotations(omniglot_root, tmp_path, build):
    ds = build("omniglot", omniglot_root, tmp_path)
    names = split_names(ds)
    assert [len(names[s]) for s in SPLITS] == [6, 1, 3]  # 1028/172/423 of 10, rounded
    assert names["test"] == {f"Gamma/character0{c}" for c in (1, 2, 3)}  # the last characters
    assert set().union(*names.values()) == set(ds.class_names)
    assert ds.num_classes("train") == 24 and ds.rotations == 4
    flat = build("omniglot", omniglot_root, tmp_path, rotations=False)
    assert flat.num_classes("train") == 6 and split_names(flat) == names


def test_background_rule(omniglot_root, tmp_path, build):
    names = split_names(build("omniglot", omniglot_root, tmp_path, split="background"))
    assert {n.split("/")[0] for n in names["train"]} == {"Alpha", "Beta"}
    assert {n.split("/")[0] for n in names["val"]} == {"Delta"}  # evaluation alphabets sorted:
    assert {n.split("/")[0] for n in names["test"]} == {"Gamma"}  # Delta val, Gamma test


def test_splits_disjoint_and_rotations_stay(omniglot_root, tmp_path, build):
    ds = build("omniglot", omniglot_root, tmp_path)
    seen = {s: set() for s in SPLITS}
    for split in SPLITS:
        for _, task in zip(
            range(20), ds.episodes(split, ways=3, shots=1, queries=1, seed=1), strict=False
        ):
            seen[split] |= {name.rsplit("/", 1)[0] for name in task.classes}
    assert not (
        seen["train"] & seen["val"] or seen["train"] & seen["test"] or seen["val"] & seen["test"]
    )


def test_layout_variants(omniglot_root, tmp_path, build):
    nested = tmp_path / "torchvision"
    nested.mkdir()
    omniglot_root.rename(nested / "omniglot-py")
    assert len(build("omniglot", nested, tmp_path / "c").class_names) == 10
    one_set = nested / "omniglot-py" / "images_background"  # pointed at one image set
    assert len(build("omniglot", one_set, tmp_path / "c").class_names) == 10


def test_deterministic(omniglot_root, tmp_path, build, tasks):
    a, b = (
        tasks.take(build("omniglot", omniglot_root, tmp_path), split="train", ways=3, shots=1,
                   queries=2, seed=7)
        for _ in range(2)
    )  # fmt: skip
    assert tasks.same(a, b)


@pytest.mark.parametrize("fmt", ["txt", "json", "folder"])
def test_split_file(omniglot_root, tmp_path, build, fmt):
    chosen = {"train": ["Alpha/character01", "Beta/character02"], "val": ["Gamma/character01"],
              "test": ["Delta/character01", "Delta/character02"]}  # fmt: skip
    folder = tmp_path / "splits"
    folder.mkdir()
    for split, names in chosen.items():
        if fmt == "json":
            by_alphabet = {}
            for name in names:
                by_alphabet.setdefault(name.split("/")[0], []).append(name.split("/")[1])
            (folder / f"{split}.json").write_text(json.dumps({"background": by_alphabet}))
        else:
            lines = [f"{n}/rot{r:03d}" for n in names for r in (0, 90, 180, 270)]
            (folder / f"{split}.txt").write_text("\n".join(lines) + "\n")
    path = folder if fmt == "folder" else folder / f"val.{fmt}"
    ds = build("omniglot", omniglot_root, tmp_path, split_file=path)
    assert split_names(ds) == {s: set(n) for s, n in chosen.items()}
    assert ds.describe()["split"] == f"from {path}"


def test_split_file_errors(omniglot_root, tmp_path, build):
    folder = tmp_path / "splits"
    folder.mkdir()
    with pytest.raises(DataError, match=r"No Omniglot split files at .*splits: expected train.txt"):
        build("omniglot", omniglot_root, tmp_path, split_file=folder)
    for split, line in [("train", "Alpha/character01/rot000"), ("val", "Alpha/character01/rot090"),
                        ("test", "Delta/character01/rot000")]:  # fmt: skip
        (folder / f"{split}.txt").write_text(line + "\n")
    with pytest.raises(DataError, match=r"val.txt:1: character 'Alpha/character01' is in both"):
        build("omniglot", omniglot_root, tmp_path, split_file=folder)
    (folder / "val.txt").write_text("Klingon/character01/rot000\n")
    with pytest.raises(DataError, match=r"val.txt:1: character 'Klingon/character01' is not in"):
        build("omniglot", omniglot_root, tmp_path, split_file=folder)


def test_missing_or_wrong_root(tmp_path, build):
    with pytest.raises(DataError, match="'omniglot' reads files: --data-root is required"):
        build("omniglot", None, tmp_path)
    with pytest.raises(DataError, match=r"Data root .*nowhere does not exist.*images_background"):
        build("omniglot", tmp_path / "nowhere", tmp_path)
    (tmp_path / "images_background").mkdir()
    with pytest.raises(DataError, match=r"holds only .*images_background of Omniglot: both "
                       r"images_background/ and images_evaluation/ are needed"):  # fmt: skip
        build("omniglot", tmp_path, tmp_path)


def test_empty_folders(omniglot_root, tmp_path, build):
    empty = omniglot_root / "images_evaluation" / "Gamma" / "character04"
    empty.mkdir()
    with pytest.raises(DataError, match=f"No PNG images in {empty}"):
        build("omniglot", omniglot_root, tmp_path)
    empty.rmdir()
    for folder in (omniglot_root / "images_evaluation").iterdir():
        for character in folder.iterdir():
            for png in character.iterdir():
                png.unlink()
            character.rmdir()
    with pytest.raises(DataError, match=r"No characters in .*images_evaluation"):
        build("omniglot", omniglot_root, tmp_path)


def test_corrupt_image_is_named(omniglot_root, tmp_path, build):
    bad = next((omniglot_root / "images_background" / "Beta" / "character02").glob("*.png"))
    bad.write_bytes(bad.read_bytes()[:40])
    with pytest.raises(DataError, match=f"Cannot decode image {bad}"):
        build("omniglot", omniglot_root, tmp_path)


def test_bad_options(omniglot_root, tmp_path, build):
    with pytest.raises(ConfigError, match=r"Unknown option 'rotation' for dataset 'omniglot'. "
                       r"Did you mean 'rotations'\?"):  # fmt: skip
        build("omniglot", omniglot_root, tmp_path, rotation=False)
    with pytest.raises(
        ConfigError, match=r"Unknown omniglot split 'vinyal'. Did you mean 'vinyals'"
    ):
        build("omniglot", omniglot_root, tmp_path, split="vinyal")
    with pytest.raises(ConfigError, match="size must be a positive integer"):
        build("omniglot", omniglot_root, tmp_path, size="28")
    with pytest.raises(ConfigError, match="rotations must be true or false, got 'no'"):
        build("omniglot", omniglot_root, tmp_path, rotations="no")
    with pytest.raises(ConfigError, match="split_file replaces the built-in split"):
        build("omniglot", omniglot_root, tmp_path, split="background", split_file=tmp_path)


def test_too_few_classes_or_examples(omniglot_root, tmp_path, build):
    ds = build("omniglot", omniglot_root, tmp_path)
    with pytest.raises(DataError, match=r"omniglot val split has 4 classes \(1 x 4 rotations\)"):
        ds.check("val", ways=5, shots=1, queries=1)
    with pytest.raises(DataError, match=r"4 examples in its smallest class.*1 \+ 5 = 6"):
        ds.check("train", ways=5, shots=1, queries=5)


def test_vinyals_rule_sizes():
    parts = omniglot.vinyals_split(1623)
    assert [len(parts[s]) for s in SPLITS] == [1028, 172, 423]
    assert parts["test"].tolist() == list(range(1200, 1623))
    assert sorted(np.concatenate(list(parts.values())).tolist()) == list(range(1623))
