"""Using trained runs: load a learner from a checkpoint, meta-test it, adapt it to new tasks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from ..api.config import validate
from ..api.errors import MetaticketError
from ..api.precision import autocast
from ..engine import checkpoint, training_checkpoint
from ..engine.experiment import Experiment, build, portable_device
from ..engine.runs import Run


def load_experiment(
    run: Run, which: str = "last", device: str = "auto", **changes: Any
) -> Experiment:
    """Rebuild ``run``'s experiment (with config ``changes``, e.g. another dataset) on
    ``device`` (``auto``: the run's own where present, else the CPU) and load the learner from
    its ``which`` checkpoint ("last" or "best")."""
    if which not in ("last", "best"):
        raise MetaticketError(f"Unknown checkpoint {which!r}; use 'last' or 'best'.")
    path = run.checkpoint(which)
    if not path.exists():
        raise MetaticketError(
            f"Run {run.id!r} has no {which} checkpoint yet (it is written at each validation)."
        )
    trained = run.config()
    changes["device"] = portable_device(run.id, trained.device, device)
    config = validate({**trained.model_dump(), **changes})
    experiment = build(config)
    shape = run.status().get("input_shape")
    if shape and tuple(shape) != tuple(experiment.dataset.input_shape):
        raise MetaticketError(
            f"Run {run.id!r} was trained on inputs {tuple(shape)}, but dataset "
            f"{config.dataset!r} gives {tuple(experiment.dataset.input_shape)}; choose dataset "
            f"options that match (for example --set dataset_options.size=...)."
        )
    tensors, _ = checkpoint.load(path)
    try:
        training_checkpoint.load_learner(
            experiment.learner, training_checkpoint.learner_state(tensors)
        )
    except (ValueError, RuntimeError) as exc:
        raise training_checkpoint.misfit(path, run.id, exc) from None
    return experiment


class Predictor:
    """Adapt a trained run to a user's few-shot task, then classify new examples.

    predictor = Predictor.from_run(open_run("my-run", Path("runs")))
    predictor.fit_images({"cat": [...paths], "dog": [...paths]})
    for name, p in predictor.predict_images([query_path]): ...
    """

    def __init__(self, experiment: Experiment, steps: int | None = None):
        self.x, self.steps = experiment, steps
        self.params: dict[str, torch.Tensor] | None = None
        self.support_x: torch.Tensor | None = None
        self.classes: tuple[str, ...] = ()

    @classmethod
    def from_run(
        cls, run: Run, which: str = "last", steps: int | None = None, device: str = "auto"
    ) -> Predictor:
        return cls(load_experiment(run, which, device), steps)

    def fit(self, support_x: torch.Tensor, support_y: torch.Tensor, classes: list[str]) -> None:
        """Adapt on labelled examples (labels index ``classes``)."""
        ways = self.x.config.ways
        if len(classes) != ways:
            raise MetaticketError(
                f"This run was trained for {ways}-way tasks; the support set has "
                f"{len(classes)} classes ({', '.join(classes)})."
            )
        device = self.x.device
        self.support_x = support_x.to(device)
        with autocast(self.x.config.precision, device):
            self.params = self.x.learner.adapt(self.support_x, support_y.to(device), self.steps)
        self.classes = tuple(classes)

    def fit_images(self, support: dict[str, list[Path]]) -> None:
        """Adapt on image files, one list per class name."""
        classes = sorted(support)
        paths = [p for c in classes for p in support[c]]
        labels = torch.tensor([i for i, c in enumerate(classes) for _ in support[c]])
        self.fit(self.x.dataset.load_images(paths), labels, classes)

    def predict(self, x: torch.Tensor) -> list[tuple[str, float]]:
        """(class name, probability) of the most likely class of each example.

        The queries go through the network together with the support set, so BatchNorm's batch
        statistics (the paper's setting) are meaningful even for a single query."""
        if self.params is None:
            raise MetaticketError("Call fit() with a support set before predict().")
        batch = torch.cat([self.support_x, x.to(self.x.device)])
        with torch.no_grad(), autocast(self.x.config.precision, self.x.device):
            logits = self.x.learner.predict(self.params, batch)[len(self.support_x) :]
        probs = logits.float().softmax(-1)
        best = probs.max(-1)
        return [
            (self.classes[i], p)
            for i, p in zip(best.indices.tolist(), best.values.tolist(), strict=True)
        ]

    def predict_images(self, paths: list[Path]) -> list[tuple[str, float]]:
        return self.predict(self.x.dataset.load_images(paths))
