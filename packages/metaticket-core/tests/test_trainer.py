import math
from types import SimpleNamespace

import pytest
import torch

from metaticket_core import ConfigError, DataError, OuterDefaults, RunConfig
from metaticket_core.api.config import validate
from metaticket_core.api.outer_optimizer import guard_, lr_factor, outer_settings
from metaticket_core.engine import checkpoint
from metaticket_core.engine import trainer as trainer_module
from metaticket_core.engine.runs import create_run, list_runs
from metaticket_core.engine.trainer import Trainer, TrainingDiverged, TrainingInterrupted, build


def make(settings, tmp_path, run_id="run", **changes):
    config = RunConfig(**{**settings, **changes})
    experiment = build(config)
    return Trainer(experiment, create_run(config, tmp_path, run_id))


def state(trainer):
    return {k: v.clone() for k, v in trainer.x.learner.state_dict().items()}


def test_resume_is_bit_identical(toy_config, tmp_path, monkeypatch):
    whole = make(toy_config, tmp_path, "whole")
    whole.fit()

    split = make(toy_config, tmp_path, "split")
    original_step = Trainer.step

    def interrupt_at_11(self, iteration, diagnostics=False):
        if iteration == 11:
            raise KeyboardInterrupt
        return original_step(self, iteration, diagnostics)

    monkeypatch.setattr(Trainer, "step", interrupt_at_11)
    with pytest.raises(TrainingInterrupted, match="mt train --resume split"):
        split.fit()
    monkeypatch.setattr(Trainer, "step", original_step)
    assert split.run.status()["state"] == "interrupted"

    torch.manual_seed(12345)  # a fresh process would have another generator state
    resumed = Trainer(build(split.config), split.run)
    resumed.restore("last")
    assert resumed.iteration == 10
    resumed.fit()

    a, b = state(whole), state(resumed)
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), key
    for group_a, group_b in zip(
        whole.optimizer.state.values(), resumed.optimizer.state.values(), strict=True
    ):
        assert torch.equal(group_a["momentum_buffer"], group_b["momentum_buffer"])


def test_train_seconds_count_every_session_up_to_its_checkpoint(toy_config, tmp_path, monkeypatch):
    """A clock that moves one second per step: 10 steps, an interrupt, the other 10 after a
    resume make 20 seconds; a checkpoint from before the seconds were kept makes them unknown."""
    clock, interrupts = [0.0], [11]
    monkeypatch.setattr(trainer_module, "time", SimpleNamespace(perf_counter=lambda: clock[0]))
    original_step = Trainer.step

    def timed_step(self, iteration, diagnostics=False):
        if iteration in interrupts:
            interrupts.clear()
            raise KeyboardInterrupt
        clock[0] += 1
        return original_step(self, iteration, diagnostics)

    monkeypatch.setattr(Trainer, "step", timed_step)
    first = make(toy_config, tmp_path)
    with pytest.raises(TrainingInterrupted):
        first.fit()
    path = first.run.checkpoint("last")
    tensors, saved = checkpoint.load(path)
    assert saved["iteration"] == 10 and saved["seconds"] == 10.0

    resumed = Trainer(build(first.config), first.run)
    resumed.restore("last")
    resumed.fit()
    assert first.run.status()["train_seconds"] == 20.0

    checkpoint.save(path, tensors, {k: v for k, v in saved.items() if k != "seconds"})
    older = Trainer(build(first.config), first.run)
    older.restore("last")
    assert older.seconds() is None


def test_training_learns_and_logs(toy_config, tmp_path):
    trainer = make(toy_config, tmp_path, iterations=60, val_interval=30, val_episodes=20)
    trainer.fit()
    result = trainer.test(episodes=50)
    assert result.metric == "accuracy" and 0 <= result.mean <= 1 and result.ci95 > 0
    records = trainer.run.metrics()
    train = [r for r in records if "loss" in r]
    assert [r["iteration"] for r in train] == list(range(1, 61))
    first, last = train[:15], train[-15:]
    assert sum(r["loss"] for r in last) < 0.9 * sum(r["loss"] for r in first)
    assert [r["iteration"] for r in records if "val_accuracy" in r] == [30, 60]
    assert 0 < train[-1]["sparsity"] < 1 and "sparsity/body.weight" in train[-1]
    assert trainer.run.test_result()["mean"] == result.mean
    assert trainer.run.checkpoint("best").exists() and trainer.run.checkpoint("last").exists()
    assert trainer.run.status()["state"] == "finished"


def test_lr_schedule_is_the_authors_custom_cosine():
    """CustomCosineLR at 0-based it = i - 1: (it + 1) / (W + 1) while it < W, then
    0.5 (1 + cos(pi (it - W) / (T - W)))."""
    s = OuterDefaults(lr=1.0, schedule="cosine", warmup=10)
    assert lr_factor(1, s, 110) == pytest.approx(1 / 11)
    assert lr_factor(10, s, 110) == pytest.approx(10 / 11)
    assert lr_factor(11, s, 110) == pytest.approx(1.0)
    assert lr_factor(61, s, 110) == pytest.approx(0.5)
    assert lr_factor(110, s, 110) == pytest.approx(0.5 * (1 + math.cos(math.pi * 0.99)))
    constant = OuterDefaults(lr=1.0, schedule="constant", warmup=0)
    assert lr_factor(1, constant, 5) == lr_factor(5, constant, 5) == 1.0
    assert lr_factor(3, OuterDefaults(warmup=100), 5) == pytest.approx(3 / 101)


def test_config_overrides_method_defaults(toy_config):
    experiment = build(RunConfig(**{**toy_config, "outer_lr": 0.01, "warmup": 7}))
    s = outer_settings(experiment.config, experiment.learner)
    assert (s.optimizer, s.lr, s.momentum, s.schedule, s.warmup) == ("sgd", 0.01, 0.9, "cosine", 7)


def test_divergence_keeps_last_good_checkpoint(toy_config, tmp_path, monkeypatch):
    trainer = make(toy_config, tmp_path)
    original = type(trainer.x.learner).outer_loss

    def nan_after_12(self, tasks, diagnostics=False):
        loss, metrics = original(self, tasks, diagnostics)
        return (loss * math.nan if trainer.iteration >= 12 else loss), metrics

    monkeypatch.setattr(type(trainer.x.learner), "outer_loss", nan_after_12)
    with pytest.raises(TrainingDiverged, match=r"iteration 13.*checkpoint \(iteration 10\)"):
        trainer.fit()
    _, saved = checkpoint.load(trainer.run.checkpoint("last"))
    assert saved["iteration"] == 10
    assert trainer.run.status()["state"] == "diverged"


def test_failed_checkpoint_write_leaves_previous(toy_config, tmp_path, monkeypatch):
    trainer = make(toy_config, tmp_path)
    trainer.save("last")
    before, _ = checkpoint.load(trainer.run.checkpoint("last"))

    def broken(tensors, filename, metadata=None):
        with open(filename, "wb") as f:
            f.write(b"partial")
        raise OSError("disk full")

    monkeypatch.setattr(checkpoint, "save_file", broken)
    trainer.iteration = 5
    with pytest.raises(OSError, match="disk full"):
        trainer.save("last")
    after, saved = checkpoint.load(trainer.run.checkpoint("last"))
    assert saved["iteration"] == 0
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert [p.name for p in trainer.run.checkpoints.iterdir()] == ["last.safetensors"]


def test_too_small_split_fails_before_any_run_folder(toy_config, tmp_path):
    with pytest.raises(DataError, match="8 classes, asked 9 ways"):
        build(RunConfig(**{**toy_config, "ways": 9}))
    assert list_runs(tmp_path) == []


def test_diagnostics_only_on_logged_iterations(toy_config, tmp_path, monkeypatch):
    trainer = make(toy_config, tmp_path, iterations=600, val_interval=600, val_episodes=2)
    original = type(trainer.x.learner).outer_loss
    asked = []

    def with_diagnostics(self, tasks, diagnostics=False):
        loss, metrics = original(self, tasks)
        asked.append(diagnostics)
        return loss, {**metrics, **({"grad/w": len(asked)} if diagnostics else {})}

    monkeypatch.setattr(type(trainer.x.learner), "outer_loss", with_diagnostics)
    trainer.fit()
    assert [i + 1 for i, a in enumerate(asked) if a] == list(range(3, 601, 3))  # every 600 // 200
    train = [r for r in trainer.run.metrics() if "loss" in r]
    assert [r["grad/w"] for r in train] == list(range(3, 601, 3))  # the logged step's own value


def test_zero_iterations_tests_the_untrained_start(toy_config, tmp_path):
    trainer = make(toy_config, tmp_path, iterations=0)
    initial = state(trainer)
    trainer.fit()
    result = trainer.test(episodes=10)
    assert all(torch.equal(v, initial[k]) for k, v in state(trainer).items())
    assert trainer.run.test_result()["mean"] == result.mean
    _, saved = checkpoint.load(trainer.run.checkpoint("last"))
    assert saved["iteration"] == 0
    assert not [r for r in trainer.run.metrics() if "loss" in r]


def test_step_differentiates_only_the_meta_parameters(toy_config, tmp_path, monkeypatch):
    trainer = make(toy_config, tmp_path)
    # like Meta-ticket's random weights: differentiated in the inner loop, never meta-trained
    fixed = torch.ones(1, requires_grad=True)
    original = type(trainer.x.learner).outer_loss

    def with_fixed_leaf(self, tasks, diagnostics=False):
        loss, metrics = original(self, tasks)
        return loss * fixed, metrics

    monkeypatch.setattr(type(trainer.x.learner), "outer_loss", with_fixed_leaf)
    trainer.step(1)
    assert fixed.grad is None
    assert all(p.grad is not None for p in trainer.meta_parameters)


def test_guard_rescales_only_a_spike():
    a, b = torch.nn.Parameter(torch.zeros(2)), torch.nn.Parameter(torch.zeros(1))
    a.grad, b.grad = torch.tensor([3.0, 4.0]), torch.tensor([12.0])  # joint norm 13
    assert guard_([a, b], above=20.0, to=2.0).item() == 0.0
    assert a.grad.tolist() == [3.0, 4.0] and b.grad.tolist() == [12.0]  # exactly as they were
    assert guard_([a, b], above=10.0, to=2.0).item() == 1.0
    assert a.grad.tolist() == pytest.approx([6 / 13, 8 / 13]) and b.grad.tolist() == pytest.approx(
        [24 / 13]
    )


def test_outer_guard_in_training(toy_config, tmp_path, monkeypatch):
    """Off: the run as without it. On below every step's norm: each update sees the norm it
    was scaled to, and the records say so."""
    plain = make(toy_config, tmp_path, "plain")
    plain.fit()
    loose = make(toy_config, tmp_path, "loose", outer_guard=1e12)
    loose.fit()
    for key, value in state(plain).items():
        assert torch.equal(value, state(loose)[key]), key

    norms = []
    tight = make(toy_config, tmp_path, "tight", outer_guard=1e-4, outer_guard_to=1e-5)
    original = type(tight.optimizer).step

    def record_norm(self, *args, **kwargs):
        grads = [
            p.grad.flatten() for g in self.param_groups for p in g["params"] if p.grad is not None
        ]
        norms.append(torch.cat(grads).norm().item())
        return original(self, *args, **kwargs)

    monkeypatch.setattr(type(tight.optimizer), "step", record_norm)
    tight.fit()
    assert len(norms) == toy_config["iterations"]
    assert norms == pytest.approx([1e-5] * len(norms), rel=1e-4)
    records = [r for r in tight.run.metrics() if "loss" in r]
    assert records and all(r["guarded"] == 1.0 for r in records)


def test_outer_guard_only_scales_down(toy_config):
    with pytest.raises(ConfigError, match=r"outer_guard_to=20\.0 exceeds outer_guard=10\.0"):
        validate({**toy_config, "outer_guard": 10, "outer_guard_to": 20})


def test_prefetching_changes_nothing(toy_config, tmp_path):
    """The next step's tasks are drawn in a background thread while a step runs: the same
    weights, optimizer state and logged metrics as drawing them in the step."""
    runs = {}
    for prefetch in (True, False):
        torch.manual_seed(7)
        config = RunConfig(**toy_config)
        runs[prefetch] = Trainer(
            build(config), create_run(config, tmp_path, f"p{prefetch}"), prefetch=prefetch
        )
        runs[prefetch].fit()
    a, b = state(runs[True]), state(runs[False])
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    metrics = {
        p: [{k: v for k, v in row.items() if k != "time"} for row in t.run.metrics()]
        for p, t in runs.items()
    }
    assert metrics[True] == metrics[False] and len(metrics[True]) == 20 + 2  # steps, validations
    assert runs[True].episodes.pool is None  # the thread ends with the training
