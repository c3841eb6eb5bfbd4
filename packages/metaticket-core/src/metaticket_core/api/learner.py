"""The meta-learner interface the trainer drives.

A registered method factory is called as ``factory(backbone, config, **method_options) ->
MetaLearner`` (``metaticket_core.api.functional`` builds one from parts). The trainer owns the
outer optimizer, schedule, checkpoints and episodes; a learner owns what is meta-learned and
how a task is adapted. Randomness inside a learner (IteRand draws) comes from
torch's global generator, which the trainer seeds and checkpoints.
"""

from __future__ import annotations

from abc import abstractmethod
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import torch
from torch import nn

from .tasks import Task

if TYPE_CHECKING:
    from .config import RunConfig


@dataclass(frozen=True)
class InnerDefaults:
    """A method's inner-loop defaults, overridable by config (``inner_lr``, ``inner_steps``,
    ``test_inner_steps``): Reptile wants several steps where MAML's paper setting takes one."""

    lr: float = 0.4
    steps: int = 1  # at meta-train
    test_steps: int = 3  # at meta-val, meta-test and ``mt predict``


def inner_settings(config: RunConfig, learner: type[MetaLearner] | MetaLearner) -> InnerDefaults:
    """The learner's inner-loop defaults with whatever the config sets explicitly."""
    chosen = {"lr": config.inner_lr, "steps": config.inner_steps,
              "test_steps": config.test_inner_steps}  # fmt: skip
    return replace(learner.inner_defaults, **{k: v for k, v in chosen.items() if v is not None})


@dataclass(frozen=True)
class OuterDefaults:
    """A method's outer-loop optimizer defaults (DESIGN.md section 3), overridable by config."""

    optimizer: str = "adam"  # "sgd" | "adam" | "adamw"
    lr: float = 1e-3
    momentum: float = 0.0
    weight_decay: float = 0.0
    schedule: str = "constant"  # "constant" | "cosine" (to 0)
    warmup: int = 0  # linear warmup iterations


class MetaLearner(nn.Module):
    """Holds the backbone and the meta-parameters; its ``state_dict`` is the whole checkpoint."""

    outer_defaults: OuterDefaults = OuterDefaults()
    inner_defaults: InnerDefaults = InnerDefaults()
    batches_tasks: bool = False  # whether ``batched`` (on, off, auto) changes how it runs

    @abstractmethod
    def meta_parameters(self) -> list[nn.Parameter]:
        """What the outer optimizer updates (MAML: all of phi_0; Meta-ticket: the scores)."""

    def outer_loss(
        self, tasks: list[Task], diagnostics: bool = False
    ) -> tuple[torch.Tensor, dict[str, float | torch.Tensor]]:
        """Mean query loss over the meta-batch after inner-loop adaptation (graph kept for
        backward), and metrics: ``loss``, ``accuracy`` (classification) and, with
        ``diagnostics``, ``grad/<parameter>``: mean absolute inner-loop task gradient of each
        parameter. They cost a pass over every weight per task, so the trainer asks for them
        only on the iterations it logs. Metrics may be numbers or single-value tensors, which
        the trainer reads only when it logs them (each read waits for the device). Called by
        ``outer_gradients``; a learner that overrides that need not implement it."""
        raise NotImplementedError(f"{type(self).__name__} implements neither outer_loss nor "
                                  "outer_gradients")  # fmt: skip

    def outer_gradients(
        self, tasks: list[Task], diagnostics: bool = False
    ) -> tuple[list[torch.Tensor | None], dict[str, float | torch.Tensor]]:
        """The outer update's direction for each of ``meta_parameters()`` (None: no update; the
        outer optimizer steps against it, as against a gradient) and the metrics, ``loss``
        among them (a non-finite one stops the run). By default the gradients of
        ``outer_loss``; override it for an outer update that is not a gradient (Reptile: phi_0
        minus the adapted parameters), and leave ``outer_loss`` unimplemented."""
        loss, metrics = self.outer_loss(tasks, diagnostics)
        params = self.meta_parameters()
        # only the meta-parameters: fixed tensors that the inner loop differentiates
        # (Meta-ticket's random weights, biases, BatchNorm, head) would get outer gradients too
        wanted = [p for p in params if p.requires_grad]
        with torch.autocast(loss.device.type, enabled=False):  # backward outside autocast
            grads = iter(torch.autograd.grad(loss, wanted, allow_unused=True))
        # the loss that was differentiated is the one checked for divergence
        return [next(grads) if p.requires_grad else None for p in params], {
            **metrics,
            "loss": loss.detach(),
        }

    @abstractmethod
    def evaluate(self, task: Task) -> dict[str, float | torch.Tensor]:
        """Adapt on the support set with the test-time step count, building no second-order
        graph, and score the query set: ``loss`` and ``accuracy`` (classification) or ``mse``,
        numbers or single-value tensors (read once for a whole batch of episodes)."""

    @abstractmethod
    def adapt(
        self, support_x: torch.Tensor, support_y: torch.Tensor, steps: int | None = None
    ) -> dict[str, torch.Tensor]:
        """Test-time adaptation without a second-order graph (``steps`` defaults to the
        config's ``test_inner_steps``): the adapted effective parameters."""

    @abstractmethod
    def predict(self, params: dict[str, torch.Tensor], x: torch.Tensor) -> torch.Tensor:
        """Outputs (logits or regression values) of the model with ``params`` on ``x``."""

    @abstractmethod
    def initial_parameters(self) -> dict[str, torch.Tensor]:
        """phi_0, the parameters every task starts adapting from, by backbone parameter name
        (raw values: masks not applied). With ``masks()`` they make a ticket reproducible."""

    def after_step(self, iteration: int) -> None:
        """Called after each outer optimizer step with the 1-based iteration (IteRand)."""

    def masks(self) -> dict[str, torch.Tensor] | None:
        """Binary masks by prunable parameter name, or None for methods without masks."""
        return None

    def scores(self) -> dict[str, torch.Tensor] | None:
        """The meta-learned scores behind ``masks()``, or None for methods without masks."""
        return None
