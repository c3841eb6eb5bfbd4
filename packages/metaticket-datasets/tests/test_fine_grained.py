"""cub, cars, aircraft and vgg-flower from their archives' layouts (tiny copies written here)."""

import numpy as np
import pytest
import scipy.io
from PIL import Image

from metaticket_core import SPLITS, DataError


def test_cub_parity_rule_resize_crop_and_split_files(tmp_path, build, natural):
    root = tmp_path / "CUB_200_2011"
    names = [f"{k + 1:03d}.Bird_{k}" for k in range(8)]
    for k, name in enumerate(names):
        for i in range(2):  # 200x100: shorter side -> 126, center crop 84
            natural.save(root / "images" / name / f"{name}_{i}.jpg", k, 200)
    ds = build("cub", tmp_path, tmp_path / "cache")
    natural.check(ds, (4, 2, 2), (3, 84, 84), {n: natural.red(k) for k, n in enumerate(names)})
    assert [ds.class_names[i] for i in ds.splits["val"]] == [names[1], names[5]]
    assert [ds.class_names[i] for i in ds.splits["test"]] == [names[3], names[7]]
    wide = Image.new("RGB", (300, 150), (0, 0, 0))
    wide.paste((255, 255, 255), (100, 0, 200, 150))  # the middle third white
    wide.save(tmp_path / "wide.png")
    crop = ds.load_images([tmp_path / "wide.png"])[0]  # 252x126 -> the middle 84 columns
    assert crop.shape == (3, 84, 84) and crop[:, :, 2:-2].min() > 0.9
    json = natural.write_json(tmp_path / "md.json", {"train": names[:6], "valid": [names[6]],
                                                     "test": [names[7]]})  # fmt: skip
    other = natural.cached(lambda: build("cub", root, tmp_path / "cache", split_file=json))
    assert [len(other.splits[s]) for s in SPLITS] == [6, 1, 1]


def test_cars_boxes_devkit_and_parity_rule(tmp_path, build, natural):
    annos = []
    for c in range(1, 9):
        for i in range(2):
            fname = f"{2 * c + i:05d}.jpg"
            image = Image.new("RGB", (120, 80), (0, 0, 0))  # black outside the box
            image.paste((natural.red(c - 1), 50, 50), (20, 10, 100, 70))
            (tmp_path / "cars_train").mkdir(exist_ok=True)
            image.save(tmp_path / "cars_train" / fname, quality=95)
            annos.append((21, 11, 100, 70, c, fname))
    fields = [(n, "O") for n in ("bbox_x1", "bbox_y1", "bbox_x2", "bbox_y2", "class", "fname")]
    (tmp_path / "devkit").mkdir()
    scipy.io.savemat(tmp_path / "devkit" / "cars_train_annos.mat",
                     {"annotations": np.array(annos, dtype=fields)[None]})  # fmt: skip
    models = np.array([f"Model {c}" for c in range(1, 9)], dtype=object)[None]
    scipy.io.savemat(tmp_path / "devkit" / "cars_meta.mat", {"class_names": models})
    ds = build("cars", tmp_path, tmp_path / "cache", size=32)
    natural.check(
        ds, (4, 2, 2), (3, 32, 32), {f"Model {c}": natural.red(c - 1) for c in range(1, 9)}
    )
    assert [ds.class_names[i] for i in ds.splits["train"]] == ["Model 1", "Model 3", "Model 5",
                                                               "Model 7"]  # fmt: skip
    assert ds.images[:, 1].min() > 35  # cropped: no black border left
    split = natural.write_json(tmp_path / "s.json", {"train": [1, 2, 3], "val": [4, 5],
                                                     "test": [6, 7, 8]})  # fmt: skip
    assert len(build("cars", tmp_path, tmp_path / "cache", size=32, split_file=split).splits[
        "train"]) == 3  # fmt: skip


def test_aircraft_needs_a_split_file_and_crops(tmp_path, build, natural):
    data = tmp_path / "fgvc-aircraft-2013b" / "data"
    variants = ["A340-300", "F-16A/B", "F/A-18", "Cessna 172", "DC-6", "MD-80"]
    lines, boxes = {"trainval": [], "test": []}, []
    for k, variant in enumerate(variants):
        for i in range(2):
            image_id = f"{1000 + 2 * k + i:07d}"
            image = Image.new("RGB", (100, 80), (0, 0, 0))
            image.paste((natural.red(k), 60, 60), (10, 10, 90, 60))  # banner etc. outside
            (data / "images").mkdir(parents=True, exist_ok=True)
            image.save(data / "images" / f"{image_id}.jpg", quality=95)
            lines["test" if i else "trainval"].append(f"{image_id} {variant}")
            boxes.append(f"{image_id} 11 11 90 60")
    for part, rows in lines.items():
        (data / f"images_variant_{part}.txt").write_text("\n".join(rows) + "\n")
    (data / "images_box.txt").write_text("\n".join(boxes) + "\n")
    with pytest.raises(DataError, match=r"aircraft: .* carries no class split.*Meta-Dataset"):
        build("aircraft", tmp_path / "fgvc-aircraft-2013b", tmp_path / "cache")
    split = natural.write_json(tmp_path / "aircraft.json", {
        "train": variants[:3], "valid": variants[3:5], "test": variants[5:]})  # fmt: skip
    ds = build("aircraft", tmp_path / "fgvc-aircraft-2013b", tmp_path / "cache", split_file=split)
    # 32x32 by default, as the authors store it for the MLPs' cross-domain test
    natural.check(ds, (3, 2, 1), (3, 32, 32), {v: natural.red(k) for k, v in enumerate(variants)})
    assert ds.counts.tolist() == [2] * 6 and ds.images[:, 1].min() > 40


def test_vgg_flower_labels_mat_and_split(tmp_path, build, natural):
    labels = np.repeat(np.arange(1, 7), 2)
    for n, label in enumerate(labels, 1):
        natural.save(tmp_path / "jpg" / f"image_{n:05d}.jpg", int(label), 50)
    scipy.io.savemat(tmp_path / "imagelabels.mat", {"labels": labels[None]})
    split = natural.write_json(tmp_path / "vgg.json", {
        "train": ["001.pink primrose", "002.orchid", "003.bells"], "valid": ["004.pea"],
        "test": ["005.snap", "006.tiger lily"]})  # fmt: skip
    ds = build("vgg-flower", tmp_path, tmp_path / "cache", split_file=split)
    natural.check(ds, (3, 1, 2), (3, 32, 32), {f"{k:03d}": natural.red(k) for k in range(1, 7)})
    natural.cached(lambda: build("vgg-flower", tmp_path, tmp_path / "cache", split_file=split))
    with pytest.raises(DataError, match=r"vgg-flower: .* carries no class split"):
        build("vgg-flower", tmp_path, tmp_path / "cache")
    bad = natural.write_json(tmp_path / "bad.json", {"train": ["007.x"], "valid": [], "test": []})
    with pytest.raises(DataError, match=r"names '007.x' \(train\), which is not a class"):
        build("vgg-flower", tmp_path, tmp_path / "cache", split_file=bad)
