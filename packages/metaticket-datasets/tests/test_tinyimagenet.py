"""Tiny-ImageNet from its layout (tiny fixtures in the exact format)."""

import numpy as np
import pytest
from PIL import Image

from metaticket_core import SPLITS, ConfigError, DataError


def test_reads_layout_and_splits_in_wnids_order(tiny_imagenet_root, tmp_path, build):
    ds = build("tiny-imagenet", tiny_imagenet_root, tmp_path)
    assert ds.input_shape == (3, 32, 32) and ds.counts.tolist() == [5] * 10
    wnids = (tiny_imagenet_root / "wnids.txt").read_text().split()
    assert [[ds.class_names[i] for i in ds.splits[s]] for s in SPLITS] == [
        wnids[:6],
        wnids[6:8],
        wnids[8:],
    ]
    task = next(ds.episodes("train", ways=3, shots=2, queries=3, seed=0))
    assert task.support_x.shape == (6, 3, 32, 32) and task.query_x.shape == (9, 3, 32, 32)
    for label, wnid in enumerate(task.classes):  # flat colour per class: red = 20 * index
        red = task.query_x[task.query_y == label][:, 0].float().mean()
        assert abs(red - 20 * wnids.index(wnid)) < 4


def test_resizes_and_converts_gray(make_tiny_imagenet, tmp_path, build):
    root = make_tiny_imagenet(tmp_path / "big", classes=5, images=2, size=64)
    gray = root / "train" / "n00000000" / "images" / "n00000000_0.JPEG"
    Image.new("L", (64, 64), 200).save(gray)
    ds = build("tiny-imagenet", root, tmp_path, size=16)
    assert ds.images.shape == (10, 3, 16, 16)
    assert np.all(np.abs(ds.images[0].astype(int) - 200) <= 2)  # gray -> 3 equal channels


def test_nested_folder(make_tiny_imagenet, tmp_path, build):
    make_tiny_imagenet(tmp_path / "dl" / "tiny-imagenet-200", classes=5, images=2)
    assert len(build("tiny-imagenet", tmp_path / "dl", tmp_path).class_names) == 5


def test_bad_roots(tiny_imagenet_root, tmp_path, build):
    with pytest.raises(DataError, match="'tiny-imagenet' reads files: --data-root is required"):
        build("tiny-imagenet", None, tmp_path)
    with pytest.raises(DataError, match=r"holds no tiny-imagenet data: expected wnids.txt \+ "
                       r"train/<wnid>/images/\*\.JPEG .*folder that contains wnids.txt"):  # fmt: skip
        build("tiny-imagenet", tiny_imagenet_root / "train", tmp_path)
    missing = tiny_imagenet_root / "train" / "n00000003"
    for image in (missing / "images").iterdir():
        image.unlink()
    with pytest.raises(DataError, match=f"No images in {missing / 'images'} for class n00000003"):
        build("tiny-imagenet", tiny_imagenet_root, tmp_path)


def test_corrupt_image_and_bad_option(tiny_imagenet_root, tmp_path, build):
    with pytest.raises(ConfigError, match="Did you mean 'size'"):
        build("tiny-imagenet", tiny_imagenet_root, tmp_path, sizes=32)
    bad = tiny_imagenet_root / "train" / "n00000002" / "images" / "n00000002_1.JPEG"
    bad.write_bytes(b"\xff\xd8 definitely not a jpeg")
    with pytest.raises(DataError, match=f"Cannot decode image {bad}"):
        build("tiny-imagenet", tiny_imagenet_root, tmp_path)


def test_too_few(tiny_imagenet_root, tmp_path, build):
    ds = build("tiny-imagenet", tiny_imagenet_root, tmp_path)
    with pytest.raises(DataError, match="tiny-imagenet test split has 2 classes; 5-way tasks"):
        ds.check("test", ways=5, shots=1, queries=1)
    with pytest.raises(DataError, match=r"5 examples in its smallest class .* 5 \+ 15 = 20"):
        ds.check("train", ways=2, shots=5, queries=15)
