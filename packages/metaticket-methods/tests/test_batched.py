"""The batched meta-batch against the per-task loop, in float64: same loss, metrics and
meta-gradient, for MAML and Meta-ticket, first and second order, 1 and 2 inner steps, with
BatchNorm (batch statistics per task) and without (a sinusoid-style regression MLP)."""

from __future__ import annotations

import pytest
import torch

from metaticket_core import Task
from metaticket_methods.batched import AUTO_MAX_WEIGHTS, auto_batches, use_batched
from metaticket_methods.maml import boil, maml
from metaticket_methods.metaticket import metaticket, metaticket_boil, metaticket_reg


def regression_tasks(n: int, points: int = 5, seed: int = 2) -> list[Task]:
    g = torch.Generator().manual_seed(seed)

    def draw() -> torch.Tensor:
        return torch.randn(points, 1, generator=g, dtype=torch.float64)

    return [Task(draw(), draw(), draw(), draw()) for _ in range(n)]


def meta_gradient(build, factory, backbone, cfg, batch):
    learner = build(factory, backbone, cfg)
    loss, metrics = learner.outer_loss(batch, diagnostics=True)
    params = [p for p in learner.meta_parameters() if p.requires_grad]
    return loss, metrics, torch.autograd.grad(loss, params)


FACTORIES = [maml, boil, metaticket, metaticket_boil, metaticket_reg]


@pytest.mark.parametrize("factory", FACTORIES, ids=lambda f: f.__name__)
@pytest.mark.parametrize("batchnorm", ["batch", None])
@pytest.mark.parametrize("first_order", [False, True])
@pytest.mark.parametrize("steps", [1, 2])
def test_batched_meta_gradient_equals_the_loop(
    build, tiny, config, tasks, factory, batchnorm, first_order, steps
):
    if batchnorm:  # classification through BatchNorm with each task's batch statistics
        batch, shape = tasks(n=3), {"hidden": 5}
    else:  # a sinusoid-style regressor: 1 -> 5 -> 5 -> 1, MSE
        batch, shape = regression_tasks(3), {"inp": 1, "hidden": 5, "out": 1}
    results = {}
    for setting in ("off", "on"):
        cfg = config(p_init=0.4, inner_steps=steps, first_order=first_order, batched=setting)
        results[setting] = meta_gradient(
            build, factory, tiny(batchnorm=batchnorm, **shape), cfg, batch
        )
    (loop_loss, loop_metrics, loop_grads), (loss, metrics, grads) = results["off"], results["on"]
    torch.testing.assert_close(loss, loop_loss, rtol=1e-12, atol=1e-14)
    assert metrics.keys() == loop_metrics.keys()
    for key, value in loop_metrics.items():
        assert float(metrics[key]) == pytest.approx(float(value), rel=1e-12, abs=1e-14), key
    assert len(grads) == len(loop_grads)
    # a bias right before BatchNorm gets exactly zero gradient: only noise there, hence atol
    for grad, expected in zip(grads, loop_grads, strict=True):
        assert grad.abs().max() > 0 or expected.abs().max() < 1e-12
        torch.testing.assert_close(grad, expected, rtol=1e-10, atol=1e-13)


def test_rule(tiny, tasks):
    small = tiny()
    phi0 = dict(small.named_parameters())
    batch = tasks(n=2)
    assert use_batched("auto", small, phi0, batch)
    assert use_batched("on", small, phi0, batch)
    assert not use_batched("off", small, phi0, batch)
    assert not use_batched("auto", small, phi0, batch[:1])  # one task: nothing to batch
    assert use_batched("on", small, phi0, batch[:1])
    wide = tiny(inp=AUTO_MAX_WEIGHTS)
    assert not use_batched(
        "auto", wide, dict(wide.named_parameters()), tasks(n=2, inp=AUTO_MAX_WEIGHTS)
    )
    running = tiny(batchnorm="running")  # the loop updates running statistics task by task
    assert not use_batched("on", running, dict(running.named_parameters()), batch)
    ragged = [batch[0], tasks(n=1, shots=4)[0]]  # tasks of different shapes cannot be stacked
    assert not use_batched("on", small, phi0, ragged)
    # on a GPU, wherever it applies: the loop's cost there is kernel launches, not arithmetic
    wide_phi0 = dict(wide.named_parameters())
    assert auto_batches(torch.device("cuda", 1), wide_phi0)
    assert not auto_batches(torch.device("cpu"), wide_phi0)
