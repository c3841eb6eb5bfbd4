"""What MAML and Meta-ticket share: the outer loss over a meta-batch, evaluation, BatchNorm modes.

Meta-training runs the meta-batch task after task or, where ``batched.use_batched`` says so,
all tasks at once (batched.py); evaluation adapts one task at a time.

Regression or classification is read off each task: float targets mean regression (MSE loss,
``mse`` metric), integer labels mean classification (cross-entropy, ``accuracy``).

BatchNorm: meta-training runs the backbone in train mode and evaluation (``adapt``, ``predict``,
``evaluate``) in eval mode, whatever mode the learner was left in. Backbones built with
``batchnorm="batch"`` keep no running statistics, so both use the statistics of the batch at
hand (the paper's transductive setting). With ``batchnorm="running"`` every meta-training
forward (support and query, all inner steps) updates the module's running statistics in place,
and evaluation normalises with them, so test tasks never change them.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial

import torch
from torch.func import functional_call

from metaticket_core.backbone import Backbone
from metaticket_core.config import RunConfig
from metaticket_core.learner import MetaLearner
from metaticket_core.tasks import Task

from .batched import batched_losses, use_batched
from .inner import Params, inner_loop, prepare, task_loss


class FunctionalLearner(MetaLearner):
    """A backbone adapted by ``inner_loop`` from phi_0, with fixed per-parameter inner rates."""

    def __init__(self, backbone: Backbone, config: RunConfig, inner_lrs: dict[str, float]):
        super().__init__()
        self.backbone = backbone
        self.inner_lrs = inner_lrs
        self.inner_steps = config.inner_steps
        self.test_inner_steps = config.test_inner_steps
        self.first_order = config.first_order
        self.batched = config.batched

    @abstractmethod
    def start(self) -> tuple[Params, Params]:
        """phi_0 by parameter name and the masks; both differentiable w.r.t. the
        meta-parameters when grad mode is on."""

    def initial_parameters(self) -> Params:
        return _detached(self.start()[0])

    def outer_loss(
        self, tasks: list[Task], diagnostics: bool = False
    ) -> tuple[torch.Tensor, dict[str, float]]:
        with self._backbone_mode(training=True):
            phi0, masks = self.start()
            if use_batched(self.batched, self.backbone, phi0, tasks):
                losses, outputs, grads = batched_losses(
                    self._forward,
                    phi0,
                    masks,
                    self.inner_lrs,
                    tasks,
                    self.inner_steps,
                    create_graph=not self.first_order,
                    diagnostics=diagnostics,
                )
                # tasks of one shape: the mean over all queries is the mean of the task means
                score = _score(outputs.flatten(0, 1), torch.cat([t.query_y for t in tasks]))
            else:
                losses, score, grads = self._looped(phi0, masks, tasks, diagnostics)
        loss = losses.mean()
        # one device sync for all metrics
        names = list(grads)
        values = torch.stack(
            [loss.detach(), score] + [grads[n].to(loss.dtype) for n in names]
        ).tolist()
        metrics = {"loss": values[0], _score_name(tasks[0].query_y): values[1]}
        metrics.update({f"grad/{n}": v for n, v in zip(names, values[2:], strict=True)})
        return loss, metrics

    def _looped(
        self, phi0: Params, masks: Params, tasks: list[Task], diagnostics: bool
    ) -> tuple[torch.Tensor, torch.Tensor, Params]:
        """One task after another: the query losses, the mean score and the mean first-step
        task gradients (diagnostics)."""
        start = prepare(phi0, self.inner_lrs, create_graph=not self.first_order, masks=masks)
        losses, scores, grads = [], [], {}
        for task in tasks:
            adapted, first = inner_loop(
                partial(self._loss, x=task.support_x, y=task.support_y),
                start,
                self.inner_steps,
                create_graph=not self.first_order,
                diagnostics=diagnostics,
            )
            outputs = self._forward(adapted, task.query_x)
            losses.append(task_loss(outputs, task.query_y))
            scores.append(_score(outputs.detach(), task.query_y))
            for name, value in first.items():
                grads.setdefault(name, []).append(value)
        means = {n: torch.stack(values).mean() for n, values in grads.items()}
        return torch.stack(losses), torch.stack(scores).mean(), means

    def evaluate(self, task: Task) -> dict[str, float]:
        params = self.adapt(task.support_x, task.support_y)
        with torch.no_grad():
            outputs = self.predict(params, task.query_x)
            loss = task_loss(outputs, task.query_y)
            score = _score(outputs, task.query_y)
        return {"loss": loss.item(), _score_name(task.query_y): score.item()}

    def adapt(
        self, support_x: torch.Tensor, support_y: torch.Tensor, steps: int | None = None
    ) -> Params:
        """``steps`` defaults to the configured test-time inner steps."""
        with torch.enable_grad(), self._backbone_mode(training=False):
            phi0, masks = (_detached(d) for d in self.start())
            adapted, _ = inner_loop(
                partial(self._loss, x=support_x, y=support_y),
                prepare(phi0, self.inner_lrs, create_graph=False, masks=masks),
                self.test_inner_steps if steps is None else steps,
                create_graph=False,
            )
        return _detached(adapted)

    def predict(self, params: Params, x: torch.Tensor) -> torch.Tensor:
        with self._backbone_mode(training=False):
            return self._forward(params, x)

    def _forward(self, params: Params, x: torch.Tensor) -> torch.Tensor:
        return functional_call(self.backbone, params, (x,))

    def _loss(self, params: Params, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return task_loss(self._forward(params, x), y)

    @contextmanager
    def _backbone_mode(self, training: bool) -> Iterator[None]:
        previous = self.backbone.training
        self.backbone.train(training)
        try:
            yield
        finally:
            self.backbone.train(previous)


def _detached(tensors: Params) -> Params:
    return {n: t.detach() for n, t in tensors.items()}


def _score(outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    if targets.is_floating_point():
        return torch.mean((outputs - targets) ** 2)
    hits = outputs.argmax(dim=-1) == targets
    # at least float32: a bfloat16 mean (autocast's logits) would round 17/25 to 0.6797
    return hits.to(torch.promote_types(outputs.dtype, torch.float32)).mean()


def _score_name(targets: torch.Tensor) -> str:
    return "mse" if targets.is_floating_point() else "accuracy"
