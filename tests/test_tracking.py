"""`mt train --log`: TensorBoard event files and CSV rows read back equal metrics.jsonl."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

TINY = ["--iterations", "30", "--set", "val_interval=15", "--set", "val_episodes=10",
        "--set", "test_episodes=20"]  # fmt: skip


def test_metaticket_run_logs_the_same_numbers_everywhere(mt, tmp_path):
    trained = mt("train", "--run-id", "t", "--log", "tensorboard", "--log", "csv", *TINY)
    assert trained.returncode == 0, trained.stderr
    run = tmp_path / "runs" / "t"
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert json.loads((run / "config.json").read_text())["loggers"] == ["tensorboard", "csv"]

    with open(run / "metrics.csv", newline="") as f:
        rows = [(int(r["iteration"]), r["name"], float(r["value"])) for r in csv.DictReader(f)]
    skipped = {"iteration", "kind"}  # the CSV holds the numbers; kind shows in the names
    expected = [(r["iteration"], k, v) for r in records for k, v in r.items() if k not in skipped]
    assert rows == expected
    assert {r["kind"] for r in records if "val_loss" in r} == {"val"}
    assert {r["kind"] for r in records if "val_loss" not in r} == {"train"}

    try:
        from tensorboard.backend.event_processing import event_accumulator
    except ImportError:
        pytest.skip("tensorboard is not installed: pip install 'metaticket-core[tensorboard]'")
    events = event_accumulator.EventAccumulator(
        str(run / "tensorboard"), size_guidance={"scalars": 0, "histograms": 0}
    ).Reload()
    names = {k for r in records for k in r} - {"iteration", "time", "kind"}
    assert {"loss", "accuracy", "lr", "sparsity", "val_accuracy", "val_loss"} <= names
    assert set(events.Tags()["scalars"]) == names
    for name in names:
        want = [(r["iteration"], np.float32(r[name])) for r in records if name in r]
        assert [(e.step, np.float32(e.value)) for e in events.Scalars(name)] == want, name

    layers = {k.split("/", 1)[1] for k in names if k.startswith("sparsity/")}
    assert len(layers) == 4  # the MLP's prunable layers
    assert set(events.Tags()["histograms"]) == {f"mask_scores/{layer}" for layer in layers}
    for layer in layers:
        assert [h.step for h in events.Histograms(f"mask_scores/{layer}")] == [15, 30]
