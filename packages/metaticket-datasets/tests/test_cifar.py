"""cifar-fs and fc100 from every layout, each written here in its exact format."""

import pickle

import h5py
import numpy as np
import pytest

from metaticket_core import DataError

# 4 superclasses x 2 fine classes; fine label k has natural.red(k)
COARSE = ["fish", "flowers", "trees", "vehicles_1"]
FINE = ["ray", "shark", "rose", "tulip", "oak_tree", "pine_tree", "bus", "train"]
CIFAR_FS_SPLIT = {"train": ["ray", "rose", "oak_tree", "bus"], "val": ["shark", "tulip"],
                  "test": ["pine_tree", "train"]}  # fmt: skip
FC100_SPLIT = {"train": ["fish", "flowers"], "val": ["trees"], "test": ["vehicles_1"]}


def write_cifar100(natural, root, per_class=(3, 1)):
    """cifar-100-python/{train,test,meta}: pickled dicts of plain lists and uint8 arrays."""
    folder = root / "cifar-100-python"
    folder.mkdir(parents=True)
    for name, n in zip(("train", "test"), per_class, strict=True):
        fine = [k for k in range(len(FINE)) for _ in range(n)]
        data = np.concatenate([natural.pixels(k, n=1) for k in fine]).transpose(0, 3, 1, 2)
        record = {"data": data.reshape(len(fine), 3072), "fine_labels": fine,
                  "coarse_labels": [k // 2 for k in fine], "filenames": ["x.png"] * len(fine)}  # fmt: skip
        (folder / name).write_bytes(pickle.dumps(record, protocol=2))
    meta = {"fine_label_names": FINE, "coarse_label_names": COARSE}
    (folder / "meta").write_bytes(pickle.dumps(meta))
    return root


def names_red(full: bool) -> dict[str, int]:
    return {(f"{COARSE[k // 2]}/{f}" if full else f): 10 + 12 * k for k, f in enumerate(FINE)}


def test_cifar_fs_from_cifar100_needs_and_takes_a_split_file(tmp_path, build, natural):
    root = write_cifar100(natural, tmp_path / "data")
    with pytest.raises(DataError, match=r"carries no class split.*split_file=PATH.*r2d2's train"):
        build("cifar-fs", root, tmp_path / "cache")
    for split, names in CIFAR_FS_SPLIT.items():
        (tmp_path / "r2d2" / f"{split}.txt").parent.mkdir(exist_ok=True)
        (tmp_path / "r2d2" / f"{split}.txt").write_text("\n".join(names) + "\n")
    ds = build("cifar-fs", root, tmp_path / "cache", split_file=tmp_path / "r2d2")
    natural.check(ds, (4, 2, 2), (3, 32, 32), names_red(full=True))
    assert ds.counts.tolist() == [4] * 8
    assert [ds.class_names[i] for i in ds.splits["val"]] == ["fish/shark", "flowers/tulip"]
    again = natural.cached(lambda: build(
        "cifar-fs", root, tmp_path / "cache", split_file=tmp_path / "r2d2" / "val.txt"))  # fmt: skip
    assert np.array_equal(again.images, ds.images) and again.describe()["split"].startswith("from")


def test_fc100_from_cifar100_by_superclass(tmp_path, build, natural):
    root = write_cifar100(natural, tmp_path / "data")
    for split, names in FC100_SPLIT.items():  # torchmeta's fc100 files: superclass names
        natural.write_json(tmp_path / "tm" / f"torchmeta_{split}.json", names)
    ds = build("fc100", root, tmp_path / "cache", split_file=tmp_path / "tm")
    natural.check(ds, (4, 2, 2), (3, 32, 32), names_red(full=True))
    expanded = {s: {c: [f for k, f in enumerate(FINE) if COARSE[k // 2] == c] for c in names}
                for s, names in FC100_SPLIT.items()}  # fmt: skip
    same = build("fc100", root, tmp_path / "cache",
                 split_file=natural.write_json(tmp_path / "derived.json", {"_note": "x", **expanded}))  # fmt: skip
    assert all(np.array_equal(ds.splits[s], same.splits[s]) for s in ds.splits)


def test_metaoptnet_pickles(tmp_path, build, natural):
    folder = tmp_path / "FC100"
    folder.mkdir()
    for split, labels in (("train", [0, 1, 2, 3]), ("val", [4, 5]), ("test", [6, 7])):
        ks = [k for k in labels for _ in range(3)]
        record = {"data": np.concatenate([natural.pixels(k) for k in ks]), "labels": ks}
        (folder / f"FC100_{split}.pickle").write_bytes(pickle.dumps(record))
    ds = build("fc100", tmp_path, tmp_path / "cache")
    natural.check(ds, (4, 2, 2), (3, 32, 32), {str(k): natural.red(k) for k in range(8)})
    assert "MetaOptNet" in ds.describe()["source"]
    natural.cached(lambda: build("fc100", tmp_path, tmp_path / "cache"))


def test_pickled_labels_must_be_integers(tmp_path, build, natural):
    folder = tmp_path / "FC100"
    folder.mkdir()
    for split in ("train", "val", "test"):
        record = {"data": np.concatenate([natural.pixels(k) for k in range(3)]),
                  "labels": [0, "1", None]}  # fmt: skip
        (folder / f"FC100_{split}.pickle").write_bytes(pickle.dumps(record))
    with pytest.raises(DataError, match="'labels' must be a list of integer labels, found a list "
                       "of NoneType, int, str"):  # fmt: skip
        build("fc100", tmp_path, tmp_path / "cache")


def test_torchmeta_hdf5(tmp_path, build, natural):
    folder = tmp_path / "cifar100"
    folder.mkdir()
    with h5py.File(folder / "data.hdf5", "w") as f:
        for k, fine in enumerate(FINE):
            group = f.require_group(COARSE[k // 2])
            group.create_dataset(fine, data=natural.pixels(k, n=2))
    for split, names in CIFAR_FS_SPLIT.items():
        pairs = [[COARSE[FINE.index(n) // 2], n] for n in names]
        natural.write_json(folder / "cifar-fs" / f"{split}_labels.json", pairs)
    ds = build("cifar-fs", tmp_path, tmp_path / "cache", size=16)
    assert ds.images.shape == (16, 3, 16, 16)
    natural.check(ds, (4, 2, 2), (3, 16, 16), names_red(full=True))
    natural.cached(lambda: build("cifar-fs", tmp_path, tmp_path / "cache", size=16))


def test_learn2learn_cifarfs_folders(tmp_path, build, natural):
    processed = tmp_path / "cifarfs" / "processed"
    for split, names in CIFAR_FS_SPLIT.items():
        for name in names:
            for i in range(2):
                natural.save(processed / split / name / f"{i}.png", FINE.index(name))
    natural.check(
        build("cifar-fs", tmp_path, tmp_path / "c1"), (4, 2, 2), (3, 32, 32), names_red(False)
    )
    other = tmp_path / "other" / "cifarfs" / "cifar100"
    for split, names in CIFAR_FS_SPLIT.items():
        (other / "splits" / "bertinetto").mkdir(parents=True, exist_ok=True)
        (other / "splits" / "bertinetto" / f"{split}.txt").write_text("\n".join(names))
        for name in names:
            for i in range(2):
                natural.save(other / "data" / name / f"{i}.png", FINE.index(name))
    ds = build("cifar-fs", tmp_path / "other", tmp_path / "c2")
    natural.check(ds, (4, 2, 2), (3, 32, 32), names_red(False))


def test_no_data_and_wrong_split_file(tmp_path, build, natural):
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match=r"holds no fc100 data: expected cifar100/data\.hdf5"):
        build("fc100", tmp_path / "empty", tmp_path / "cache")
    root = write_cifar100(natural, tmp_path / "data")
    for split in ("train", "val", "test"):
        natural.write_json(tmp_path / "mini" / f"torchmeta_{split}.json", ["n01532829"])
    with pytest.raises(DataError, match=r"names 'n01532829' \(train\), which is not a class"):
        build("cifar-fs", root, tmp_path / "cache", split_file=tmp_path / "mini")
    with pytest.raises(DataError, match="No cifar-fs split files at"):
        build("cifar-fs", root, tmp_path / "cache", split_file=tmp_path / "nowhere")
