"""What MAML and Meta-ticket share: core's ``FunctionalLearner`` on the fast paths.

Meta-training runs the meta-batch task after task through the fused inner loop (inner.py) or,
where ``batched.use_batched`` says so, all tasks at once (batched.py); evaluation adapts one
task at a time through the fused loop. Both give the meta-gradient of core's reference
``inner_loop``; the outer loss, evaluation, prediction and BatchNorm modes are core's.

BatchNorm: meta-training runs the backbone in train mode and evaluation (``adapt``, ``predict``,
``evaluate``) in eval mode, whatever mode the learner was left in. Backbones built with
``batchnorm="batch"`` keep no running statistics, so both use the statistics of the batch at
hand (the paper's transductive setting). With ``batchnorm="running"`` every meta-training
forward (support and query, all inner steps) updates the module's running statistics in place,
and evaluation normalises with them, so test tasks never change them.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from functools import partial

import torch

from metaticket_core import Backbone, FunctionalLearner, Params, RunConfig, Task, metric

from .batched import batched_losses, use_batched
from .inner import inner_loop, prepare


class FusedLearner(FunctionalLearner):
    """A backbone adapted from phi_0 at ``inner_lr``; ``frozen`` names get inner rate 0."""

    def __init__(self, backbone: Backbone, config: RunConfig, frozen: Collection[str] = ()):
        super().__init__(backbone, config)
        self.inner_lrs = {n: 0.0 if n in frozen else self.inner_lr for n in self.names}
        self.batched = config.batched

    @property
    def batches_tasks(self) -> bool:
        """Whether the meta-batch goes through this class's ``query_losses`` (a subclass that
        overrides the outer loss runs it its own way)."""
        kind = type(self)
        return (
            kind.query_losses is FusedLearner.query_losses
            and kind.outer_loss is FunctionalLearner.outer_loss
            and kind.outer_gradients is FunctionalLearner.outer_gradients
        )

    def inner_rates(self) -> Mapping[str, float]:
        return self.inner_lrs

    def query_losses(
        self, phi0: Params, masks: Params, tasks: list[Task], diagnostics: bool
    ) -> tuple[torch.Tensor, torch.Tensor, Params]:
        if not use_batched(self.batched, self.backbone, phi0, tasks):
            return super().query_losses(phi0, masks, tasks, diagnostics)
        losses, outputs, grads = batched_losses(
            self.outputs,
            phi0,
            masks,
            self.inner_lrs,
            tasks,
            self.inner_steps,
            create_graph=not self.first_order,
            diagnostics=diagnostics,
        )
        # tasks of one shape: the mean over all queries is the mean of the task means
        score = metric(outputs.flatten(0, 1), torch.cat([t.query_y for t in tasks]))
        return losses, score, grads

    def adapter(
        self,
        phi0: Params,
        masks: Params,
        steps: int,
        *,
        create_graph: bool,
        diagnostics: bool = False,
    ) -> Callable[[torch.Tensor, torch.Tensor], tuple[Params, Params]]:
        """The fused loop from one ``prepare``d start for all tasks (its backward sums the
        mask's gradient over them)."""
        start = prepare(phi0, self.inner_lrs, create_graph=create_graph, masks=masks)

        def adapt(x: torch.Tensor, y: torch.Tensor) -> tuple[Params, Params]:
            loss = partial(self.loss, x=x, y=y)
            return inner_loop(
                loss, start, steps, create_graph=create_graph, diagnostics=diagnostics
            )

        return adapt
