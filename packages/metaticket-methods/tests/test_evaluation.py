"""Evaluation builds no graph; BatchNorm modes; regression variants; registration."""

from __future__ import annotations

import pytest
import torch

from metaticket_core import Task, methods
from metaticket_core.app.testing import isolated_plugins, registered_plugin
from metaticket_methods.maml import maml
from metaticket_methods.metaticket import metaticket, metaticket_reg, metaticket_reg_naive

NAMES = [
    "anil",
    "boil",
    "maml",
    "metaticket",
    "metaticket+boil",
    "metaticket+boil+iterand",
    "metaticket+iterand",
    "metaticket-reg",
    "metaticket-reg-naive",
]


@pytest.mark.parametrize("factory", [maml, metaticket])
def test_evaluation_builds_no_second_order_graph(build, tiny, config, tasks, factory, monkeypatch):
    learner = build(factory, tiny(), config(p_init=0.3, test_inner_steps=3))
    calls = []
    grad = torch.autograd.grad

    def spy(*args, **kwargs):
        calls.append(kwargs.get("create_graph", False))
        return grad(*args, **kwargs)

    monkeypatch.setattr(torch.autograd, "grad", spy)
    task = tasks(n=1)[0]
    with torch.no_grad():  # evaluators may call it under no_grad; adaptation still works
        result = learner.evaluate(task)
    assert calls == [False, False, False]
    assert set(result) == {"loss", "accuracy"}
    adapted = learner.adapt(task.support_x, task.support_y)
    assert all(not p.requires_grad and p.grad_fn is None for p in adapted.values())
    assert len(calls) == 6 and not any(calls)
    assert learner.adapt(task.support_x, task.support_y, steps=1).keys() == adapted.keys()
    assert len(calls) == 7


def test_evaluate_matches_adapt_then_predict(build, tiny, config, tasks):
    learner = build(metaticket, tiny(), config(p_init=0.3))
    task = tasks(n=1)[0]
    params = learner.adapt(task.support_x, task.support_y)
    logits = learner.predict(params, task.query_x)
    loss = torch.nn.functional.cross_entropy(logits, task.query_y)
    assert float(learner.evaluate(task)["loss"]) == pytest.approx(loss.item())


def test_running_batchnorm_is_updated_by_training_and_used_by_evaluation(tiny, config, tasks):
    learner = metaticket(tiny(batchnorm="running"), config())
    bn = learner.backbone.bn
    learner.outer_loss(tasks(n=2))
    trained = bn.running_mean.clone()
    assert not torch.equal(trained, torch.zeros_like(trained))  # meta-training updates them
    learner.evaluate(tasks(n=1, seed=7)[0])
    assert torch.equal(bn.running_mean, trained)  # evaluation reads them, never writes
    assert learner.training and bn.training  # and leaves the modes as they were
    assert "backbone.bn.running_mean" in learner.state_dict()
    x = tasks(n=1)[0].query_x
    params = learner.initial_parameters()
    # evaluation normalises with the running statistics: one example's output does not depend
    # on the rest of the batch
    single = learner.predict(params, x[:1])
    torch.testing.assert_close(single, learner.predict(params, x)[:1])


def test_batch_statistics_mode_keeps_no_running_state(tiny, config, tasks):
    learner = maml(tiny(batchnorm="batch"), config())
    learner.outer_loss(tasks(n=2))
    assert not [k for k in learner.state_dict() if "running" in k]


def sine_tasks(n=2, seed=3):
    g = torch.Generator().manual_seed(seed)

    def xy():
        x = torch.rand(5, 1, generator=g, dtype=torch.float64) * 10 - 5
        return x, torch.sin(x)

    return [Task(*xy(), *xy()) for _ in range(n)]


def test_regression_variant_masks_the_hidden_layer_and_trains_the_rest(tiny, config):
    backbone = tiny(inp=1, hidden=6, out=1, batchnorm=None)
    default = {n: p.detach().clone() for n, p in backbone.named_parameters()}
    learner = metaticket_reg(backbone, config(inner_lr=0.01, inner_steps=5))
    assert set(learner.masks()) == {"fc2.weight"}
    trained = dict(learner.backbone.named_parameters())
    assert set(trained) == {"fc1.weight", "fc1.bias", "fc2.bias", "head.weight", "head.bias"}
    for name, param in trained.items():  # MAML-trained layers keep the backbone's init
        assert torch.equal(param, default[name])
    assert len(learner.meta_parameters()) == 1 + len(trained)
    assert learner.outer_defaults.optimizer == "adam" and learner.outer_defaults.lr == 1e-3
    loss, metrics = learner.outer_loss(sine_tasks())
    loss.backward()
    assert float(metrics["mse"]) == pytest.approx(loss.item()) and "accuracy" not in metrics
    assert all(p.grad is not None for p in learner.meta_parameters())
    result = learner.evaluate(sine_tasks(n=1)[0])
    assert set(result) == {"loss", "mse"}


def test_naive_regression_variant_masks_every_layer_of_the_backbones_own_weights(tiny, config):
    """Not re-drawn Kaiming-normal: on the 1-40-40-1 sine MLP that makes the inner loop at lr
    0.01 diverge within a few iterations (measured: docs/RESULTS.md, sinusoid)."""
    backbone = tiny(inp=1, hidden=6, out=1, batchnorm=None)
    default = {n: p.detach().clone() for n, p in backbone.named_parameters()}
    learner = metaticket_reg_naive(backbone, config())
    assert set(learner.masks()) == {"fc1.weight", "fc2.weight", "head.weight"}
    for name, weight in learner.initial_parameters().items():
        assert torch.equal(weight, default[name]), name
    assert not list(learner.backbone.parameters())
    assert len(learner.meta_parameters()) == 3


def test_plugin_registers_every_method(tiny, config, tasks):
    import metaticket_methods.plugin as plugin

    with isolated_plugins(), registered_plugin(plugin, "methods"):
        registry = methods()
        assert registry.names() == NAMES
        for name in NAMES:
            entry = registry.get(name)
            assert entry.description and entry.plugin == "methods"
            regression = name.startswith("metaticket-reg")
            backbone = tiny(inp=1, out=1, batchnorm=None) if regression else tiny()
            learner = entry.factory(backbone, config(inner_lr=0.01))
            batch = sine_tasks() if regression else tasks(n=2)
            loss, _ = learner.outer_loss(batch)
            loss.backward()
            assert learner.meta_parameters() and all(
                p.grad is not None for p in learner.meta_parameters()
            ), name
