"""bf16 autocast (``--precision bf16``) against float32: the meta-gradient of MAML and
Meta-ticket on a small float32 MLP (32-64-64-5, batch-statistics BatchNorm, 5-way 5-shot,
meta-batch 4).

Tolerance: relative L2 error of the whole meta-gradient <= 0.2, cosine >= 0.98. bfloat16 keeps
8 significant bits (relative rounding 2**-9 per element); the meta-gradient is a sum over
tasks, examples and the inner step whose terms largely cancel, which amplifies that rounding:
measured here 0.02-0.11 over 3 seeds and 1-2 inner steps (worst: Meta-ticket, seed 0, where
BatchNorm on bfloat16 activations adds most of it), cosine >= 0.994; this test's four cases
0.04-0.075 (torch 2.13, CPU). The scale that matters
is the meta-gradient's own sampling noise: another meta-batch of 4 tasks gives a gradient
about 1.4 away (relative), 7 times the tolerance, which the test checks too. float32 against
float64 agrees to 2e-7, so the error measured is bfloat16's.
"""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch
import torch.nn.functional as F

from metaticket_core import autocast
from metaticket_methods.maml import maml
from metaticket_methods.metaticket import metaticket

TOLERANCE = 0.2
CPU = torch.device("cpu")


def meta_gradient(learner, tasks, precision: str) -> torch.Tensor:
    params = [p for p in learner.meta_parameters() if p.requires_grad]
    with autocast(precision, CPU):
        loss, _ = learner.outer_loss(tasks)
    grads = torch.autograd.grad(loss, params)
    assert all(g.dtype == torch.float32 for g in grads)  # what the optimizer sees
    return torch.cat([g.flatten() for g in grads])


def float_tasks(tasks, seed):
    """A meta-batch of 4 5-way 5-shot tasks with float32 inputs."""
    return [
        replace(t, support_x=t.support_x.float(), query_x=t.query_x.float())
        for t in tasks(n=4, inp=32, ways=5, shots=5, seed=seed)
    ]


def relative(a: torch.Tensor, b: torch.Tensor) -> float:
    return ((a - b).norm() / b.norm()).item()


@pytest.mark.parametrize("factory", [maml, metaticket], ids=["maml", "metaticket"])
@pytest.mark.parametrize("first_order", [False, True], ids=["second", "first"])
def test_bf16_meta_gradient_agrees_with_float32(tiny, config, tasks, factory, first_order):
    net = tiny(inp=32, hidden=64, out=5).float()
    learner = factory(net, config(inner_lr=0.4, inner_steps=1, first_order=first_order))
    batch = float_tasks(tasks, seed=1)
    exact = meta_gradient(learner, batch, "fp32")
    bf16 = meta_gradient(learner, batch, "bf16")
    assert relative(bf16, exact) <= TOLERANCE
    assert F.cosine_similarity(bf16, exact, dim=0) >= 0.98
    other_batch = meta_gradient(learner, float_tasks(tasks, seed=2), "fp32")
    assert relative(other_batch, exact) >= 5 * TOLERANCE


def test_bf16_runs_the_forward_in_bfloat16_and_keeps_masks_float32(tiny, config, tasks):
    learner = metaticket(tiny(inp=32, hidden=64, out=5).float(), config())
    task = float_tasks(tasks, seed=1)[0]
    with autocast("bf16", CPU):
        params = learner.adapt(task.support_x, task.support_y)
        logits = learner.predict(params, task.query_x)
        masks = learner.masks()
    assert logits.dtype == torch.bfloat16
    assert {t.dtype for t in [*params.values(), *masks.values()]} == {torch.float32}
    assert {p.dtype for p in learner.meta_parameters()} == {torch.float32}
