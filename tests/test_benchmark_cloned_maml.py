"""The plain cloned-modules MAML that benchmarks/step_time.py times computes our maml's loss and
meta-gradient (float64, second order, two inner steps, BatchNorm on batch statistics)."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import pytest
import torch

from metaticket_core import RunConfig, Task
from metaticket_methods.maml import maml
from metaticket_models.conv import build_conv4
from metaticket_models.mlp import build_mlp

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


@pytest.fixture
def step_time(monkeypatch):
    """benchmarks/step_time.py as a module (it imports its sibling ``_common``)."""
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    yield importlib.import_module("step_time")
    for name in ("step_time", "_common"):
        sys.modules.pop(name, None)


def tasks(shape: tuple[int, ...], n: int = 3, ways: int = 3, shots: int = 2) -> list[Task]:
    generator = torch.Generator().manual_seed(1)
    labels = torch.arange(ways).repeat_interleave(shots)

    def x() -> torch.Tensor:
        return torch.randn(len(labels), *shape, generator=generator, dtype=torch.float64)

    return [Task(x(), labels, x(), labels) for _ in range(n)]


@pytest.mark.parametrize(
    ("builder", "shape", "options"),
    [(build_mlp, (1, 4, 4), {}), (build_conv4, (2, 16, 16), {"channels": 3})],
    ids=["mlp", "conv4"],
)
def test_cloned_modules_maml_has_the_library_meta_gradient(step_time, builder, shape, options):
    torch.manual_seed(0)
    backbone = builder(3, shape, batchnorm="batch", **options).double()
    learner = maml(backbone, RunConfig(inner_lr=0.3, inner_steps=2))
    batch = tasks(shape)
    ours, _ = learner.outer_loss(batch)
    ours.backward()
    expected = {n: p.grad for n, p in backbone.named_parameters()}
    backbone.zero_grad(set_to_none=True)

    plain = step_time.cloned_maml_loss(backbone, batch, lr=0.3, steps=2)
    plain.backward()

    torch.testing.assert_close(plain, ours)
    for name, param in backbone.named_parameters():
        assert param.is_leaf
        assert param.grad is not None, name
        assert param.grad.abs().sum() > 0, name
        torch.testing.assert_close(param.grad, expected[name], rtol=1e-9, atol=1e-12, msg=name)


def test_clone_keeps_absent_biases_and_links_to_the_originals(step_time):
    torch.manual_seed(0)
    module = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3, bias=False), torch.nn.BatchNorm2d(2))
    clone = step_time.clone_module(module)
    x = torch.randn(2, 1, 5, 5)
    torch.testing.assert_close(clone(x), module(x))
    assert clone[0].bias is None
    assert clone[0].weight is not module[0].weight
    clone(x).sum().backward()
    assert module[0].weight.grad is not None
