"""What a training checkpoint holds: the learner's state dict under ``learner/``, the optimizer's
tensors under ``optimizer/`` and torch's generator states under ``rng/``; as JSON, the
optimizer's other state and where training stands (``Counters``). An exact resume needs all of
it; checkpoint.py writes and reads the file."""

from __future__ import annotations

from pathlib import Path
from typing import Any, NamedTuple

import torch

from ..api.errors import MetaticketError
from ..api.learner import MetaLearner
from . import checkpoint

LEARNER, OPTIMIZER = "learner/", "optimizer/"


class Counters(NamedTuple):
    """The last iteration done and the last validated, the step metrics not logged yet, the
    best validation mean so far, and the training seconds so far (None in a checkpoint written
    before they were kept)."""

    iteration: int
    validated: int
    window: list[dict[str, float]]
    best: float | None
    seconds: float | None


def save(
    path: Path,
    learner: MetaLearner,
    optimizer: torch.optim.Optimizer,
    device: torch.device,
    counters: Counters,
) -> None:
    opt_tensors, opt_state = checkpoint.optimizer_to_flat(optimizer)
    tensors = {f"{LEARNER}{k}": v for k, v in learner.state_dict().items()}
    tensors.update({f"{OPTIMIZER}{k}": v for k, v in opt_tensors.items()})
    tensors["rng/torch"] = torch.get_rng_state()
    if device.type == "cuda":
        tensors["rng/cuda"] = torch.cuda.get_rng_state(device)
    checkpoint.save(path, tensors, {**counters._asdict(), "optimizer": opt_state})


def load_learner(learner: MetaLearner, state: dict[str, torch.Tensor]) -> None:
    """``learner.load_state_dict(state)``, but a tensor missing, unexpected or of another shape
    is a ValueError naming it and the shapes (torch's own error says only "Error(s) in loading
    state_dict" on its first line)."""
    own = learner.state_dict()
    for key, tensor in state.items():
        if key in own and tuple(own[key].shape) != tuple(tensor.shape):
            raise ValueError(
                f"tensor {key} has shape {tuple(tensor.shape)}, this run's has "
                f"{tuple(own[key].shape)}"
            )
    for kind, keys in (
        ("lacks", own.keys() - state.keys()),
        ("has unknown", state.keys() - own.keys()),
    ):
        if keys:
            raise ValueError(f"it {kind} tensors {', '.join(sorted(keys)[:3])}")
    learner.load_state_dict({k: v.to(own[k].device) for k, v in state.items()})


def misfit(path: Path, run_id: str, exc: BaseException) -> MetaticketError:
    """The error for a checkpoint that does not fit its run (edited, truncated, another
    model's), with the detail of ``exc`` on one line."""
    reason = " ".join(line.strip() for line in str(exc).splitlines())[:300]
    return MetaticketError(
        f"Checkpoint {str(path)!r} does not fit run {run_id!r} (damaged, edited or from another "
        f"run): {type(exc).__name__}: {reason}"
    )


def restore(
    tensors: dict[str, torch.Tensor],
    state: dict[str, Any],
    learner: MetaLearner,
    optimizer: torch.optim.Optimizer,
    device: torch.device,
) -> Counters:
    """Put a loaded checkpoint's states back; a checkpoint that does not fit them raises
    KeyError, TypeError, ValueError or RuntimeError."""
    load_learner(learner, learner_state(tensors))
    checkpoint.optimizer_from_flat(optimizer, _section(tensors, OPTIMIZER), state["optimizer"])
    torch.set_rng_state(tensors["rng/torch"])
    if "rng/cuda" in tensors and device.type == "cuda":
        torch.cuda.set_rng_state(tensors["rng/cuda"], device)
    iteration, best = state["iteration"], state["best"]
    return Counters(
        iteration,
        state.get("validated", iteration),
        state.get("window", []),
        best,
        state.get("seconds"),
    )


def learner_state(tensors: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The learner's state dict in a checkpoint's tensors."""
    return _section(tensors, LEARNER)


def _section(tensors: dict[str, torch.Tensor], prefix: str) -> dict[str, torch.Tensor]:
    return {k[len(prefix) :]: v for k, v in tensors.items() if k.startswith(prefix)}
