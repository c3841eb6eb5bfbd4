"""The built-in methods' fast paths (the fused masked step, the batched meta-batch) against
core's plain reference loop: the same meta-loss and meta-gradient, in float64."""

from __future__ import annotations

import pytest
import torch

from metaticket_core import FunctionalLearner, task_loss
from metaticket_methods.maml import anil, maml
from metaticket_methods.metaticket import metaticket, metaticket_boil, metaticket_reg


def reference_loss(learner, batch):
    """The meta-loss through ``FunctionalLearner``'s own adapter: ``inner_loop`` on m * phi."""
    with learner.backbone_mode(training=True):
        phi0, masks = learner.start()
        adapt = FunctionalLearner.adapter(
            learner, phi0, masks, learner.inner_steps, create_graph=not learner.first_order
        )
        losses = []
        for task in batch:
            adapted, _ = adapt(task.support_x, task.support_y)
            losses.append(task_loss(learner.outputs(adapted, task.query_x), task.query_y))
    return torch.stack(losses).mean()


@pytest.mark.parametrize("factory", [maml, anil, metaticket, metaticket_boil, metaticket_reg])
@pytest.mark.parametrize("batched", ["off", "on"])
@pytest.mark.parametrize("first_order", [False, True])
def test_fast_paths_give_the_reference_meta_gradient(
    build, tiny, config, tasks, factory, batched, first_order
):
    cfg = config(p_init=0.4, inner_steps=2, first_order=first_order, batched=batched)
    learner = build(factory, tiny(hidden=5), cfg)
    batch = tasks(n=2)
    params = [p for p in learner.meta_parameters() if p.requires_grad]
    loss, _ = learner.outer_loss(batch)
    expected = reference_loss(learner, batch)
    torch.testing.assert_close(loss, expected, rtol=1e-12, atol=1e-14)
    grads = torch.autograd.grad(loss, params)
    for grad, want in zip(grads, torch.autograd.grad(expected, params), strict=True):
        torch.testing.assert_close(grad, want, rtol=1e-10, atol=1e-13)


@pytest.mark.parametrize("factory", [maml, metaticket])
def test_fast_adaptation_is_the_reference_one(build, tiny, config, tasks, factory):
    learner = build(factory, tiny(), config(p_init=0.4))
    task = tasks(n=1)[0]
    phi0, masks = learner.start()
    plain = FunctionalLearner.adapter(learner, phi0, masks, 3, create_graph=False)
    expected, _ = plain(task.support_x, task.support_y)
    adapted = learner.adapt(task.support_x, task.support_y)
    for name, value in expected.items():
        torch.testing.assert_close(adapted[name], value.detach(), rtol=1e-12, atol=1e-14)
