"""The standard split files in <repo>/../shared/splits, parsed and counted (skipped where absent),
and malformed or missing split files."""

import hashlib
import json

import pytest

from metaticket_core import SPLITS, DataError
from metaticket_datasets.specs import OMNIGLOT, OMNIGLOT_SPLIT
from metaticket_datasets.splitfiles import assign, read_class_split

COUNTS = [
    ("cifar-fs/r2d2", (64, 16, 20)),
    ("cifar-fs/torchmeta_val.json", (64, 16, 20)),
    ("fc100/torchmeta_train.json", (12, 4, 4)),
    ("fc100/DERIVED_fc100_fine_classes.json", (60, 20, 20)),
    ("miniimagenet", (64, 16, 20)),
    ("tieredimagenet/test.csv", (351, 97, 160)),
    ("cub", (100, 50, 50)),
    ("cub/meta-dataset_cu_birds_splits.json", (140, 30, 30)),
    ("cars/DERIVED_crossdomainfewshot_cars_split.json", (98, 49, 49)),
    ("aircraft/meta-dataset_aircraft_splits.json", (70, 15, 15)),
    ("vgg-flower/meta-dataset_vgg_flower_splits.json", (71, 15, 16)),
]


@pytest.mark.parametrize(("path", "counts"), COUNTS, ids=[p for p, _ in COUNTS])
def test_standard_split_files(shared, path, counts):
    entries, _ = read_class_split(shared("splits", *path.split("/")), path.split("/")[0])
    assert tuple(len(entries[s]) for s in SPLITS) == counts
    names = [n for s in SPLITS for n in entries[s]]
    assert len(set(names)) == len(names)


def test_published_rules_match_the_files(shared):
    from metaticket_datasets.pipeline import parity_split

    cub, _ = read_class_split(shared("splits", "cub"), "cub")
    folders = sorted(n for s in SPLITS for n in cub[s])
    rule = parity_split(len(folders))
    assert all([folders[i] for i in rule[s]] == sorted(cub[s]) for s in SPLITS)
    cars, _ = read_class_split(
        shared("splits", "cars", "DERIVED_crossdomainfewshot_cars_split.json"), "cars"
    )
    rule = parity_split(196)
    assert all([str(i + 1) for i in rule[s]] == cars[s] for s in SPLITS)
    fine = json.loads(shared("splits", "fc100", "DERIVED_fc100_fine_classes.json").read_text())
    coarse, _ = read_class_split(shared("splits", "fc100"), "fc100")
    assert all(sorted(fine[s]) == sorted(coarse[s]) for s in SPLITS)


def test_vgg_and_aircraft_names(shared):
    vgg, _ = read_class_split(shared("splits", "vgg-flower", "meta-dataset_vgg_flower_splits.json"),
                              "vgg-flower")  # fmt: skip
    assert all(e[:3].isdigit() and e[3] == "." for s in SPLITS for e in vgg[s])
    aircraft, _ = read_class_split(
        shared("splits", "aircraft", "meta-dataset_aircraft_splits.json"), "aircraft"
    )
    assert {"F-16A/B", "F/A-18"} <= set(aircraft["train"] + aircraft["val"] + aircraft["test"])


def test_malformed_split_files(tmp_path):
    (tmp_path / "train.txt").write_text("a\n")
    with pytest.raises(DataError, match=r"No x split files at .*train/val/test files side by side"):
        read_class_split(tmp_path, "x")
    bad = tmp_path / "bad.json"
    bad.write_text('{"train": ["a"], "test": ["b"]}')
    with pytest.raises(DataError, match="has no 'val' list: expected keys"):
        read_class_split(bad, "x")
    bad.write_text("{not json")
    with pytest.raises(DataError, match="Cannot read split file"):
        read_class_split(bad, "x")
    entries = {"train": ["a"], "val": ["b"], "test": ["a"]}
    with pytest.raises(DataError, match="'a' is in both the train and the test split"):
        assign(entries, {"a": [0], "b": [1]}, dataset="x", where="f")


def test_downloaded_omniglot_split_files_are_torchmeta_s(shared):
    """The MD5 that mt data download checks is that of the files copied unchanged from
    torchmeta: a changed checksum or address would fail here, not on a user's machine."""
    files = [a for a in OMNIGLOT.archives if a.folder == OMNIGLOT_SPLIT]
    assert sorted(a.filename for a in files) == ["test.json", "train.json", "val.json"]
    for archive in files:
        body = shared("splits", "omniglot", "torchmeta", archive.filename).read_bytes()
        assert hashlib.md5(body).hexdigest() == archive.md5, archive.filename
