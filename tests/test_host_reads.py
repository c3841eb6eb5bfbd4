"""Reads of tensor values on the host by the project's own code: each is a device sync that
stalls a GPU's queue. A training step that logs nothing reads the loss alone (its divergence
check), and evaluation reads once per batch of episodes, not per episode (issue 26)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch

from metaticket_core import load_config
from metaticket_core.api.presets import preset
from metaticket_core.engine.evaluation import episode_scores
from metaticket_core.engine.runs import create_run
from metaticket_core.engine.trainer import Trainer, build

ROOT = Path(__file__).resolve().parents[1]
OURS = tuple(str(src) for src in ROOT.glob("*/*/src"))
READS = ("item", "tolist", "numpy", "__float__", "__int__", "__bool__", "__index__", "__array__")


@pytest.fixture
def reads(monkeypatch):
    """Counts the reads whose caller is a module of the project (any thread)."""
    counted = []

    def counting(name, original):
        def read(self, *args, **kwargs):
            caller = sys._getframe(1).f_code.co_filename
            if caller.startswith(OURS):
                counted.append(f"{name} at {Path(caller).name}:{sys._getframe(1).f_lineno}")
            return original(self, *args, **kwargs)

        return read

    for name in READS:
        monkeypatch.setattr(torch.Tensor, name, counting(name, getattr(torch.Tensor, name)))
    return counted


@pytest.fixture(params=["maml", "metaticket", "metaticket+metasgd"])
def trainer(request, tmp_path, cache_dir, monkeypatch):
    monkeypatch.setenv("MT_CACHE_DIR", str(cache_dir))
    config = load_config(
        None,
        overrides={"method": request.param, "iterations": 6, "meta_batch": 2},
        preset=preset("demo"),
    )
    return Trainer(build(config), create_run(config, tmp_path, "reads"))


def test_a_step_that_logs_nothing_reads_once(trainer, reads):
    for iteration in range(1, 4):
        reads.clear()
        trainer.step(iteration)
        assert len(reads) == 1, reads  # the loss, checked to be finite


def test_a_logged_step_reads_its_window_once(trainer, reads):
    trainer._advance(1)  # iterations // 200 == 0: every step logs
    # the loss, the window's metrics, the masks' sparsity (Meta-ticket)
    assert len(reads) == (3 if trainer.x.learner.masks() else 2), reads


def test_evaluation_reads_once_per_batch_of_episodes(trainer, reads):
    x = trainer.x
    scores = episode_scores(x.learner, x.dataset, x.config, "val", 5, x.device)
    assert len(scores) == 5 and all(isinstance(s["loss"], float) for s in scores)
    assert len(reads) == 1, reads
