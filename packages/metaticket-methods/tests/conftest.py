"""Tiny float64 backbones and tasks, so that the tests do not depend on metaticket-models."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from metaticket_core import Backbone, MetaLearner, RunConfig, Task, factory_options


class TinyNet(Backbone):
    """x -> fc1 -> [BatchNorm] -> ReLU -> fc2 -> ReLU -> head."""

    def __init__(
        self, inp: int = 3, hidden: int = 4, out: int = 2, batchnorm: str | None = "batch"
    ):
        super().__init__()
        self.fc1 = nn.Linear(inp, hidden)
        self.bn = (
            nn.BatchNorm1d(hidden, track_running_stats=batchnorm == "running")
            if batchnorm
            else None
        )
        self.fc2 = nn.Linear(hidden, hidden)
        self.head = nn.Linear(hidden, out)
        self.double()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.fc1(x)
        if self.bn is not None:
            h = self.bn(h)
        return self.head(F.relu(self.fc2(F.relu(h))))

    def parameter_tags(self) -> dict[str, frozenset[str]]:
        tags = {
            "fc1.weight": {"prunable", "input"},
            "fc1.bias": {"bias", "input"},
            "bn.weight": {"norm"},
            "bn.bias": {"norm"},
            "fc2.weight": {"prunable"},
            "fc2.bias": {"bias"},
            "head.weight": {"head"},
            "head.bias": {"head", "bias"},
        }
        return {n: frozenset(tags[n]) for n, _ in self.named_parameters()}


def functional_net(p: dict[str, torch.Tensor], x: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    """TinyNet written out by hand (batch-statistics BatchNorm), independent of nn modules."""
    h = x @ p["fc1.weight"].T + p["fc1.bias"]
    if "bn.weight" in p:
        mean = h.mean(0)
        var = ((h - mean) ** 2).mean(0)
        h = (h - mean) / torch.sqrt(var + eps) * p["bn.weight"] + p["bn.bias"]
    h = torch.relu(h)
    h = torch.relu(h @ p["fc2.weight"].T + p["fc2.bias"])
    return h @ p["head.weight"].T + p["head.bias"]


@pytest.fixture
def tiny() -> Callable[..., TinyNet]:
    def build(seed: int = 0, **kwargs) -> TinyNet:
        torch.manual_seed(seed)
        return TinyNet(**kwargs)

    return build


@pytest.fixture
def net() -> Callable[[dict[str, torch.Tensor], torch.Tensor], torch.Tensor]:
    return functional_net


@pytest.fixture
def config() -> Callable[..., RunConfig]:
    def build(**kwargs) -> RunConfig:
        defaults = {"inner_lr": 0.3, "inner_steps": 2, "test_inner_steps": 3}
        return RunConfig(**{**defaults, **kwargs})

    return build


@pytest.fixture
def build() -> Callable[..., MetaLearner]:
    def make(factory: Callable[..., MetaLearner], backbone: Backbone, config: RunConfig):
        """``factory`` on ``backbone`` with those of the config's method options it takes
        (here mostly spelt the legacy way, ``config(p_init=0.5)``): one config serves several
        methods in these tests, where the trainer refuses an option a method does not take."""
        takes = factory_options(factory)
        options = {k: v for k, v in config.method_options.items() if k in takes}
        return factory(backbone, config, **options)

    return make


@pytest.fixture
def tasks() -> Callable[..., list[Task]]:
    def build(n: int = 2, inp: int = 3, ways: int = 2, shots: int = 3, seed: int = 1) -> list[Task]:
        g = torch.Generator().manual_seed(seed)
        labels = torch.arange(ways).repeat(shots)

        def x() -> torch.Tensor:
            return torch.randn(len(labels), inp, generator=g, dtype=torch.float64)

        return [Task(x(), labels, x(), labels) for _ in range(n)]

    return build
