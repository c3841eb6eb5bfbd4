"""mt reproduce end to end: every experiment of the paper at --scale smoke on tiny stand-ins of
each dataset layout it needs (written here), its tables and store; ingesting a plain sweep;
RESULTS.md's tables written between their markers; and the paper's numbers against the paper."""

from __future__ import annotations

import json
import pickle
import re
from pathlib import Path

import numpy as np
import pytest
import scipy.io
from PIL import Image

from metaticket_core.app.cli import main
from metaticket_core.app.reproduce.catalogue import EXPERIMENTS, paper_numbers

PAPER = Path(__file__).resolve().parents[2] / "shared" / "paper" / "meta-ticket-neurips22.md"


def mt(*args: str) -> None:
    """``mt ARGS`` in this process (the installed plugins load as in the CLI); fails on exit 1."""
    with pytest.raises(SystemExit) as exit_:
        main(list(args))
    assert exit_.value.code == 0


def jpg(path: Path, k: int, size: int = 16) -> None:
    """A flat image whose red level names class ``k``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (size, size), (10 + 12 * k, 90, 90)).save(path, quality=95)


def stand_ins(root: Path) -> dict[str, Path]:
    """The smallest copy of each layout the experiments read: 2 examples per class, at least 2
    classes per split (the smoke scale draws 2-way 1-shot tasks)."""
    roots = {}
    omniglot = roots["omniglot"] = root / "omniglot"
    for c in range(20):  # vinyals' proportions give 5 test and 2 val characters of 20
        folder = (
            omniglot
            / ("images_background", "images_evaluation")[c % 2]
            / "Alpha"
            / f"character{c:02d}"
        )
        folder.mkdir(parents=True)
        for d in range(2):
            image = Image.new("1", (105, 105), 1)
            image.paste(0, (5 * c, 0, 5 * c + 4 + d, 105))
            image.save(folder / f"{c:04d}_{d:02d}.png")
    cifar = roots["cifar-fs"] = root / "cifar-fs"
    cifar.mkdir()
    for split, ks in (("train", [0, 1, 2]), ("val", [3, 4]), ("test", [5, 6])):
        data = np.stack([np.full((32, 32, 3), 10 + 12 * k, np.uint8) for k in ks for _ in range(2)])
        record = {"data": data, "labels": [k for k in ks for _ in range(2)]}
        (cifar / f"CIFAR_FS_{split}.pickle").write_bytes(pickle.dumps(record))
    flowers = roots["vgg-flower"] = root / "vgg-flower"
    labels = np.repeat(np.arange(1, 7), 2)
    for n, label in enumerate(labels, 1):
        jpg(flowers / "jpg" / f"image_{n:05d}.jpg", int(label))
    scipy.io.savemat(flowers / "imagelabels.mat", {"labels": labels[None]})
    names = [f"{k:03d}.flower" for k in range(1, 7)]
    split = {"train": names[:2], "valid": names[2:4], "test": names[4:]}
    (root / "vgg-flower.json").write_text(json.dumps(split))
    aircraft = roots["aircraft"] = root / "fgvc-aircraft-2013b"
    data = aircraft / "data"
    variants = [f"V-{k}" for k in range(6)]
    lines, boxes = [], []
    for k, variant in enumerate(variants):
        for i in range(2):
            jpg(data / "images" / f"{1000 + 2 * k + i:07d}.jpg", k)
            lines.append(f"{1000 + 2 * k + i:07d} {variant}")
            boxes.append(f"{1000 + 2 * k + i:07d} 0 0 15 15")
    (data / "images_variant_trainval.txt").write_text("\n".join(lines) + "\n")
    (data / "images_variant_test.txt").write_text("")
    (data / "images_box.txt").write_text("\n".join(boxes) + "\n")
    split = {"train": variants[:2], "valid": variants[2:4], "test": variants[4:]}
    (root / "aircraft.json").write_text(json.dumps(split))
    mini = roots["miniimagenet"] = root / "miniimagenet"
    for s, split in enumerate(("train", "val", "test")):
        for k in range(2):
            for i in range(2):
                jpg(mini / split / f"n{10 * s + k:08d}" / f"{i}.jpg", 2 * s + k)
    cub = roots["cub"] = root / "cub"
    for k in range(8):  # the parity rule: 4 / 2 / 2
        for i in range(2):
            jpg(cub / "CUB_200_2011" / "images" / f"{k + 1:03d}.Bird" / f"{i}.jpg", k)
    cars = roots["cars"] = root / "cars"
    annos = []
    for c in range(1, 9):
        for i in range(2):
            jpg(cars / "cars_train" / f"{2 * c + i:05d}.jpg", c)
            annos.append((0, 0, 15, 15, c, f"{2 * c + i:05d}.jpg"))
    fields = [(n, "O") for n in ("bbox_x1", "bbox_y1", "bbox_x2", "bbox_y2", "class", "fname")]
    (cars / "devkit").mkdir()
    scipy.io.savemat(
        cars / "devkit" / "cars_train_annos.mat",
        {"annotations": np.array(annos, dtype=fields)[None]},
    )
    models = np.array([f"Model {c}" for c in range(1, 9)], dtype=object)[None]
    scipy.io.savemat(cars / "devkit" / "cars_meta.mat", {"class_names": models})
    return roots


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("data")


@pytest.fixture(scope="module")
def roots(data) -> list[str]:
    """--data-root and --split-file options for every dataset."""
    found = stand_ins(data)
    options = [f"--data-root={name}={path}" for name, path in found.items()]
    return options + [f"--split-file={n}={data / f'{n}.json'}" for n in ("vgg-flower", "aircraft")]


@pytest.fixture(autouse=True)
def _cache(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("MT_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "mt-cache"))
    monkeypatch.delenv("MT_DEBUG", raising=False)


@pytest.mark.parametrize("name", sorted(EXPERIMENTS))
def test_every_experiment_at_smoke_scale(name, roots, tmp_path):
    runs, out, store = tmp_path / "runs", tmp_path / "out", tmp_path / "store"
    args = [
        name,
        "--scale",
        "smoke",
        "--seeds",
        "1",
        "--runs-dir",
        str(runs),
        "--out",
        str(out),
        "--store",
        str(store),
        "--json",
        *roots,
    ]
    mt("reproduce", *args)
    experiment = EXPERIMENTS[name]
    report = json.loads((out / f"{name}.json").read_text())
    records = json.loads((store / f"{name}.json").read_text())["records"]
    assert {r["setting"] for r in records} == {s.key for s in experiment.settings}
    assert len(records) == len(experiment.settings)
    for rec in records:  # smoke is cut: every record says how, none passes as the paper's
        assert rec["deviations"]["ways"] == {"paper": rec["deviations"]["ways"]["paper"], "ours": 2}
        setting = experiment.setting(rec["setting"])
        assert set(rec["cross"]) == set(setting.cross)
        assert name != "figure2" or rec["gradient_ratio"] > 0
        assert name != "table8" or 0 < rec["val_best"] <= 1
    assert report["cut"] and "runs departing from the paper's settings" in report["cut"]
    assert len(report["numbers"]) >= len(experiment.numbers())
    assert {row["id"] for row in report["numbers"]} == {n["id"] for n in experiment.numbers()}
    assert all(row["variant"] for row in report["numbers"] if row["verdict"] != "not run")
    md = (out / f"{name}.md").read_text()
    assert "**Cut down, not the paper's experiment**" in md and "paper's settings |" not in md
    assert (out / f"{name}.png").is_file()
    if name == "sinusoid":  # again: every run is finished and kept, the store is the same
        mt("reproduce", *args)
        assert json.loads((store / f"{name}.json").read_text())["records"] == records


def test_cut_runs_and_missing_data(tmp_path, capsys):
    with pytest.raises(SystemExit):
        main(["reproduce", "figure3-5wy"])
    assert "Did you mean 'figure3-5way'?" in capsys.readouterr().err
    runs = tmp_path / "runs"
    with pytest.raises(SystemExit) as exit_:
        main(["reproduce", "table2", "--only", "resnet12-maml", "--runs-dir", str(runs)])
    err = capsys.readouterr().err
    assert exit_.value.code == 1 and "needs miniimagenet: pass --data-root miniimagenet=DIR" in err
    assert "mt data download miniimagenet" in err and "train.csv" in err and not runs.exists()
    with pytest.raises(SystemExit):
        main(["reproduce", "table2", "--only", "resnet13-*"])
    assert "Did you mean 'resnet12-maml'?" in capsys.readouterr().err


def test_collect_a_sweep_then_write_the_page(tmp_path):
    runs, store = tmp_path / "runs", tmp_path / "store"
    common = [
        "--seeds",
        "1,2",
        "--runs-dir",
        str(runs),
        "--set",
        "iterations=3",
        "--set",
        "test_episodes=4",
        "--set",
        "val_interval=3",
    ]
    mt("sweep", "--preset", "sinusoid-maml", *common, "--sweep-id", "plain")
    mt(
        "sweep",
        "--preset",
        "sinusoid-maml",
        *common,
        "--sweep-id",
        "guarded",
        "--set",
        "outer_guard=1000",
        "--set",
        "outer_guard_to=10",
    )
    mt(
        "reproduce",
        "collect",
        "sinusoid",
        "--sweep",
        "plain",
        "--sweep",
        "guarded",
        "--runs-dir",
        str(runs),
        "--store",
        str(store),
    )
    records = json.loads((store / "sinusoid.json").read_text())["records"]
    assert [(r["setting"], r["seed"]) for r in records] == [("maml", 1), ("maml", 2)] * 2
    guarded = [r for r in records if "outer_guard" in r["deviations"]]
    assert len(guarded) == 2 and all("guarded" in r["provenance"] for r in guarded)
    assert all(r["deviations"]["iterations"] == {"paper": 30000, "ours": 3} for r in records)
    page = tmp_path / "RESULTS.md"
    prose = "Hand-written prose stays.\n"
    page.write_text(
        f"# R\n\n{prose}<!-- mt:table sinusoid -->\nold\n<!-- /mt:table -->\n"
        f"{prose}<!-- mt:table sinusoid settings -->\n<!-- /mt:table -->\nend\n"
    )
    with pytest.raises(SystemExit) as exit_:  # out of date
        main(["reproduce", "docs", "--page", str(page), "--store", str(store), "--check"])
    assert exit_.value.code == 1
    mt("reproduce", "docs", "--page", str(page), "--store", str(store))
    text = page.read_text()
    assert (
        text.count(prose) == 2 and text.endswith("<!-- /mt:table -->\nend\n") and "old" not in text
    )
    maml = [line for line in text.splitlines() if line.startswith("| MAML, sinusoid MSE")]
    assert len(maml) == 2 and all(
        "(2 seeds)" in line and "not the paper's: " in line for line in maml
    )
    assert any("outer_guard 1000" in line for line in maml)
    mt("reproduce", "docs", "--page", str(page), "--store", str(store), "--check")


def _normalise(text: str) -> str:
    text = re.sub(r"</?b>|<math>|</math>|\$", "", text).replace("\\pm", "±").replace("\\%", "%")
    return re.sub(r" +", " ", text)


def _table_rows(paper: str, caption: str) -> dict[str, list[str]]:
    """The rows of the paper's table ``caption`` ("Table 1"), by their first cell."""
    lines = paper.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"{caption}:"))
    rows = {}
    for line in lines[start + 1 :]:
        if line.strip() and "\t" not in line and rows:
            break
        cells = [c.strip() for c in line.split("\t")]
        if len(cells) > 1:
            rows[re.sub(r" \[\d+\]$", "", cells[0])] = cells[1:]
    return rows


def test_every_number_is_the_papers():
    if not PAPER.is_file():
        pytest.skip(f"{PAPER} is absent (the paper lives in <repo>/../shared, outside the repo)")
    raw = PAPER.read_text(encoding="utf-8")
    paper = _normalise(raw)
    for number in paper_numbers():
        if "quote" in number:
            assert _normalise(number["quote"]) in paper, number["id"]
            if not number.get("claim"):
                assert f"{number['value']}" in number["quote"], number["id"]
            continue
        cell = _table_rows(_normalise(raw), number["source"])[number["row"]][number["column"] - 1]
        assert cell == f"{number['value']:.2f} ± {number['std']:.2f}%", number["id"]
