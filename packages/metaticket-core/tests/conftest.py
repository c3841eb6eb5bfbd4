"""Core tests never see the plugins installed in the environment: core's own plugin only.

``toys`` registers a tiny dataset, backbone and learner through an inline plugin, so the
trainer, runs and CLI can be tested with core alone.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from torch import nn
from torch.func import functional_call

from metaticket_core import (
    SPLITS,
    Backbone,
    DataError,
    FewShotDataset,
    MetaLearner,
    OuterDefaults,
    Task,
    hookimpl,
)
from metaticket_core.app.testing import isolated_plugins, registered_plugin
from metaticket_core.engine import distributed


@pytest.fixture(autouse=True)
def _isolated(monkeypatch):
    monkeypatch.delenv("MT_DISABLE_PLUGINS", raising=False)
    monkeypatch.delenv("MT_DEBUG", raising=False)
    monkeypatch.setenv("COLUMNS", "200")  # rich tables must not truncate what tests look for
    with isolated_plugins() as pm:
        yield pm


class ToyDataset(FewShotDataset):
    """Gaussian blobs in 4-D; 8 classes per split."""

    input_shape = (4,)

    def __init__(self, root=None, *, cache_dir=None, classes_per_split: int = 8):
        self.per_split = classes_per_split
        self.means = np.random.default_rng(0).normal(size=(3 * classes_per_split, 4)) * 2

    def check(self, split, *, ways, shots, queries):
        if ways > self.per_split:
            raise DataError(f"toy {split} split has {self.per_split} classes, asked {ways} ways")

    def episodes(self, split, *, ways, shots, queries, seed, rank=0, worker=0):
        rng = np.random.default_rng([seed, SPLITS.index(split), rank, worker])
        offset = SPLITS.index(split) * self.per_split
        while True:
            classes = offset + rng.choice(self.per_split, ways, replace=False)

            def draw(n, classes=classes):
                x = self.means[classes].repeat(n, 0) + rng.normal(size=(ways * n, 4))
                y = np.repeat(np.arange(ways), n)
                return torch.tensor(x, dtype=torch.float32), torch.tensor(y)

            sx, sy = draw(shots)
            qx, qy = draw(queries)
            yield Task(sx, sy, qx, qy, tuple(f"c{c}" for c in classes))


class ToyBackbone(Backbone):
    def __init__(self, out_features, input_shape, batchnorm="batch"):
        super().__init__()
        self.body = nn.Linear(input_shape[0], 8)
        self.head = nn.Linear(8, out_features)

    def forward(self, x):
        return self.head(torch.relu(self.body(x)))

    def parameter_tags(self):
        return {
            "body.weight": frozenset({"prunable", "input"}),
            "body.bias": frozenset({"bias", "input"}),
            "head.weight": frozenset({"head"}),
            "head.bias": frozenset({"head", "bias"}),
        }


class ToyLearner(MetaLearner):
    """Second-order MAML with one inner step, a fixed random mask on the body, and a random
    buffer redrawn after every step (so resuming must restore torch's generator)."""

    outer_defaults = OuterDefaults(optimizer="sgd", lr=0.1, momentum=0.9, schedule="cosine")

    def __init__(self, backbone, config):
        super().__init__()
        self.net = backbone
        self.inner_lr = config.inner_lr
        self.register_buffer("mask", (torch.rand(8, 4) > 0.3).float())
        self.register_buffer("noise", torch.zeros(1))

    def meta_parameters(self):
        return list(self.net.parameters())

    def _params(self):
        params = dict(self.net.named_parameters())
        params["body.weight"] = params["body.weight"] * self.mask
        return params

    def _adapt(self, task, create_graph):
        params = self._params()
        loss = nn.functional.cross_entropy(
            functional_call(self.net, params, (task.support_x,)), task.support_y
        )
        grads = torch.autograd.grad(loss, list(params.values()), create_graph=create_graph)
        return {k: p - self.inner_lr * g for (k, p), g in zip(params.items(), grads, strict=True)}

    def outer_loss(self, tasks, diagnostics=False):
        losses, accs = [], []
        for task in tasks:
            out = functional_call(self.net, self._adapt(task, True), (task.query_x,))
            losses.append(nn.functional.cross_entropy(out, task.query_y))
            accs.append((out.argmax(1) == task.query_y).float().mean().item())
        loss = torch.stack(losses).mean() + 0 * self.noise.sum()
        return loss, {"loss": loss.item(), "accuracy": sum(accs) / len(accs)}

    def adapt(self, support_x, support_y, steps=None):
        task = Task(support_x, support_y, support_x, support_y)
        return {k: v.detach() for k, v in self._adapt(task, False).items()}

    def predict(self, params, x):
        return functional_call(self.net, params, (x,))

    def evaluate(self, task):
        out = self.predict(self.adapt(task.support_x, task.support_y), task.query_x)
        return {
            "loss": nn.functional.cross_entropy(out, task.query_y).item(),
            "accuracy": (out.argmax(1) == task.query_y).float().mean().item(),
        }

    def after_step(self, iteration):
        self.noise.copy_(torch.rand(1))

    def masks(self):
        return {"body.weight": self.mask}

    def initial_parameters(self):
        return dict(self.net.named_parameters())


class ToyPlugin:
    @hookimpl
    def register_datasets(self, register):
        register("toy", ToyDataset, description="Gaussian blobs")

    @hookimpl
    def register_models(self, register):
        register("toynet", ToyBackbone, description="4-8-W MLP")

    @hookimpl
    def register_methods(self, register):
        register("toymaml", ToyLearner, description="second-order MAML, masked body")


@pytest.fixture
def toys():
    with registered_plugin(ToyPlugin(), "toys") as plugin:
        yield plugin


@pytest.fixture
def toy_children(toys, monkeypatch):
    """Processes that ``mt`` starts (ranks, sweep jobs) run toy_worker.py: the CLI with the toys
    (``python -m metaticket_core`` would only know the installed plugins)."""
    monkeypatch.setattr(distributed, "ENTRY_MODULE", "toy_worker")
    here = str(Path(__file__).parent)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([here, os.environ.get("PYTHONPATH", "")]))


@pytest.fixture
def toy_config(toys):
    """Settings of a tiny run on the toys (a plain dict, to modify freely)."""
    return dict(TOY_CONFIG)


TOY_CONFIG = {
    "method": "toymaml",
    "model": "toynet",
    "dataset": "toy",
    "ways": 3,
    "shots": 2,
    "queries": 3,
    "inner_lr": 0.5,
    "iterations": 20,
    "val_interval": 10,
    "val_episodes": 5,
    "test_episodes": 10,
    "device": "cpu",
}


@pytest.fixture
def cli(tmp_path, toy_config, monkeypatch, capsys):
    """``mt ARGS`` on the toys, in ``tmp_path``, a 4-iteration run ``t`` trained; returns
    (exit code, stdout, stderr)."""
    from metaticket_core.app.cli import main

    monkeypatch.setenv("MT_RUNS_DIR", str(tmp_path / "runs"))
    monkeypatch.chdir(tmp_path)
    config = tmp_path / "toy.yaml"
    config.write_text(yaml.safe_dump({**toy_config, "iterations": 4, "val_interval": 2}))

    def run(*argv: str) -> tuple[int, str, str]:
        with pytest.raises(SystemExit) as info:
            main(list(argv))
        out, err = capsys.readouterr()
        return info.value.code or 0, out, err

    assert run("train", "--config", str(config), "--run-id", "t")[0] == 0
    return run
