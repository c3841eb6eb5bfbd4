"""The image-folder dataset on a tiny folder written by the test, and its layout errors."""

from __future__ import annotations

import json
import struct

import pytest
import torch

from metaticket_core import ConfigError, DataError, RunConfig
from metaticket_metasgd.imagefolder import load


def test_episodes_are_deterministic_class_major_and_scaled(image_root):
    data = load(image_root, size=12)
    assert data.input_shape == (1, 12, 12)
    stream = data.episodes("train", ways=3, shots=1, queries=2, seed=5)
    task = next(stream)
    assert task.support_x.shape == (3, 1, 12, 12) and task.query_x.shape == (6, 1, 12, 12)
    assert task.support_y.tolist() == [0, 1, 2] and task.query_y.tolist() == [0, 0, 1, 1, 2, 2]
    assert set(task.classes) <= {f"train-{c}" for c in range(4)}
    assert task.support_x.min() >= 0 and task.support_x.max() <= 1
    again = next(load(image_root, size=12).episodes("train", ways=3, shots=1, queries=2, seed=5))
    torch.testing.assert_close(again.query_x, task.query_x)
    val = next(data.episodes("val", ways=3, shots=1, queries=2, seed=5))
    assert all(c.startswith("val-") for c in val.classes)


def test_rgb_option_and_load_images(image_root):
    data = load(image_root, channels=3, size=8)
    images = data.load_images(
        [image_root / "test-0" / "img0.png", image_root / "test-1" / "img1.png"]
    )
    assert images.shape == (2, 3, 8, 8) and images.dtype == torch.float32
    assert "test 4" in data.describe()["split"]


def test_split_file_elsewhere(image_root, tmp_path):
    moved = tmp_path / "my-split.json"
    (image_root / "split.json").rename(moved)
    assert load(image_root, split_file=str(moved)).splits["val"][0] == "val-0"


def test_check_names_what_is_too_small(image_root):
    data = load(image_root)
    with pytest.raises(DataError, match=r"'val' .* has 4 classes; 5-way tasks need at least 5"):
        data.check("val", ways=5, shots=1, queries=1)
    with pytest.raises(DataError, match="train-0 has 4 images; 2-shot tasks with 3 queries"):
        data.check("train", ways=2, shots=2, queries=3)


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda root: (root / "split.json").unlink(), r"Split file .*split.json does not exist"),
        (lambda root: (root / "split.json").write_text("{oops"), r"is not valid JSON"),
        (
            lambda root: (root / "split.json").write_text('{"train": ["train-0"]}'),
            r"must map each of train, val and test to a list",
        ),
        (
            lambda root: _edit_split(root, test=["nope"]),
            r"Class 'nope' of split 'test' .* no folder",
        ),
        (lambda root: _edit_split(root, val=["train-0"]), r"'train-0' in both 'train' and 'val'"),
        (lambda root: _empty(root / "train-1"), r"Class folder .*train-1 holds no images"),
    ],
)
def test_bad_layouts_name_the_path_and_the_expected_layout(image_root, damage, message):
    damage(image_root)
    with pytest.raises(DataError, match=message) as info:
        load(image_root)
    assert str(image_root) in str(info.value)
    if "both" not in message:  # an overlap is not a layout problem
        assert "<root>/<class>/<image>" in str(info.value)


def test_missing_root_and_bad_options(tmp_path, metasgd_plugin):
    with pytest.raises(DataError, match="needs --data-root; expected <root>/<class>/<image>"):
        load(None)
    with pytest.raises(DataError, match=f"{tmp_path / 'absent'} is not a folder"):
        load(tmp_path / "absent")
    misspelt = RunConfig(
        method="metasgd", model="tiny-conv", dataset="image-folder", dataset_options={"sise": 3}
    )
    with pytest.raises(
        ConfigError, match=r"'sise' for dataset 'image-folder'\. Did you mean 'size'"
    ):
        misspelt.check_names()  # by mt, before any image is read
    with pytest.raises(ConfigError, match="channels must be 1 or 3"):
        load(tmp_path, channels=2)


def test_undecodable_image_is_named(image_root):
    broken = image_root / "train-2" / "img0.png"
    broken.write_bytes(b"not a png")
    data = load(image_root)
    with pytest.raises(DataError, match=f"Cannot decode image {broken}"):
        data.load_images([broken])


def _edit_split(root, **changes):
    path = root / "split.json"
    path.write_text(json.dumps(json.loads(path.read_text()) | changes))


def _empty(folder):
    for file in folder.iterdir():
        file.unlink()


def test_an_image_that_breaks_the_decoder_is_a_data_error(image_root, monkeypatch):
    from PIL import PngImagePlugin

    def broken(self, *args, **kwargs):
        raise struct.error("unpack requires a buffer of 8 bytes")  # what damaged files raise

    monkeypatch.setattr(PngImagePlugin.PngImageFile, "load", broken)
    data = load(image_root, size=8)
    with pytest.raises(DataError, match=r"Cannot decode image .*img0\.png: error: unpack"):
        data.load_images([image_root / "test-0" / "img0.png"])
