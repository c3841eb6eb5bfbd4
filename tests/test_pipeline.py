"""A whole experiment through the installed CLI: train, test, export, inspect, plot, predict."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

TINY = ["--iterations", "10", "--set", "val_interval=5", "--set", "val_episodes=4",
        "--set", "test_episodes=10"]  # fmt: skip


def summary(result):
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_metaticket_on_glyphs_end_to_end(mt_process, mt, tmp_path):
    """Trained by the installed entry point; then tested, exported, plotted and used in this
    process (an interpreter start each would cost more than the rest of the test)."""
    s = summary(mt_process("train", "--run-id", "g", "--json", *TINY))
    assert s["run_id"] == "g" and s["test"]["metric"] == "accuracy"
    assert 0 <= s["test"]["mean"] <= 1 and s["test"]["episodes"] == 10

    tested = summary(mt("test", "g", "--episodes", "10", "--json"))
    assert tested["mean"] == s["test"]["mean"]  # fixed test episodes, same checkpoint

    assert mt("export-mask", "g", "-o", "t.safetensors", "--with-weights").returncode == 0
    inspected = mt("inspect", "t.safetensors")
    assert inspected.returncode == 0
    for layer in ("body.1.weight", "body.10.weight", "total"):
        assert layer in inspected.stdout

    plotted = mt("plot", "g")
    assert plotted.returncode == 0, plotted.stderr
    names = {p.name for p in (tmp_path / "runs" / "g" / "plots").iterdir()}
    assert {"training.png", "sparsity.png", "inner-gradients.png", "first-layer-mask.png"} <= names

    support = tmp_path / "support"
    rng = np.random.default_rng(0)
    for c in range(5):
        (support / f"class{c}").mkdir(parents=True)
        for k in range(2):
            image = np.full((28, 28), 255, np.uint8)
            image[rng.integers(0, 28, 40), rng.integers(0, 28, 40)] = 0
            Image.fromarray(image).save(support / f"class{c}" / f"{k}.png")
    query = support / "class3" / "0.png"
    predicted = mt("predict", "g", "--support", str(support), "--query", str(query), "--json")
    assert predicted.returncode == 0, predicted.stderr
    (row,) = json.loads(predicted.stdout)
    assert row["class"].startswith("class") and 0.2 <= row["probability"] <= 1


def test_maml_has_no_mask_to_export(mt):
    summary(mt("train", "--run-id", "m", "--method", "maml", "--json", *TINY))
    refused = mt("export-mask", "m")
    assert refused.returncode == 1
    assert "learns no mask" in refused.stderr and refused.stderr.count("\n") == 1


def test_sinusoid_regression_reports_mse(mt):
    s = summary(mt("train", "--preset", "sinusoid-metaticket-reg", "--json", *TINY))
    assert s["test"]["metric"] == "mse" and s["test"]["mean"] > 0


def test_impossible_settings_fail_before_work(mt, tmp_path):
    too_many = mt("train", "--ways", "150")
    assert too_many.returncode == 1 and "has 100 classes" in too_many.stderr
    no_data = mt("train", "--preset", "omniglot-5w1s-maml")
    assert no_data.returncode == 1 and "--data-root" in no_data.stderr
    no_root = mt("train", "--preset", "miniimagenet-resnet12-5w1s-maml")
    assert no_root.returncode == 1 and "--data-root" in no_root.stderr
    misfit = mt("train", "--preset", "miniimagenet-resnet12-5w1s-maml", "--dataset", "sinusoid")
    assert misfit.returncode == 1 and misfit.stderr.count("\n") == 1
    assert not (tmp_path / "runs").exists()


def test_real_omniglot_maml(mt, omniglot_root):
    root = str(omniglot_root)
    args = ["--method", "maml", "--dataset", "omniglot", "--data-root", root, "--json", *TINY]
    s = summary(mt("train", *args))
    assert s["test"]["metric"] == "accuracy" and s["test"]["mean"] > 0.2
