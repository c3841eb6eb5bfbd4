"""The public functional API against hand-written formulas and finite differences."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from metaticket_core import (
    Backbone,
    FunctionalLearner,
    RunConfig,
    Task,
    effective,
    metric,
    metric_name,
    task_loss,
)
from metaticket_core.api.functional import inner_loop, straight_through, threshold
from metaticket_core.app.testing import central_difference


def test_loss_and_metric_follow_the_targets():
    logits = torch.tensor([[2.0, 0.0], [0.0, 1.0], [3.0, 0.0]])
    labels = torch.tensor([0, 1, 1])
    torch.testing.assert_close(task_loss(logits, labels), F.cross_entropy(logits, labels))
    assert metric_name(labels) == "accuracy" and metric(logits, labels).item() == pytest.approx(
        2 / 3
    )
    outputs, targets = torch.tensor([[1.0], [3.0]]), torch.tensor([[0.0], [1.0]])
    assert task_loss(outputs, targets).item() == metric(outputs, targets).item() == 2.5
    assert metric_name(targets) == "mse"
    half = metric(logits.bfloat16(), labels)
    assert half.dtype == torch.float32 and half.item() == pytest.approx(2 / 3)


@pytest.mark.parametrize("p", [0.0, 0.25, 0.5, 0.9])
def test_threshold_prunes_that_fraction(p):
    scores = torch.randn(8, 5, generator=torch.Generator().manual_seed(0))
    kept = scores >= threshold(scores, p)
    assert (~kept).sum().item() == int(p * 40)


def test_straight_through_masks_pass_the_gradient_to_the_scores():
    scores = {"a": torch.tensor([0.1, -0.2, 0.3], requires_grad=True),
              "b": torch.tensor([[1.0, -1.0]], requires_grad=True)}  # fmt: skip
    masks = straight_through(scores, torch.tensor([0.0, 0.5]))
    assert masks["a"].tolist() == [1.0, 0.0, 1.0] and masks["b"].tolist() == [[1.0, 0.0]]
    weights = {"a": torch.tensor([2.0, 3.0, 4.0]), "b": torch.tensor([[5.0, 6.0]])}
    sum(t.sum() for t in effective(weights, masks).values()).backward()
    assert scores["a"].grad.tolist() == [2.0, 3.0, 4.0]  # dL/dm, pruned entries too
    assert scores["b"].grad.tolist() == [[5.0, 6.0]]


def test_inner_loop_is_gradient_descent_with_per_parameter_rates():
    """loss = sum((w - c)^2) / 2 has gradient w - c: two steps at rate r give
    w2 = c + (1 - r)^2 (w0 - c); a rate tensor scales each entry; 0 or no rate freezes."""
    c = torch.tensor([1.0, -2.0])
    w0 = torch.tensor([3.0, 0.0], requires_grad=True)
    rate = torch.tensor([0.5, 0.25], requires_grad=True)
    fixed = torch.tensor([7.0])  # a buffer: adapted from a fresh leaf

    def loss(p):
        return ((p["w"] - c) ** 2).sum() / 2 + (p["b"] ** 2).sum() + (p["z"] ** 2).sum()

    params = {"w": w0, "b": fixed, "z": torch.tensor([1.0]), "frozen": torch.tensor([1.0])}
    adapted, first = inner_loop(
        loss, params, {"w": rate, "b": 0.1, "frozen": 0}, 2, create_graph=True, diagnostics=True
    )
    expected = c + (1 - rate) ** 2 * (w0 - c)
    torch.testing.assert_close(adapted["w"], expected)
    torch.testing.assert_close(adapted["b"], fixed * 0.8**2)
    assert adapted["z"] is params["z"] and adapted["frozen"] is params["frozen"]
    assert first["w"].item() == pytest.approx(2.0) and set(first) == {"w", "b"}
    grads = torch.autograd.grad(adapted["w"].sum(), [w0, rate])
    exact = torch.autograd.grad(expected.sum(), [w0, rate])  # second order: through the steps
    for grad, want in zip(grads, exact, strict=True):
        torch.testing.assert_close(grad, want)


class Net(Backbone):
    """4 -> 8 -> 3, float64."""

    def __init__(self):
        super().__init__()
        self.body = torch.nn.Linear(4, 8)
        self.head = torch.nn.Linear(8, 3)
        self.double()

    def forward(self, x):
        return self.head(torch.tanh(self.body(x)))

    def parameter_tags(self):
        return {n: frozenset({"head"} if n.startswith("head") else {"prunable"})
                for n, _ in self.named_parameters()}  # fmt: skip


class Toy(FunctionalLearner):
    """MAML as FunctionalLearner stands, with a fixed mask on the body's weight."""

    def __init__(self, backbone, config):
        super().__init__(backbone, config)
        self.register_buffer("mask", (torch.rand(8, 4) > 0.3).double())

    def meta_parameters(self):
        return list(self.backbone.parameters())

    def start(self):
        return super().start()[0], {"body.weight": self.mask}


def toy_tasks(n: int, seed: int = 0) -> list[Task]:
    g = torch.Generator().manual_seed(seed)
    labels = torch.arange(3).repeat(2)

    def x():
        return torch.randn(len(labels), 4, generator=g, dtype=torch.float64)

    return [Task(x(), labels, x(), labels) for _ in range(n)]


def toy(**settings) -> Toy:
    torch.manual_seed(0)
    config = RunConfig(inner_lr=0.4, inner_steps=2, test_inner_steps=3, **settings)
    return Toy(Net(), config)


def test_functional_learner_meta_gradient_equals_finite_differences():
    learner = toy()
    batch = toy_tasks(2)
    loss, metrics = learner.outer_loss(batch, diagnostics=True)
    loss.backward()
    assert set(metrics) == {"loss", "accuracy"} | {f"grad/{n}" for n in learner.names}
    for param in learner.meta_parameters():
        for i in range(0, param.numel(), 3):
            numeric = central_difference(lambda: learner.outer_loss(batch)[0].item(), param, i)
            assert param.grad.view(-1)[i].item() == pytest.approx(numeric, rel=1e-5, abs=1e-9)


def test_functional_learner_evaluates_masked_without_a_graph():
    learner = toy()
    task = toy_tasks(1, seed=3)[0]
    adapted = learner.adapt(task.support_x, task.support_y)
    assert not any(t.requires_grad for t in adapted.values())
    assert torch.all(adapted["body.weight"][learner.mask == 0] == 0)  # effective: m * phi
    unadapted = learner.adapt(task.support_x, task.support_y, steps=0)
    phi0 = learner.initial_parameters()
    torch.testing.assert_close(unadapted["body.weight"], phi0["body.weight"] * learner.mask)
    result = {k: float(v) for k, v in learner.evaluate(task).items()}  # left on the device
    logits = learner.predict(adapted, task.query_x)
    assert result == {
        "loss": pytest.approx(F.cross_entropy(logits, task.query_y).item()),
        "accuracy": pytest.approx(metric(logits, task.query_y).item()),
    }
    assert torch.equal(learner.masks()["body.weight"], learner.mask)
