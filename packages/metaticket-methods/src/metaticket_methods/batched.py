"""The batched meta-batch: all tasks of a meta-batch in one forward and one backward.

Every adapted parameter is stacked along a leading task dimension (phi_0 expanded, so the
meta-gradient sums over tasks) and the backbone runs under ``torch.func.vmap``: a Linear layer
becomes one batched matmul, and BatchNorm takes each task's own batch statistics. On a small
network the per-task loop is per-op overhead, which batching divides by the meta-batch; on a
large one each task's matmul already fills the machine and the stacked copies cost more than
they save. ``use_batched`` holds the rule (setting ``batched``: auto, on, off).

Masked tensors are adapted in phi by plain autograd: the forward sees m * phi, and
phi' = phi - lr * dL/dphi. That is the update ``inner.py`` fuses into ``MaskedStep``, with the
same meta-gradient (this package's tests/test_batched.py compares the two in float64).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import torch
from torch import nn
from torch.func import vmap
from torch.nn.modules.batchnorm import _BatchNorm

from metaticket_core import Params, Task, effective, task_loss

from .inner import mean_abs

# auto on the CPU: batched up to this many backbone weights (phi_0, masked or not). Measured on
# one CPU thread, second-order step, loop / batched (docs/RESULTS.md "Batched tasks"): MLPs of
# 1.8k to 63k weights gain at meta-batch 4 and 25 (MAML and Meta-ticket), of 162k and 248k (the
# Omniglot MLP) lose, Meta-ticket most; conv4 (112k) loses too. On a GPU the loop's cost is
# kernel launches (2,012 per Omniglot-MLP step against 739 batched), so auto batches wherever
# the float64 tests (tests/test_batched.py) show the batched path exact: wherever it applies.
AUTO_MAX_WEIGHTS = 50_000

Forward = Callable[[Params, torch.Tensor], torch.Tensor]


def use_batched(setting: str, backbone: nn.Module, phi0: Params, tasks: list[Task]) -> bool:
    """The rule: ``off`` never; otherwise only tasks of one shape (they are stacked) and a
    backbone without running BatchNorm statistics (the loop updates them task after task);
    then ``on`` always, ``auto`` for at least two tasks where ``auto_batches``."""
    if setting == "off" or not _same_shapes(tasks):
        return False
    if any(isinstance(m, _BatchNorm) and m.track_running_stats for m in backbone.modules()):
        return False
    if setting == "on":
        return True
    return len(tasks) > 1 and auto_batches(tasks[0].support_x.device, phi0)


def auto_batches(device: torch.device, phi0: Params) -> bool:
    """``auto`` per device: on a GPU always, on the CPU up to ``AUTO_MAX_WEIGHTS`` weights."""
    return device.type == "cuda" or sum(p.numel() for p in phi0.values()) <= AUTO_MAX_WEIGHTS


def batched_losses(
    forward: Forward,
    phi0: Params,
    masks: Params,
    lrs: Mapping[str, float],
    tasks: list[Task],
    steps: int,
    *,
    create_graph: bool,
    diagnostics: bool = False,
) -> tuple[torch.Tensor, torch.Tensor, Params]:
    """Each task's query loss and detached query outputs after ``steps`` inner steps (as
    ``inner_loop`` takes them, all tasks at once), and with ``diagnostics`` the first step's
    mean|dL/dphi| per adapted parameter over tasks (else {})."""
    adapted = [n for n in phi0 if lrs.get(n, 0.0) != 0.0]
    # the rest, the same for every task: unstacked, vmap passes them to each task as they are
    fixed = {n: masks[n] * p if n in masks else p for n, p in phi0.items() if n not in adapted}
    phi: Params = {}
    for n in adapted:
        stacked = phi0[n].expand(len(tasks), *phi0[n].shape)
        # a fixed buffer (Meta-ticket's weights): differentiate a leaf, one for all tasks
        phi[n] = stacked if stacked.requires_grad else stacked.detach().requires_grad_()

    def one_task(phi: Params, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, ...]:
        out = forward(fixed | phi, x)
        return task_loss(out, y), out

    per_task = vmap(one_task)

    def losses(phi: Params, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """Each task's loss and outputs, the forward on m * phi."""
        return per_task(effective(phi, masks), x, y)

    support_x, support_y, query_x, query_y = (
        torch.stack([getattr(t, field) for t in tasks])
        for field in ("support_x", "support_y", "query_x", "query_y")
    )
    first: Params = {}
    for step in range(steps):
        loss = losses(phi, support_x, support_y)[0].sum()  # task i's loss moves only slice i
        grads = torch.autograd.grad(loss, [phi[n] for n in adapted], create_graph=create_graph)
        if step == 0 and diagnostics:
            first = mean_abs(dict(zip(adapted, grads, strict=True)), masks)
        phi = {n: phi[n] - lrs[n] * grad for n, grad in zip(adapted, grads, strict=True)}
    query, out = losses(phi, query_x, query_y)
    return query, out.detach(), first


def _same_shapes(tasks: list[Task]) -> bool:
    shapes = {
        tuple(t.shape for t in (task.support_x, task.support_y, task.query_x, task.query_y))
        for task in tasks
    }
    return len(shapes) == 1
