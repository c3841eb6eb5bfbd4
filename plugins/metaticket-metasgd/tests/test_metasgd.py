"""Meta-SGD and Meta-ticket+Meta-SGD: exact meta-gradients, what is meta-learned, evaluation."""

from __future__ import annotations

import pytest
import torch

from metaticket_core import RunConfig, Task
from metaticket_core.app.testing import central_difference
from metaticket_metasgd.backbone import build_tiny_conv
from metaticket_metasgd.metasgd import MetaTicketSGD, metasgd, metaticket_metasgd

FACTORIES = {"metasgd": metasgd, "metaticket+metasgd": metaticket_metasgd}


def tasks(n: int, dtype=torch.float32, ways: int = 3, shots: int = 2) -> list[Task]:
    g = torch.Generator().manual_seed(1)

    def draw():
        x = torch.rand(ways * shots, 1, 8, 8, generator=g, dtype=dtype)
        return x, torch.arange(ways).repeat_interleave(shots)

    return [Task(*draw(), *draw()) for _ in range(n)]


def learner(method: str, dtype=torch.float32, **options):
    """``method`` on a tiny conv net, built with ``options`` as its method options."""
    torch.manual_seed(0)
    config = RunConfig(inner_lr=0.3, inner_steps=2, test_inner_steps=3)
    return FACTORIES[method](build_tiny_conv(3, (1, 8, 8), channels=2), config, **options).to(dtype)


@pytest.mark.parametrize("method", FACTORIES)
def test_meta_gradient_matches_finite_differences(method):
    """Second order through two inner steps, in float64: the rates' (and, for Meta-SGD,
    phi_0's) gradients equal central differences of the meta-loss, one entry per tensor."""
    model = learner(method, torch.float64)
    batch = tasks(2, torch.float64)
    loss, _ = model.outer_loss(batch)
    loss.backward()
    scores = {id(s) for s in getattr(model, "score_params", {}).values()}
    checked = 0
    gen = torch.Generator().manual_seed(2)
    for param in model.meta_parameters():
        if id(param) in scores:
            continue  # straight-through: not the derivative of the step function, by design
        index = torch.randint(param.numel(), (), generator=gen).item()
        numeric = central_difference(lambda: model.outer_loss(batch)[0].item(), param, index)
        assert param.grad.view(-1)[index].item() == pytest.approx(numeric, rel=1e-5, abs=1e-9)
        checked += 1
    assert checked >= len(model.rates)


def test_rates_change_the_adaptation():
    """alpha scales each entry's step: doubling the rates doubles one step's update."""
    model = learner("metasgd")
    task = tasks(1)[0]
    start = model.initial_parameters()
    one = model.adapt(task.support_x, task.support_y, steps=1)
    with torch.no_grad():
        for rate in model.rates.values():
            rate.mul_(2)
    two = model.adapt(task.support_x, task.support_y, steps=1)
    for name in start:
        torch.testing.assert_close(two[name] - start[name], 2 * (one[name] - start[name]))


def test_metasgd_meta_learns_init_and_rates():
    model = learner("metasgd")
    params = {id(p) for p in model.meta_parameters()}
    assert params == {id(p) for p in model.parameters()}
    assert set(model.inner_rates()) == set(dict(model.backbone.named_parameters()))
    assert all(torch.all(r == 0.3) for r in model.inner_rates().values())
    assert model.masks() is None and model.scores() is None


def test_metaticket_metasgd_learns_scores_and_rates_over_a_fixed_network():
    model = learner("metaticket+metasgd")
    assert isinstance(model, MetaTicketSGD)
    assert not list(model.backbone.parameters())  # phi_0 is fixed: buffers only
    assert set(model.masks()) == {"body.0.weight", "body.4.weight"}
    assert all(torch.all(m == 1) for m in model.masks().values())  # p_init = 0
    phi0 = model.initial_parameters()
    optimizer = torch.optim.Adam(model.meta_parameters(), lr=0.05)
    for _ in range(3):
        loss, _ = model.outer_loss(tasks(2))
        optimizer.zero_grad()
        loss.backward()
        assert all(
            s.grad is not None and s.grad.abs().sum() > 0 for s in model.score_params.values()
        )
        optimizer.step()
    for name, value in model.initial_parameters().items():
        torch.testing.assert_close(value, phi0[name])
    assert any(torch.any(m == 0) for m in model.masks().values())  # the mask moved


def test_p_init_prunes_that_fraction_of_each_tensor():
    model = learner("metaticket+metasgd", p_init=0.5)
    for name, mask in model.masks().items():
        assert mask.mean().item() == pytest.approx(0.5, abs=1 / mask.numel()), name


@pytest.mark.parametrize("method", FACTORIES)
def test_metrics_and_evaluation(method):
    model = learner(method)
    _, metrics = model.outer_loss(tasks(2), diagnostics=True)
    names = [n for n, _ in model.backbone.named_parameters()] or list(model.initial_parameters())
    assert {"loss", "accuracy"} <= set(metrics)
    assert {f"grad/{n}" for n in names} <= set(metrics)
    assert {f"rate/{n}" for n in names} <= set(metrics)

    task = tasks(1)[0]
    adapted = model.adapt(task.support_x, task.support_y)
    assert not any(t.requires_grad for t in adapted.values())  # no graph at test time
    result = model.evaluate(task)
    assert set(result) == {"loss", "accuracy"} and 0 <= result["accuracy"] <= 1
    unadapted = model.adapt(task.support_x, task.support_y, steps=0)
    masks = model.masks() or {}
    for name, value in model.initial_parameters().items():
        torch.testing.assert_close(unadapted[name], value * masks.get(name, 1))


def test_regression_targets_report_mse():
    torch.manual_seed(0)
    model = metasgd(build_tiny_conv(1, (1, 8, 8), channels=2), RunConfig(inner_lr=0.01))
    x = torch.rand(5, 1, 8, 8)
    task = Task(x, torch.rand(5, 1), x, torch.rand(5, 1))
    assert "mse" in model.outer_loss([task])[1]
    assert set(model.evaluate(task)) == {"loss", "mse"}
