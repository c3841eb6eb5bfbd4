"""Meta-training: outer optimizer and schedule, episodes, validation, checkpoints, resume.

Exact resume: task ``j`` of iteration ``i`` is drawn from a stream seeded by ``(seed, i, j)``,
torch's generator state is checkpointed, and so are the learner and optimizer states, so training
20 iterations in one go and 10 + 10 with a resume give bit-identical results on the same machine.

Distributed (see distributed.py): rank ``r`` of ``n`` takes tasks ``r*b .. (r+1)*b - 1`` of the
same ``B = n*b`` tasks a single process would draw, the meta-gradients are averaged over the ranks
and every rank takes the same step, so the run equals a single-process one up to float rounding.
Rank 0 alone writes the run folder; the ranks split validation and test episodes.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
import torch

from . import checkpoint, loggers
from .backbone import build_backbone
from .config import RunConfig
from .distributed import SINGLE, World, all_gather, all_reduce_mean_, from_main, share
from .errors import ConfigError, MetaticketError
from .evaluation import EvalResult, episode_scores, summarize
from .files import write_json
from .interrupts import Interrupts
from .learner import MetaLearner, OuterDefaults
from .precision import autocast, check_precision
from .progress import Progress
from .registry import datasets, methods
from .runs import Run
from .tasks import SPLITS, FewShotDataset, default_cache_dir


class TrainingDiverged(MetaticketError):
    """The meta-loss became NaN or infinite."""


class TrainingInterrupted(MetaticketError):
    """Ctrl-C or SIGTERM during training; the last completed iteration was checkpointed."""


@dataclass
class Experiment:
    """What a config builds: the data, the learner on its device."""

    config: RunConfig
    dataset: FewShotDataset
    learner: MetaLearner
    device: torch.device


def resolve_device(name: str, world: World = SINGLE) -> torch.device:
    """The device of this rank: with CUDA, the GPU of its local rank in a distributed run."""
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda" and not torch.cuda.is_available():
        raise ConfigError(
            "device='cuda' but no CUDA device is available; use --device cpu or auto."
        )
    if name == "cuda" and world.size > 1:
        if world.local_rank >= torch.cuda.device_count():
            raise ConfigError(
                f"local rank {world.local_rank} has no GPU of its own: "
                f"{torch.cuda.device_count()} CUDA devices; start fewer processes per node."
            )
        torch.cuda.set_device(world.local_rank)
        return torch.device("cuda", world.local_rank)
    return torch.device(name)


def load_dataset(config: RunConfig, cache_dir: Path | None = None) -> FewShotDataset:
    factory = datasets().get(config.dataset).factory
    return factory(
        config.data_root, cache_dir=cache_dir or default_cache_dir(), **config.dataset_options
    )


def build(config: RunConfig, cache_dir: Path | None = None, world: World = SINGLE) -> Experiment:
    """Check every name and size first, then build dataset, backbone and learner (seeded: every
    rank builds the same network)."""
    config.check_names()
    device = resolve_device(config.device, world)
    check_precision(config.precision, device)
    dataset = load_dataset(config, cache_dir)
    for split in SPLITS:
        dataset.check(split, **asdict(config.episode))
    torch.manual_seed(config.seed)
    backbone = build_backbone(config, dataset.input_shape, dataset.task_type)
    learner = methods().get(config.method).factory(backbone, config)
    return Experiment(config, dataset, learner.to(device), device)


def outer_settings(config: RunConfig, learner: MetaLearner) -> OuterDefaults:
    """The method's outer-loop defaults with whatever the config sets explicitly."""
    chosen = {
        "optimizer": config.outer_optimizer,
        "lr": config.outer_lr,
        "momentum": config.momentum,
        "weight_decay": config.weight_decay,
        "schedule": config.schedule,
        "warmup": config.warmup,
    }
    return replace(learner.outer_defaults, **{k: v for k, v in chosen.items() if v is not None})


def make_optimizer(params: list[torch.nn.Parameter], s: OuterDefaults) -> torch.optim.Optimizer:
    if s.optimizer == "sgd":
        return torch.optim.SGD(params, lr=s.lr, momentum=s.momentum, weight_decay=s.weight_decay)
    if s.optimizer == "adam":
        return torch.optim.Adam(params, lr=s.lr, weight_decay=s.weight_decay)
    if s.optimizer == "adamw":
        return torch.optim.AdamW(params, lr=s.lr, weight_decay=s.weight_decay)
    raise ConfigError(f"outer optimizer {s.optimizer!r} is unknown; use sgd, adam or adamw.")


def lr_factor(iteration: int, s: OuterDefaults, iterations: int) -> float:
    """Multiplier of the base lr at 1-based ``iteration``, as the authors' ``CustomCosineLR``
    (edge-popup's): linear warmup i / (W + 1) for i <= W, then constant, or cosine from 1 at
    i = W + 1 towards 0 at i = ``iterations`` + 1."""
    if iteration <= s.warmup:
        return iteration / (s.warmup + 1)
    if s.schedule == "cosine":
        progress = (iteration - 1 - s.warmup) / max(1, iterations - s.warmup)
        return 0.5 * (1 + math.cos(math.pi * progress))
    return 1.0


def task_seed(seed: int, iteration: int, task: int) -> int:
    """Seed of task ``task`` of an iteration's meta-batch: independent of how the run was split by
    resumes, and of which rank draws it."""
    return int(np.random.SeedSequence([seed, iteration, task]).generate_state(1)[0])


def sparsity(masks: dict[str, torch.Tensor]) -> dict[str, float]:
    """Fraction of pruned weights per layer and in total (key ``sparsity``)."""
    out = {f"sparsity/{name}": 1 - m.mean().item() for name, m in masks.items()}
    total = sum(m.numel() for m in masks.values())
    out["sparsity"] = 1 - sum(m.sum().item() for m in masks.values()) / total
    return out


class Trainer:
    """Drives one run: ``Trainer(experiment, run).fit()``."""

    def __init__(
        self,
        experiment: Experiment,
        run: Run,
        progress: Progress | None = None,
        world: World = SINGLE,
    ):
        self.x, self.run, self.world = experiment, run, world
        self.config = experiment.config
        self.local_batch = share(self.config.meta_batch, world)
        self.progress = progress or Progress(enabled=False)
        self.outer = outer_settings(self.config, experiment.learner)
        self.meta_parameters = experiment.learner.meta_parameters()
        self.differentiated = [p for p in self.meta_parameters if p.requires_grad]
        self.optimizer = make_optimizer(self.meta_parameters, self.outer)
        # ranks see different tasks: their running statistics are averaged with the gradients
        self.running_stats = [
            b
            for name, b in experiment.learner.named_buffers()
            if name.rsplit(".", 1)[-1] in ("running_mean", "running_var")
        ]
        self.iteration = 0
        self.checkpointed: int | None = None  # iteration of the last checkpoint written
        self.validated = 0  # iteration of the last validation recorded
        self.window: list[dict[str, float]] = []  # step metrics not logged yet
        self.best: float | None = None
        self.interrupts = Interrupts()
        self.loggers = loggers.Loggers([])  # opened by fit(), on rank 0

    # checkpoints -------------------------------------------------------------------------
    def save(self, which: str) -> None:
        """Checkpoint on rank 0 (every rank holds the same state)."""
        if self.world.main:
            opt_tensors, opt_state = checkpoint.optimizer_to_flat(self.optimizer)
            tensors = {f"learner/{k}": v for k, v in self.x.learner.state_dict().items()}
            tensors.update({f"optimizer/{k}": v for k, v in opt_tensors.items()})
            tensors["rng/torch"] = torch.get_rng_state()
            if self.x.device.type == "cuda":
                tensors["rng/cuda"] = torch.cuda.get_rng_state(self.x.device)
            state = {
                "iteration": self.iteration,
                "validated": self.validated,
                "window": self.window,
                "best": self.best,
                "optimizer": opt_state,
            }
            checkpoint.save(self.run.checkpoint(which), tensors, state)
        self.checkpointed = self.iteration

    def restore(self, which: str = "last") -> None:
        """Load a checkpoint: rank 0 reads it and hands it to the others. One that does not
        fit this run (edited, truncated, another model's) is a clear error."""
        path = self.run.checkpoint(which)
        tensors, state = from_main(lambda: checkpoint.load(path), self.world)
        try:
            self.x.learner.load_state_dict(
                {k[len("learner/") :]: v for k, v in tensors.items() if k.startswith("learner/")}
            )
            checkpoint.optimizer_from_flat(
                self.optimizer,
                {
                    k[len("optimizer/") :]: v
                    for k, v in tensors.items()
                    if k.startswith("optimizer/")
                },
                state["optimizer"],
            )
            torch.set_rng_state(tensors["rng/torch"])
            if "rng/cuda" in tensors and self.x.device.type == "cuda":
                torch.cuda.set_rng_state(tensors["rng/cuda"], self.x.device)
            iteration, best = state["iteration"], state["best"]
            validated, window = state.get("validated", iteration), state.get("window", [])
        except (KeyError, TypeError, ValueError, RuntimeError) as exc:
            reason = " ".join(line.strip() for line in str(exc).splitlines())[:300]
            raise MetaticketError(
                f"Checkpoint {str(path)!r} does not fit run {self.run.id!r} (damaged, edited or "
                f"from another run): {type(exc).__name__}: {reason}"
            ) from None
        counts = (iteration, validated)
        if not all(type(n) is int and 0 <= n <= self.config.iterations for n in counts):
            raise MetaticketError(
                f"Checkpoint {str(path)!r} says iteration {iteration!r}, but run {self.run.id!r} "
                f"has {self.config.iterations} iterations; the checkpoint was edited or is from "
                f"another run."
            )
        if not (best is None or isinstance(best, float)) or not isinstance(window, list):
            raise MetaticketError(f"Checkpoint {str(path)!r} has a damaged state.")
        self.iteration, self.validated, self.window, self.best = iteration, validated, window, best
        self.checkpointed = self.iteration

    # training ------------------------------------------------------------------------------
    def tasks(self, iteration: int) -> list:
        """This rank's share of the iteration's meta-batch."""
        c, first = self.config, self.world.rank * self.local_batch
        return [
            next(
                self.x.dataset.episodes(
                    "train", **asdict(c.episode), seed=task_seed(c.seed, iteration, j)
                )
            ).to(self.x.device)
            for j in range(first, first + self.local_batch)
        ]

    def step(self, iteration: int, diagnostics: bool = False) -> dict[str, float]:
        """One outer step: adapt on each task, average query losses, update meta-parameters.
        ``diagnostics`` adds the learner's inner-gradient metrics (``grad/...``). Only the
        meta-gradient is interruptible: the update is applied whole."""
        factor = lr_factor(iteration, self.outer, self.config.iterations)
        for group in self.optimizer.param_groups:
            group["lr"] = self.outer.lr * factor
        with self.interrupts.interruptible():
            tasks = self.tasks(iteration)
            with autocast(self.config.precision, self.x.device):
                loss, metrics = self.x.learner.outer_loss(tasks, diagnostics)
            self.optimizer.zero_grad(set_to_none=True)
            # only the meta-parameters: fixed tensors that the inner loop differentiates
            # (Meta-ticket's random weights, biases, BatchNorm, head) would otherwise get outer
            # gradients too
            loss.backward(inputs=self.differentiated)
            loss_value, metrics = self._average(loss, metrics)
        if not math.isfinite(loss_value):
            kept = (
                f"the last good checkpoint (iteration {self.checkpointed}) is kept"
                if self.checkpointed is not None
                else "no checkpoint had been written yet"
            )
            raise TrainingDiverged(
                f"The meta-loss became {loss_value} at iteration {iteration}; {kept}. Try a lower "
                f"--outer-lr or --inner-lr."
            )
        self.optimizer.step()
        self.x.learner.after_step(iteration)
        return {**metrics, "lr": self.outer.lr * factor}

    def _average(
        self, loss: torch.Tensor, metrics: dict[str, float]
    ) -> tuple[float, dict[str, float]]:
        """Mean over the ranks of the meta-gradients, loss, metrics and BatchNorm running
        statistics, in one all_reduce: each rank's loss is the mean over its equal share of
        tasks, so the mean of the gradients is the gradient of the mean over all tasks."""
        if self.world.size == 1:
            return loss.item(), metrics
        keys = sorted(metrics)
        scalars = torch.tensor(
            [loss.item(), *(metrics[k] for k in keys)], device=loss.device, dtype=loss.dtype
        )
        grads = [p.grad for p in self.meta_parameters if p.grad is not None]
        all_reduce_mean_([*grads, *self.running_stats, scalars], self.world)
        loss_value, *values = scalars.tolist()
        return loss_value, dict(zip(keys, values, strict=True))

    def evaluate(self, split: str, episodes: int) -> EvalResult:
        """Score the fixed episodes of ``split``, each rank a share; every rank gets the result."""
        n = self.world.size
        with self.interrupts.interruptible():
            scores = episode_scores(
                self.x.learner,
                self.x.dataset,
                self.config,
                split,  # type: ignore[arg-type]
                episodes,
                self.x.device,
                self.progress,
                share=(self.world.rank, n),
            )
        shares = all_gather(scores, self.world)
        return summarize(self.x.dataset.task_type, [shares[i % n][i // n] for i in range(episodes)])

    def validate(self) -> EvalResult:
        return self.evaluate("val", self.config.val_episodes)

    def fit(self) -> None:
        """Train from ``self.iteration`` to ``config.iterations``, validating and checkpointing
        (first the validation that an interrupt cut short)."""
        c = self.config
        with self._ending(), self.interrupts.handled():
            self._status(
                state="running",
                reason=None,
                iteration=self.iteration,
                input_shape=list(self.x.dataset.input_shape),
                task_type=self.x.dataset.task_type,
                threads=torch.get_num_threads(),
            )
            if self.world.main:
                self.loggers = loggers.open_loggers(c.loggers, self.run, start=self.iteration)
            bar = self.progress.task("train", c.iterations, completed=self.iteration)
            started = time.perf_counter()
            try:
                if self._validation_pending():
                    self._validate_and_save(self.iteration)
                for iteration in range(self.iteration + 1, c.iterations + 1):
                    info = self._advance(iteration)
                    bar.advance(info=info)
                    if self._validates_at(iteration):
                        self._validate_and_save(iteration)
                    self.interrupts.check()
            except KeyboardInterrupt:
                self.save("last")
                raise
            if c.iterations == 0:  # the untrained start, kept so that it can be tested again
                self.save("last")
            self._status(
                state="trained",
                iteration=self.iteration,
                train_seconds=time.perf_counter() - started,
            )

    def _advance(self, iteration: int) -> str | None:
        """Step ``iteration`` and record it (the update, count and record go together); returns
        the progress bar's text when the step was logged."""
        log_every = max(1, min(self.config.val_interval, self.config.iterations // 200 or 1))
        log = iteration % log_every == 0 or iteration == self.config.iterations
        metrics = self.step(iteration, diagnostics=log)
        self.iteration = iteration
        self.window.append(metrics)
        if not log:
            return None
        record = self._record(iteration, self.window)
        self._log(record)
        self.window = []
        return _bar_info(record)

    def _validates_at(self, iteration: int) -> bool:
        return iteration % self.config.val_interval == 0 or iteration == self.config.iterations

    def _validation_pending(self) -> bool:
        """Whether an interrupt cut short the validation of the current iteration."""
        return self.validated < self.iteration and self._validates_at(self.iteration)

    @contextmanager
    def _ending(self) -> Iterator[None]:
        """Record in status.json how the run ended when it ends with an error: interrupted
        (Ctrl-C, SIGTERM), diverged, or failed with the reason."""
        try:
            yield
        except KeyboardInterrupt:
            self._status(state="interrupted", iteration=self.iteration)
            raise TrainingInterrupted(
                f"Interrupted at iteration {self.iteration}; checkpoint saved. Resume with: "
                f"mt train --resume {self.run.id}"
            ) from None
        except TrainingDiverged:
            self._status(state="diverged")
            raise
        except Exception as exc:
            reason = (str(exc).strip().splitlines() or [""])[0]
            with suppress(Exception):  # the disk may be what failed
                self._status(state="failed", reason=f"{type(exc).__name__}: {reason}")
            raise
        finally:
            self.loggers.close()

    def _record(self, iteration: int, window: list[dict[str, float]]) -> dict[str, float]:
        """Means over the window; diagnostics come from its last step, the only one that has
        them."""
        record = {"iteration": iteration, "time": time.time()}
        for key in window[-1]:
            values = [m[key] for m in window if key in m]
            record[key] = sum(values) / len(values)
        masks = self.x.learner.masks()
        if masks:
            record.update(sparsity(masks))
        return record

    def _validate_and_save(self, iteration: int) -> None:
        result = self.validate()
        self._log(
            {
                "iteration": iteration,
                f"val_{result.metric}": result.mean,
                "val_ci95": result.ci95,
                "val_loss": result.loss,
            },
            histograms=self.x.learner.scores(),
        )
        improved = result.improves_on(self.best)
        if improved:
            self.best = result.mean
        self.validated = iteration
        if improved:  # before "last": a resume from the previous "last" rewrites it anyway
            self.save("best")
        self.save("last")
        self._status(iteration=iteration, best_val=self.best, val_metric=result.metric)
        self.progress.log(f"iteration {iteration}: val {result.summary()}")

    def complete(self, resume: bool) -> EvalResult:
        """Train to the end (from the last checkpoint when resuming), then meta-test."""
        if resume:
            if self.run.checkpoint("last").exists():  # none: stopped before its first one
                self.restore("last")
            if self.world.main:
                self.run.truncate_metrics(self.iteration, not self._validation_pending())
            self.progress.log(f"resuming {self.run.id} from iteration {self.iteration}")
        self.fit()
        return self.test()

    def test(self, episodes: int | None = None) -> EvalResult:
        """Meta-test the current learner on fixed test episodes and store the result."""
        with self._ending(), self.interrupts.handled():
            result = self.evaluate("test", episodes or self.config.test_episodes)
            if self.world.main:
                write_json(self.run.path / "test.json", {**result.as_dict(), "checkpoint": "last"})
            self._status(state="finished", test=result.mean, test_ci95=result.ci95)
        return result

    def _status(self, **changes: object) -> None:
        if self.world.main:
            self.run.update_status(**changes)

    def _log(self, record: dict[str, float], histograms: dict | None = None) -> None:
        """To every logger (rank 0 alone has any); ``histograms``: mask scores by layer."""
        self.loggers.log(record)
        if histograms:
            self.loggers.histograms(
                record["iteration"], {f"mask_scores/{k}": v for k, v in histograms.items()}
            )


def _bar_info(record: dict[str, float]) -> str:
    parts = [f"loss {record['loss']:.3f}"]
    if "accuracy" in record:
        parts.append(f"acc {100 * record['accuracy']:.1f}%")
    if "sparsity" in record:
        parts.append(f"sparsity {100 * record['sparsity']:.1f}%")
    return " ".join(parts)
