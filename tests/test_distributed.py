"""``mt train --nproc 2`` (gloo on CPU) against one process, with the real methods on glyphs."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import load_file

from metaticket_core.app.cli import main

pytestmark = pytest.mark.slow  # two ranks in processes of their own

# 5-shot: with 1-shot tasks BatchNorm over 5 examples makes second-order MAML so sensitive that
# float rounding alone (summing the tasks' gradients in another order) grows ~20x per step
RUN = ["--iterations", "2", "--meta-batch", "2",
       "--set", "val_interval=2", "--set", "val_episodes=2", "--set", "test_episodes=2"]  # fmt: skip


@pytest.mark.parametrize(
    "method, settings",
    [
        # Adam would turn the rounding noise of zero gradients (biases that BatchNorm cancels)
        # into steps of +-lr that differ between runs; SGD compares the meta-gradients
        ("maml", ["--set", "outer_optimizer=sgd", "--outer-lr", "0.1"]),  # parameters
        ("metaticket+iterand", ["--set", "iterand_period=1"]),  # scores; IteRand every step
    ],
)
def test_two_processes_equal_one(mt_process, tmp_path, cache_dir, monkeypatch, method, settings):
    args = ["train", "--method", method, *RUN, *settings]
    monkeypatch.chdir(tmp_path)  # the reference trains in this process: one start fewer
    monkeypatch.setenv("MT_CACHE_DIR", str(cache_dir))
    assert torch.get_num_threads() == 1  # the same float rounding as every rank
    with pytest.raises(SystemExit) as one:
        main([*args, "--run-id", "one"])
    assert not one.value.code
    two = mt_process(*args, "--run-id", "two", "--nproc", "2", env={"OMP_NUM_THREADS": "1"})
    assert two.returncode == 0, two.stderr
    assert two.stdout.count("meta-test") == 1
    one, two = (
        load_file(tmp_path / "runs" / r / "checkpoints" / "last.safetensors")
        for r in ("one", "two")
    )
    learned = [k for k in one if k.startswith("learner/")]
    assert learned and one.keys() == two.keys()
    for key in learned:
        torch.testing.assert_close(two[key], one[key], rtol=0, atol=1e-6, msg=key)
    val = [json.loads(line) for line in (tmp_path / "runs" / "two" / "metrics.jsonl").open()]
    assert [r["iteration"] for r in val] == [1, 2, 2]
