"""MAML, ANIL, BOIL against hand-written inner loops and finite differences."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from metaticket_methods.maml import anil, boil, maml


def reference_loss(net, phi, tasks, lr, steps, first_order=False):
    """Mean query loss after ``steps`` plain gradient steps on each support set."""
    losses = []
    for task in tasks:
        p = dict(phi)
        for _ in range(steps):
            loss = F.cross_entropy(net(p, task.support_x), task.support_y)
            grads = torch.autograd.grad(loss, list(p.values()), create_graph=not first_order)
            p = {n: v - lr * g for (n, v), g in zip(p.items(), grads, strict=True)}
        losses.append(F.cross_entropy(net(p, task.query_x), task.query_y))
    return torch.stack(losses).mean()


@pytest.mark.parametrize("batched", ["off", "on"])
def test_meta_gradient_matches_central_finite_differences(tiny, net, config, tasks, batched):
    learner = maml(tiny(), config(inner_lr=0.3, inner_steps=2, batched=batched))
    batch = tasks(n=2)
    loss, _ = learner.outer_loss(batch)
    loss.backward()
    phi = {n: p.detach().clone() for n, p in learner.backbone.named_parameters()}
    eps = 1e-6
    for name, param in learner.backbone.named_parameters():
        numeric = torch.zeros_like(param)
        for i in range(param.numel()):
            values = []
            for sign in (1, -1):
                shifted = {n: v.clone().requires_grad_() for n, v in phi.items()}
                with torch.no_grad():
                    shifted[name].view(-1)[i] += sign * eps
                values.append(reference_loss(net, shifted, batch, 0.3, 2).item())
            numeric.view(-1)[i] = (values[0] - values[1]) / (2 * eps)
        torch.testing.assert_close(param.grad, numeric, rtol=1e-5, atol=1e-8, msg=name)


@pytest.mark.parametrize("batched", ["off", "on"])
def test_first_order_is_query_gradient_at_adapted_parameters(tiny, net, config, tasks, batched):
    learner = maml(tiny(), config(inner_lr=0.3, inner_steps=2, first_order=True, batched=batched))
    batch = tasks(n=3)
    loss, _ = learner.outer_loss(batch)
    loss.backward()
    phi = {n: p.detach() for n, p in learner.backbone.named_parameters()}
    expected = {n: torch.zeros_like(v) for n, v in phi.items()}
    for task in batch:
        p = dict(phi)
        for _ in range(2):
            p = {n: v.requires_grad_() for n, v in p.items()}
            loss = F.cross_entropy(net(p, task.support_x), task.support_y)
            grads = torch.autograd.grad(loss, list(p.values()))
            p = {n: (v - 0.3 * g).detach() for (n, v), g in zip(p.items(), grads, strict=True)}
        p = {n: v.requires_grad_() for n, v in p.items()}
        query = F.cross_entropy(net(p, task.query_x), task.query_y)
        for n, g in zip(p, torch.autograd.grad(query, list(p.values())), strict=True):
            expected[n] += g / len(batch)
    for name, param in learner.backbone.named_parameters():
        torch.testing.assert_close(param.grad, expected[name], msg=name)


@pytest.mark.parametrize("batched", ["off", "on"])
def test_outer_loss_and_task_gradient_metrics(tiny, net, config, tasks, batched):
    learner = maml(tiny(), config(inner_lr=0.3, inner_steps=1, batched=batched))
    batch = tasks(n=2)
    assert not any(k.startswith("grad/") for k in learner.outer_loss(batch)[1])
    loss, metrics = learner.outer_loss(batch, diagnostics=True)
    phi = {n: p.detach().requires_grad_() for n, p in learner.backbone.named_parameters()}
    torch.testing.assert_close(loss.detach(), reference_loss(net, phi, batch, 0.3, 1).detach())
    assert float(metrics["loss"]) == pytest.approx(loss.item())
    assert 0 <= metrics["accuracy"] <= 1
    for name in phi:
        first = [
            torch.autograd.grad(F.cross_entropy(net(phi, t.support_x), t.support_y), phi[name])[0]
            .abs()
            .mean()
            for t in batch
        ]
        assert float(metrics[f"grad/{name}"]) == pytest.approx(torch.stack(first).mean().item())


@pytest.mark.parametrize(("factory", "moved"), [(anil, {"head"}), (boil, {"fc1", "bn", "fc2"})])
def test_anil_adapts_only_the_head_and_boil_everything_else(tiny, config, tasks, factory, moved):
    learner = factory(tiny(), config())
    task = tasks(n=1)[0]
    adapted = learner.adapt(task.support_x, task.support_y)
    for name, param in learner.backbone.named_parameters():
        changed = not torch.equal(adapted[name], param)
        assert changed == (name.split(".")[0] in moved), name
    _, metrics = learner.outer_loss([task], diagnostics=True)
    assert {k.split("/")[1].split(".")[0] for k in metrics if k.startswith("grad/")} == moved


def test_meta_parameters_are_all_backbone_parameters(tiny, config):
    learner = maml(tiny(), config())
    assert learner.meta_parameters() == list(learner.backbone.parameters())
    assert learner.outer_defaults.optimizer == "adam"
    assert learner.outer_defaults.lr == 1e-3
