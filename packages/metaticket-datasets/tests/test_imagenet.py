"""miniimagenet and tieredimagenet from every layout, each written here in its exact format."""

import json
import pickle

import h5py
import numpy as np
import pytest

from metaticket_core import DataError

SPLIT = {"train": [0, 1, 2], "val": [3, 4], "test": [5, 6]}  # class k -> wnid n0000000k


def wnid(k: int) -> str:
    return f"n{k:08d}"


def reds(natural) -> dict[str, int]:
    return {wnid(k): natural.red(k) for k in range(7)}


def test_learn2learn_pickles(tmp_path, build, natural):
    for split, name in (("train", "train"), ("val", "validation"), ("test", "test")):
        ks = [k for k in SPLIT[split] for _ in range(3)]
        record = {"image_data": np.concatenate([natural.pixels(k, 84) for k in ks]),
                  "class_dict": {wnid(k): [3 * i, 3 * i + 1, 3 * i + 2]
                                 for i, k in enumerate(SPLIT[split])}}  # fmt: skip
        (tmp_path / f"mini-imagenet-cache-{name}.pkl").write_bytes(pickle.dumps(record))
    ds = build("miniimagenet", tmp_path, tmp_path / "cache")
    natural.check(ds, (3, 2, 2), (3, 84, 84), reds(natural))
    assert "learn2learn" in ds.describe()["source"]
    natural.cached(lambda: build("miniimagenet", tmp_path, tmp_path / "cache"))


def test_torchmeta_hdf5(tmp_path, build, natural):
    folder = tmp_path / "miniimagenet"
    folder.mkdir()
    for split, ks in SPLIT.items():
        with h5py.File(folder / f"{split}_data.hdf5", "w") as f:
            for k in ks:
                f.create_dataset(f"datasets/{wnid(k)}", data=natural.pixels(k, 84, n=2))
        (folder / f"{split}_labels.json").write_text(json.dumps([wnid(k) for k in ks]))
    ds = build("miniimagenet", tmp_path, tmp_path / "cache", size=42)
    natural.check(ds, (3, 2, 2), (3, 42, 42), reds(natural))
    natural.cached(lambda: build("miniimagenet", tmp_path, tmp_path / "cache", size=42))


def test_split_folders_and_ravi_csv(tmp_path, build, natural):
    for split, ks in SPLIT.items():
        for k in ks:
            for i in range(2):
                natural.save(tmp_path / "a" / split / wnid(k) / f"{i}.jpg", k, 84)
    natural.check(build("miniimagenet", tmp_path / "a", tmp_path / "c"), (3, 2, 2), (3, 84, 84),
                  reds(natural))  # fmt: skip
    ravi = tmp_path / "ravi"
    csv = tmp_path / "csv"
    csv.mkdir()
    for split, ks in SPLIT.items():
        rows = [f"{wnid(k)}{i:08d}.jpg,{wnid(k)}" for k in ks for i in range(1, 3)]
        (csv / f"{split}.csv").write_text("filename,label\n" + "\n".join(rows) + "\n")
        for row in rows:
            natural.save(ravi / "images" / row.split(",")[0], int(row[1:9]), 84)
    with pytest.raises(DataError, match=r"carries no class split.*Ravi's train.csv"):
        build("miniimagenet", ravi, tmp_path / "c")
    ds = build("miniimagenet", ravi, tmp_path / "c", split_file=csv / "train.csv")
    natural.check(ds, (3, 2, 2), (3, 84, 84), reds(natural))


def test_tiered_pickles(tmp_path, build, natural):
    folder = tmp_path / "tiered-imagenet"
    folder.mkdir()
    for split, ks in SPLIT.items():
        specific = np.repeat(np.arange(len(ks)), 2)
        images = [natural.encoded(ks[label], 84) for label in specific]
        labels = {"label_specific": specific, "label_general": np.zeros_like(specific),
                  "label_specific_str": [wnid(k) for k in ks], "label_general_str": ["n0"]}  # fmt: skip
        (folder / f"{split}_images_png.pkl").write_bytes(pickle.dumps(images, protocol=2))
        (folder / f"{split}_labels.pkl").write_bytes(pickle.dumps(labels, protocol=2))
    ds = build("tieredimagenet", tmp_path, tmp_path / "cache")
    natural.check(ds, (3, 2, 2), (3, 84, 84), reds(natural))
    natural.cached(lambda: build("tieredimagenet", tmp_path, tmp_path / "cache"))


def test_tiered_torchmeta_png_bytes(tmp_path, build, natural):
    for split, ks in SPLIT.items():
        with h5py.File(tmp_path / f"{split}_data.hdf5", "w") as f:
            for k in ks:
                data = f.create_dataset(f"datasets/{wnid(k)}", (2,),
                                        dtype=h5py.vlen_dtype(np.uint8))  # fmt: skip
                for i in range(2):
                    data[i] = natural.encoded(k, 84)
        (tmp_path / f"{split}_labels.json").write_text(json.dumps([wnid(k) for k in ks]))
    natural.check(build("tieredimagenet", tmp_path, tmp_path / "c"), (3, 2, 2), (3, 84, 84),
                  reds(natural))  # fmt: skip


def test_tiered_imagenet_folders_and_csv(tmp_path, build, natural):
    imagenet = tmp_path / "train"
    for k in range(8):  # class 7 is in ImageNet but not in the split: not read
        for i in range(2):
            natural.save(imagenet / wnid(k) / f"{wnid(k)}_{i}.JPEG", k, 100, fmt="JPEG")
    with pytest.raises(DataError, match=r"carries no class split.*<class wnid>,<category wnid>"):
        build("tieredimagenet", imagenet, tmp_path / "c")
    for split, ks in SPLIT.items():  # no header, as in few-shot-ssl-public
        (imagenet / f"{split}.csv").write_text("".join(f"{wnid(k)},n09999999\n" for k in ks))
    ds = build("tieredimagenet", imagenet, tmp_path / "c")
    natural.check(ds, (3, 2, 2), (3, 84, 84), reds(natural))
    assert len(ds.class_names) == 7
