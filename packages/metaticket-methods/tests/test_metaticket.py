"""Meta-ticket against a hand-written inner loop where the mask is a continuous input."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from metaticket_core import ConfigError
from metaticket_core.api.config import method_arguments
from metaticket_methods.metaticket import (
    IteRand,
    metaticket,
    metaticket_boil,
    metaticket_boil_iterand,
    metaticket_iterand,
    metaticket_reg,
)


def reference_mask_gradient(net, learner, batch, lr, steps, first_order=False, frozen=()):
    """dL/dm of the true Meta-ticket objective, m a continuous tensor: phi <- phi - lr *
    d/dphi L(m * phi), query loss at m * phi_S, written out without the package's inner loop."""
    phi0 = learner.initial_parameters()
    m = {n: v.clone().requires_grad_() for n, v in learner.masks().items()}
    losses, first = [], {}
    for task in batch:
        p = {n: v.clone().requires_grad_() for n, v in phi0.items()}
        for step in range(steps):
            eff = {n: m[n] * v if n in m else v for n, v in p.items()}
            loss = F.cross_entropy(net(eff, task.support_x), task.support_y)
            names = [n for n in p if n not in frozen]
            grads = torch.autograd.grad(loss, [p[n] for n in names], create_graph=not first_order)
            for n, g in zip(names, grads, strict=True):
                if step == 0:  # the authors' measure: mean over the kept entries
                    kept = m[n].sum() if n in m else g.numel()
                    first.setdefault(n, []).append((g.abs().sum() / kept).item())
                p[n] = p[n] - lr * g
        eff = {n: m[n] * v if n in m else v for n, v in p.items()}
        losses.append(F.cross_entropy(net(eff, task.query_x), task.query_y))
    loss = torch.stack(losses).mean()
    grads = torch.autograd.grad(loss, list(m.values()))
    return loss, dict(zip(m, grads, strict=True)), {n: sum(v) / len(v) for n, v in first.items()}


def score_grads(learner):
    """Scores come first in meta_parameters(), in masks() order."""
    return {n: s.grad for n, s in zip(learner.masks(), learner.meta_parameters(), strict=False)}


@pytest.mark.parametrize("batched", ["off", "on"])
@pytest.mark.parametrize("first_order", [False, True])
@pytest.mark.parametrize("steps", [1, 2])
def test_score_gradient_is_mask_gradient(
    build, tiny, net, config, tasks, steps, first_order, batched
):
    cfg = config(p_init=0.4, inner_steps=steps, first_order=first_order, batched=batched)
    learner = build(metaticket, tiny(hidden=5), cfg)
    batch = tasks(n=2)
    loss, metrics = learner.outer_loss(batch, diagnostics=True)
    loss.backward()
    ref_loss, expected, first = reference_mask_gradient(
        net, learner, batch, cfg.inner_lr, steps, first_order
    )
    torch.testing.assert_close(loss.detach(), ref_loss.detach())
    masks = learner.masks()
    assert all(0 < m.mean() < 1 for m in masks.values())  # a real mix of kept and pruned
    for name, grad in score_grads(learner).items():
        torch.testing.assert_close(grad, expected[name], msg=name)
    for name, value in first.items():  # task gradients: pruned entries neither move nor count
        assert float(metrics[f"grad/{name}"]) == pytest.approx(value), name


def test_score_gradient_with_frozen_head(build, tiny, net, config, tasks):
    cfg = config(p_init=0.3, inner_steps=2)
    learner = build(metaticket_boil, tiny(), cfg)
    batch = tasks(n=2)
    learner.outer_loss(batch)[0].backward()
    frozen = ("head.weight", "head.bias")
    _, expected, _ = reference_mask_gradient(net, learner, batch, 0.3, 2, frozen=frozen)
    for name, grad in score_grads(learner).items():
        torch.testing.assert_close(grad, expected[name], msg=name)


def test_only_unpruned_weights_adapt(build, tiny, config, tasks):
    learner = build(metaticket, tiny(inp=6, hidden=8), config(p_init=0.5))
    task = tasks(n=1, inp=6)[0]
    phi0, masks = learner.initial_parameters(), learner.masks()
    adapted = learner.adapt(task.support_x, task.support_y)
    for name, mask in masks.items():
        kept = mask.bool()
        assert torch.all(adapted[name][~kept] == 0)  # effective weights: m * phi
        assert not torch.equal(adapted[name][kept], phi0[name][kept])
    for name in ("bn.weight", "fc2.bias", "head.weight", "head.bias"):
        assert not torch.equal(adapted[name], phi0[name]), name  # all of phi_0 adapts
    # but a bias right before BatchNorm is cancelled by the batch mean: its gradient is exactly
    # zero, so it may only move by float rounding
    torch.testing.assert_close(adapted["fc1.bias"], phi0["fc1.bias"], rtol=0, atol=1e-12)


def test_outer_step_changes_only_scores(build, tiny, config, tasks):
    learner = build(metaticket, tiny(), config(p_init=0.2))
    before = {k: v.clone() for k, v in learner.state_dict().items()}
    assert {id(p) for p in learner.meta_parameters()} == {
        id(p) for p in learner.score_params.values()
    }
    assert not list(learner.backbone.parameters())  # phi_0 is fixed buffers
    optimizer = torch.optim.SGD(learner.meta_parameters(), lr=10.0, momentum=0.9)
    for iteration in range(1, 4):
        optimizer.zero_grad()
        learner.outer_loss(tasks(n=2, seed=iteration))[0].backward()
        optimizer.step()
        learner.after_step(iteration)
    after = learner.state_dict()
    assert after.keys() == before.keys()
    for key, value in before.items():
        if key.startswith("score_params."):
            assert not torch.equal(after[key], value), key
        else:
            assert torch.equal(after[key], value), key  # weights, biases, BN, head, thresholds


def test_random_weights_are_kaiming_normal_and_scores_kaiming_uniform(tiny, config):
    learner = metaticket(tiny(inp=200, hidden=300), config())
    weight = learner.initial_parameters()["fc2.weight"]
    assert weight.std().item() == pytest.approx(math.sqrt(2 / 300), rel=0.02)
    scores = learner.scores()["fc1.weight"]
    bound = math.sqrt(6 / 200)  # the authors' kaiming_uniform_(fan_in, relu), not a=sqrt(5)
    assert scores.abs().max() <= bound
    assert scores.abs().max() > 0.99 * bound
    assert scores.std().item() == pytest.approx(bound / math.sqrt(3), rel=0.02)


@pytest.mark.parametrize("p_init", [0.0, 0.5, 0.3])
def test_initial_sparsity_per_layer_and_fixed_thresholds(build, tiny, config, tasks, p_init):
    learner = build(metaticket, tiny(inp=7, hidden=9), config(p_init=p_init))
    for name, mask in learner.masks().items():
        assert set(mask.unique().tolist()) <= {0.0, 1.0}
        pruned = (mask == 0).sum().item()
        assert abs(pruned - p_init * mask.numel()) <= 1, name
    thresholds = learner.thresholds.clone()
    optimizer = torch.optim.SGD(learner.meta_parameters(), lr=10.0)
    for seed in range(3):
        optimizer.zero_grad()
        learner.outer_loss(tasks(n=2, inp=7, seed=seed))[0].backward()
        optimizer.step()
    assert torch.equal(learner.thresholds, thresholds)


def test_iterand_redraws_about_r_of_the_pruned_weights_every_k_steps(build, tiny, config):
    cfg = config(p_init=0.5, iterand_period=3, iterand_rate=0.4)
    learner = build(metaticket_iterand, tiny(inp=40, hidden=60), cfg)
    before = {n: v.clone() for n, v in learner.initial_parameters().items()}
    for iteration in (1, 2, 4, 5):
        learner.after_step(iteration)
    learner.after_step(1)
    assert all(torch.equal(v, before[n]) for n, v in learner.initial_parameters().items())
    learner.after_step(3)
    after = learner.initial_parameters()
    for name, mask in learner.masks().items():
        changed = after[name] != before[name]
        assert not changed[mask.bool()].any(), name  # kept weights untouched
        fraction = changed[~mask.bool()].double().mean().item()
        assert fraction == pytest.approx(0.4, abs=0.06), name
    for name in ("fc1.bias", "bn.weight", "head.weight"):
        assert torch.equal(after[name], before[name])


@pytest.mark.parametrize("rate", [0.0, 1.0])
def test_iterand_rate_extremes(build, tiny, config, rate):
    cfg = config(p_init=0.5, iterand_period=2, iterand_rate=rate)
    learner = build(metaticket_boil_iterand, tiny(), cfg)
    before = {n: v.clone() for n, v in learner.initial_parameters().items()}
    learner.after_step(2)
    after = learner.initial_parameters()
    for name, mask in learner.masks().items():
        pruned = ~mask.bool()
        assert torch.equal(after[name][~pruned], before[name][~pruned])
        assert (after[name][pruned] != before[name][pruned]).all().item() == (rate == 1.0)


def test_plain_metaticket_redraws_nothing(build, tiny, config):
    learner = build(metaticket, tiny(), config(p_init=0.5))
    before = {n: v.clone() for n, v in learner.initial_parameters().items()}
    learner.after_step(1)
    assert all(torch.equal(v, before[n]) for n, v in learner.initial_parameters().items())


def test_constant_init_is_each_layers_kaiming_std_with_the_head_masked(build, tiny, config):
    """Paper 4.1.2 as the authors ran it: W = c * sqrt(2 / fan_in) per layer, the head masked
    too, biases 0; BatchNorm untouched."""
    learner = build(metaticket, tiny(inp=3, hidden=4), config(constant_init=0.5))
    phi0 = learner.initial_parameters()
    fan_in = {"fc1.weight": 3, "fc2.weight": 4, "head.weight": 4}
    for name, fan in fan_in.items():
        assert torch.all(phi0[name] == 0.5 * math.sqrt(2 / fan)), name
    assert set(learner.masks()) == set(fan_in)
    for name in ("fc1.bias", "fc2.bias", "head.bias", "bn.bias"):
        assert torch.all(phi0[name] == 0), name
    assert torch.all(phi0["bn.weight"] == 1)
    assert set(metaticket(tiny(), config()).masks()) == {"fc1.weight", "fc2.weight"}
    iterand = build(
        metaticket_iterand, tiny(), config(constant_init=0.5, p_init=0.5, iterand_period=1)
    )
    iterand.after_step(1)
    assert torch.all(iterand.initial_parameters()["head.weight"] == 0.5 * math.sqrt(2 / 4))


def test_regression_variant_resamples_pruned_weights_like_the_authors(build, tiny, config):
    """metaticket-reg masks the hidden layer and runs IteRand (every K steps, rate r)."""
    cfg = config(p_init=0.5, iterand_period=2, iterand_rate=1.0)
    learner = build(metaticket_reg, tiny(batchnorm=None), cfg)
    assert set(learner.masks()) == {"fc2.weight"}
    before = learner.initial_parameters()["fc2.weight"].clone()
    learner.after_step(1)
    assert torch.equal(learner.initial_parameters()["fc2.weight"], before)
    learner.after_step(2)
    pruned = ~learner.masks()["fc2.weight"].bool()
    after = learner.initial_parameters()["fc2.weight"]
    assert (after[pruned] != before[pruned]).all()
    assert torch.equal(after[~pruned], before[~pruned])
    off = build(
        metaticket_reg, tiny(batchnorm=None), config(p_init=0.5, iterand_period=2, iterand_rate=0)
    )
    kept = off.initial_parameters()["fc2.weight"].clone()
    off.after_step(2)
    assert torch.equal(off.initial_parameters()["fc2.weight"], kept)


def test_state_dict_restores_the_ticket(build, tiny, config, tasks):
    cfg = config(p_init=0.3)
    trained = build(metaticket, tiny(seed=0), cfg)
    with torch.no_grad():
        for s in trained.meta_parameters():
            s.add_(torch.randn_like(s))
    fresh = build(metaticket, tiny(seed=5), cfg)
    fresh.load_state_dict(trained.state_dict())
    batch = tasks(n=2)
    for name, mask in trained.masks().items():
        assert torch.equal(fresh.masks()[name], mask)
    assert fresh.outer_loss(batch)[0].item() == trained.outer_loss(batch)[0].item()


def test_a_backbone_without_prunable_weights_is_refused(tiny, config):
    backbone = tiny()
    backbone.parameter_tags = lambda: {
        n: frozenset({"bias"}) for n, _ in backbone.named_parameters()
    }
    with pytest.raises(ConfigError, match="prunable"):
        metaticket(backbone, config())


def test_defaults_keep_every_weight_with_random_weights(tiny, config):
    learner = metaticket(tiny(), config())
    assert all(torch.all(m == 1) for m in learner.masks().values())  # p_init 0
    assert learner.constant_init is None


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"p_init": 1.5}, "p_init=1.5: expected a number >= 0 and < 1"),
        ({"p_init": "half"}, "p_init='half': expected a number >= 0 and < 1"),
        ({"constant_init": float("nan")}, "constant_init=nan: expected a number > 0, or null"),
        ({"constant_init": float("inf")}, "constant_init=inf: expected a number > 0, or null"),
        ({"iterand_period": 0}, "iterand_period=0: expected an integer >= 1"),
        ({"iterand_period": 2.5}, "iterand_period=2.5: expected an integer >= 1"),
        ({"iterand_rate": True}, "iterand_rate=True: expected a number in [0, 1]"),
    ],
)
def test_invalid_option_values_are_refused_on_one_line(tiny, options, message, config):
    with pytest.raises(ConfigError) as info:
        metaticket_iterand(tiny(), config(), **options)
    assert str(info.value) == f"Invalid method option {message}."


def test_each_method_takes_the_options_it_uses(build, tiny, config):
    """Checked as the trainer checks them: a legacy setting is an option of the methods that
    take it and refused by the others, any unknown option with the closest name."""
    with pytest.raises(ConfigError, match="'iterand_period' for method 'metaticket'"):
        method_arguments(config(iterand_period=5), metaticket)
    assert method_arguments(config(iterand_period=5), metaticket_reg) == {"iterand_period": 5}
    assert build(metaticket_reg, tiny(), config(iterand_period=5)).iterand == IteRand(5, 1.0)
    with pytest.raises(ConfigError, match=r"Unknown option 'p_int'.*Did you mean 'p_init'\?"):
        method_arguments(config(method_options={"p_int": 0.5}), metaticket)
