"""``mt train --nproc 2`` (gloo on CPU) against one process, with the real methods on glyphs."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import load_file

# 5-shot: with 1-shot tasks BatchNorm over 5 examples makes second-order MAML so sensitive that
# float rounding alone (summing the tasks' gradients in another order) grows ~20x per step
RUN = ["--iterations", "3", "--meta-batch", "4",
       "--set", "val_interval=3", "--set", "val_episodes=4", "--set", "test_episodes=4"]  # fmt: skip


@pytest.mark.parametrize(
    "method, settings",
    [
        # Adam would turn the rounding noise of zero gradients (biases that BatchNorm cancels)
        # into steps of +-lr that differ between runs; SGD compares the meta-gradients
        ("maml", ["--set", "outer_optimizer=sgd", "--outer-lr", "0.1"]),  # parameters
        ("metaticket+iterand", ["--set", "iterand_period=1"]),  # scores; IteRand every step
    ],
)
def test_two_processes_equal_one(mt, tmp_path, method, settings):
    for run_id, extra in (("one", []), ("two", ["--nproc", "2"])):
        args = ("train", "--method", method, "--run-id", run_id, *RUN, *settings, *extra)
        done = mt(*args, env={"OMP_NUM_THREADS": "1"})  # the same float rounding in every process
        assert done.returncode == 0, done.stderr
        assert done.stdout.count("meta-test") == 1
    one, two = (
        load_file(tmp_path / "runs" / r / "checkpoints" / "last.safetensors")
        for r in ("one", "two")
    )
    learned = [k for k in one if k.startswith("learner/")]
    assert learned and one.keys() == two.keys()
    for key in learned:
        torch.testing.assert_close(two[key], one[key], rtol=0, atol=1e-6, msg=key)
    val = [json.loads(line) for line in (tmp_path / "runs" / "two" / "metrics.jsonl").open()]
    assert [r["iteration"] for r in val] == [1, 2, 3, 3]
