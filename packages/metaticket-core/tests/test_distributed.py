"""Data-parallel training on CPU with gloo: ``mt train --nproc 2`` on the toy plugin.

The ranks run ``toy_worker.py`` (the CLI with the toy plugin) instead of ``python -m
metaticket_core``, which would only know the installed plugins.
"""

import json
import time

import pytest
import torch
import yaml

from metaticket_core import ConfigError, RunConfig
from metaticket_core.app.cli import main
from metaticket_core.engine import checkpoint, distributed
from metaticket_core.engine.runs import Run, create_run, list_runs
from metaticket_core.engine.trainer import Trainer, build

pytestmark = pytest.mark.slow  # two ranks in processes of their own

TOLERANCE = 1e-6
SETTINGS = {"meta_batch": 4, "iterations": 6, "val_interval": 3}


@pytest.fixture
def mt(tmp_path, toy_config, toy_children, monkeypatch, capfd):
    """``mt train`` on the toys with a config file; returns (exit code, stdout, stderr)."""
    monkeypatch.setenv("MT_RUNS_DIR", str(tmp_path / "runs"))
    config = tmp_path / "toy.yaml"
    config.write_text(yaml.safe_dump({**toy_config, **SETTINGS}))

    def run(*args: str) -> tuple[int, str, str]:
        with pytest.raises(SystemExit) as info:
            main(["train", *([] if "--resume" in args else ["--config", str(config)]), *args])
        out, err = capfd.readouterr()
        return info.value.code or 0, out, err

    return run


class SingleProcess:
    """The reference: the same config trained step by step in this process."""

    def __init__(self, toy_config, tmp_path):
        config = RunConfig(**{**toy_config, **SETTINGS})
        self.trainer = Trainer(build(config), create_run(config, tmp_path / "single"))

    def train_to(self, iteration):
        for i in range(self.trainer.iteration + 1, iteration + 1):
            self.trainer.step(i)
            self.trainer.iteration = i
        return self.trainer


def assert_same_state(trainer, run_path):
    tensors, state = checkpoint.load(run_path / "checkpoints" / "last.safetensors")
    assert state["iteration"] == trainer.iteration
    for key, value in trainer.x.learner.state_dict().items():
        torch.testing.assert_close(tensors[f"learner/{key}"], value, rtol=0, atol=TOLERANCE)
    saved = [v for k, v in tensors.items() if k.endswith("momentum_buffer")]
    momentum = [s["momentum_buffer"] for s in trainer.optimizer.state.values()]
    assert [t.shape for t in saved] == [t.shape for t in momentum]
    for a, b in zip(saved, momentum, strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=TOLERANCE)


def test_two_ranks_equal_one_process_a_failing_rank_stops_them_and_they_resume(
    mt, toy_config, tmp_path, monkeypatch
):
    monkeypatch.setenv("MT_TEST_FAIL", "1:5")
    started = time.perf_counter()
    code, out, err = mt("--nproc", "2", "--run-id", "d")
    assert code == 1 and "toy failure on rank 1 at iteration 5" in err
    assert "Traceback" not in err and time.perf_counter() - started < 60
    assert out.count("run d in") == 1  # rank 0 alone prints
    run = tmp_path / "runs" / "d"
    assert [r.id for r in list_runs(tmp_path / "runs")] == ["d"]
    single = SingleProcess(toy_config, tmp_path)
    assert_same_state(single.train_to(3), run)  # the checkpoint of the last validation
    assert Run(run).state() != "running"

    monkeypatch.delenv("MT_TEST_FAIL")
    code, out, err = mt("--resume", "d", "--nproc", "2", "--json")
    assert code == 0, err
    assert out.count("meta-test") == 1
    assert_same_state(single.train_to(6), run)
    iterations = [json.loads(line)["iteration"] for line in (run / "metrics.jsonl").open()]
    assert iterations == [1, 2, 3, 3, 4, 5, 6, 6]  # written once, by rank 0


def test_two_ranks_test_what_one_process_does(mt, tmp_path, capfd):
    """Each rank draws its own test episodes (each seeded on its own); together they score
    the episodes one process does: the untrained start, so both test the same weights."""
    code, _, err = mt("--nproc", "2", "--run-id", "z", "--iterations", "0", "--json")
    assert code == 0, err
    with pytest.raises(SystemExit) as one:
        main(["test", "z", "--json"])
    assert not one.value.code
    one_process = json.loads(capfd.readouterr().out)
    two_ranks = Run(tmp_path / "runs" / "z").test_result()
    assert two_ranks["episodes"] == 10
    assert {k: one_process[k] for k in two_ranks} == two_ranks


def test_a_rank_that_hangs_times_out(mt, monkeypatch):
    monkeypatch.setenv("MT_TEST_HANG", "1:2")
    monkeypatch.setenv("MT_DIST_TIMEOUT", "2")
    started = time.perf_counter()
    code, _, err = mt("--nproc", "2")
    assert code == 1 and "rank 0 lost the other ranks during all_reduce" in err
    assert time.perf_counter() - started < 60


def test_meta_batch_must_divide_by_the_world_size(mt, tmp_path):
    code, _, err = mt("--nproc", "2", "--set", "meta_batch=3")
    assert code == 1
    assert "meta_batch=3 does not divide by the world size 2" in err and err.count("\n") == 1
    assert list_runs(tmp_path / "runs") == []
    with pytest.raises(ConfigError, match="world size 4"):
        distributed.share(6, distributed.World(rank=1, size=4))


def test_a_rank_binds_its_gpu_before_joining_the_group(monkeypatch):
    """With CUDA (faked), rank 1 makes GPU 1 its device first, then joins the group bound to it;
    the average over GPU tensors is NCCL's own AVG, gloo's a sum divided after."""
    calls = []
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    monkeypatch.setattr(torch.cuda, "set_device", lambda d: calls.append(("set_device", d)))
    monkeypatch.setattr(
        distributed.dist,
        "init_process_group",
        lambda backend, **kw: calls.append(("init", backend, kw.get("device_id"))),
    )
    monkeypatch.setattr(distributed.dist, "barrier", lambda: None)
    monkeypatch.setattr(distributed.dist, "destroy_process_group", lambda: None)
    with distributed.process_group(distributed.World(rank=1, size=2, local_rank=1)):
        pass
    gpu = torch.device("cuda", 1)
    assert calls == [("set_device", gpu), ("init", "cpu:gloo,cuda:nccl", gpu)]
    assert distributed.reduce_mean(gpu) == (distributed.dist.ReduceOp.AVG, False)
    assert distributed.reduce_mean(torch.device("cpu")) == (distributed.dist.ReduceOp.SUM, True)
