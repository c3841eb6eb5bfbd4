"""``--precision bf16`` end to end on the embedded glyphs: training still learns, what is
stored stays float32, and ``mt test`` runs in the run's precision unless told otherwise."""

from __future__ import annotations

import json

import pytest
from safetensors import safe_open

TINY = ["--iterations", "40", "--set", "val_interval=40", "--set", "val_episodes=10",
        "--set", "test_episodes=50", "--device", "cpu"]  # fmt: skip


def summary(result) -> dict:
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_bf16_training_learns_and_stores_float32(mt, tmp_path):
    trained = summary(mt("train", "--run-id", "b", "--precision", "bf16", "--json", *TINY))
    assert trained["test"]["mean"] > 0.5  # 5-way: chance is 0.2; 40 iterations reach ~0.8
    run = tmp_path / "runs" / "b"
    assert json.loads((run / "config.json").read_text())["precision"] == "bf16"
    with safe_open(str(run / "checkpoints" / "last.safetensors"), "pt") as stored:
        # a safe_open has keys() but is not iterable
        dtypes = {k: stored.get_slice(k).get_dtype() for k in stored.keys()}  # noqa: SIM118
    floats = {k: d for k, d in dtypes.items() if k.startswith(("learner/", "optimizer/"))}
    assert any("score" in k for k in floats) and any(k.startswith("optimizer/") for k in floats)
    assert set(floats.values()) == {"F32"}

    again = summary(mt("test", "b", "--episodes", "50", "--json"))
    assert again["mean"] == trained["test"]["mean"]  # same episodes, same precision
    as_fp32 = summary(mt("test", "b", "--episodes", "50", "--precision", "fp32", "--json"))
    assert 0.5 < as_fp32["mean"] <= 1


def test_unknown_precision_is_one_line(mt):
    refused = mt("train", "--precision", "fp16", "--iterations", "1")
    assert refused.returncode == 1
    assert "precision='fp16'" in refused.stderr and refused.stderr.count("\n") == 1
