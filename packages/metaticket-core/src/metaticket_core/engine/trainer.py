"""Meta-training: the outer loop over episodes, validation, checkpoints and resume.

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
from dataclasses import asdict

import torch

from ..api.errors import MetaticketError
from ..api.files import write_json
from ..api.outer_optimizer import guard_, lr_factor, make_optimizer, outer_settings
from ..api.precision import autocast
from . import checkpoint, loggers, training_checkpoint
from .distributed import SINGLE, World, all_gather, all_reduce_mean_, from_main, share
from .evaluation import EvalResult, derived_seed, episode_scores, summarize
from .experiment import Experiment, build  # noqa: F401  build: public here too (docs/PLUGINS.md)
from .interrupts import Interrupts
from .prefetch import Prefetcher
from .progress import Progress
from .records import Metrics, bar_info, on_host, window_record
from .runs import Run
from .training_checkpoint import Counters


class TrainingDiverged(MetaticketError):
    """The meta-loss became NaN or infinite."""


class TrainingInterrupted(MetaticketError):
    """Ctrl-C or SIGTERM during training; the last completed iteration was checkpointed."""


def task_seed(seed: int, iteration: int, task: int) -> int:
    """Seed of task ``task`` of an iteration's meta-batch: independent of how the run was split by
    resumes, and of which rank draws it."""
    return derived_seed(seed, iteration, task)


class Trainer:
    """Drives one run: ``Trainer(experiment, run).fit()``."""

    def __init__(
        self,
        experiment: Experiment,
        run: Run,
        progress: Progress | None = None,
        world: World = SINGLE,
        prefetch: bool = True,
    ):
        self.x, self.run, self.world = experiment, run, world
        self.config = experiment.config
        self.local_batch = share(self.config.meta_batch, world)
        self.progress = progress or Progress(enabled=False)
        self.outer = outer_settings(self.config, experiment.learner)
        self.meta_parameters = experiment.learner.meta_parameters()
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
        self.window: list[Metrics] = []  # step metrics not logged yet (tensors: not read yet)
        # the next step's tasks, drawn while this one runs; ``waited``: seconds steps waited
        self.episodes = Prefetcher(self.tasks, enabled=prefetch)
        self.best: float | None = None
        # training seconds before this process's fit(), kept in the checkpoints so that a resumed
        # run's train_seconds counts every session; None: the checkpoint was older than that
        self.seconds_before: float | None = 0.0
        self.started = time.perf_counter()
        self.interrupts = Interrupts()
        self.loggers = loggers.Loggers({})  # opened by fit(), on rank 0

    # checkpoints -------------------------------------------------------------------------
    def save(self, which: str) -> None:
        """Checkpoint on rank 0 (every rank holds the same state)."""
        if self.world.main:
            training_checkpoint.save(
                self.run.checkpoint(which),
                self.x.learner,
                self.optimizer,
                self.x.device,
                Counters(
                    self.iteration, self.validated, on_host(self.window), self.best, self.seconds()
                ),
            )
        self.checkpointed = self.iteration

    def restore(self, which: str = "last") -> None:
        """Load a checkpoint: rank 0 reads it and hands it to the others. One that does not
        fit this run (edited, truncated, another model's) is a clear error."""
        path = self.run.checkpoint(which)
        tensors, state = from_main(lambda: checkpoint.load(path), self.world)
        try:
            iteration, validated, window, best, seconds = training_checkpoint.restore(
                tensors, state, self.x.learner, self.optimizer, self.x.device
            )
        except (KeyError, TypeError, ValueError, RuntimeError) as exc:
            raise training_checkpoint.misfit(path, self.run.id, exc) from None
        counts = (iteration, validated)
        if not all(type(n) is int and 0 <= n <= self.config.iterations for n in counts):
            raise MetaticketError(
                f"Checkpoint {str(path)!r} says iteration {iteration!r}, but run {self.run.id!r} "
                f"has {self.config.iterations} iterations; the checkpoint was edited or is from "
                f"another run."
            )
        numbers = (best, seconds)
        if not all(n is None or isinstance(n, float) for n in numbers) or not isinstance(
            window, list
        ):
            raise MetaticketError(f"Checkpoint {str(path)!r} has a damaged state.")
        self.iteration, self.validated, self.window, self.best = iteration, validated, window, best
        self.seconds_before = seconds
        self.checkpointed = self.iteration

    def seconds(self) -> float | None:
        """Training seconds up to now, over every session of the run (None: not known)."""
        if self.seconds_before is None:
            return None
        return self.seconds_before + time.perf_counter() - self.started

    # training ------------------------------------------------------------------------------
    def tasks(self, iteration: int) -> list:
        """This rank's share of the iteration's meta-batch."""
        c, first = self.config, self.world.rank * self.local_batch
        return [
            self.x.dataset.episode(
                "train", **asdict(c.episode), seed=task_seed(c.seed, iteration, j)
            ).to(self.x.device)
            for j in range(first, first + self.local_batch)
        ]

    def step(self, iteration: int, diagnostics: bool = False) -> Metrics:
        """One outer step: adapt on each task, average query losses, update meta-parameters.
        ``diagnostics`` adds the learner's inner-gradient metrics (``grad/...``). Only the
        meta-gradient is interruptible: the update is applied whole. The metrics are left on
        the device: the loss, checked to be finite, is the step's one host read."""
        factor = lr_factor(iteration, self.outer, self.config.iterations)
        for group in self.optimizer.param_groups:
            group["lr"] = self.outer.lr * factor
        with self.interrupts.interruptible():
            tasks = self.episodes.get(iteration)
            if iteration < self.config.iterations:
                self.episodes.ahead(iteration + 1)
            with autocast(self.config.precision, self.x.device):
                grads, metrics = self.x.learner.outer_gradients(tasks, diagnostics)
            self.optimizer.zero_grad(set_to_none=True)
            for param, grad in zip(self.meta_parameters, grads, strict=True):
                param.grad = grad
            loss_value, metrics = self._average(metrics)
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
        if self.config.outer_guard is not None:  # after averaging: every rank scales alike
            guarded = guard_(
                self.meta_parameters, self.config.outer_guard, self.config.outer_guard_to
            )
            metrics["guarded"] = guarded  # read with the window it is logged in
        self.optimizer.step()
        self.x.learner.after_step(iteration)
        return {**metrics, "lr": self.outer.lr * factor}

    def _average(self, metrics: Metrics) -> tuple[float, Metrics]:
        """Mean over the ranks of the meta-gradients, metrics (the loss among them) and
        BatchNorm running statistics, in one all_reduce: each rank's loss is the mean over its
        equal share of tasks, so the mean of the gradients is the gradient of the mean over all
        tasks (and of Reptile's mean update, the mean over all tasks). Reads the loss alone on
        the host."""
        if self.world.size == 1:
            return float(metrics["loss"]), metrics
        keys = sorted(metrics)
        dtype = torch.get_default_dtype()
        scalars = torch.stack(
            [torch.as_tensor(metrics[k], dtype=dtype, device=self.x.device) for k in keys]
        )
        grads = [p.grad for p in self.meta_parameters if p.grad is not None]
        all_reduce_mean_([*grads, *self.running_stats, scalars], self.world)
        values = dict(zip(keys, scalars, strict=True))
        return float(values["loss"]), values

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
                dataset=self.x.dataset.describe() or None,  # shown by mt show
                threads=torch.get_num_threads(),
            )
            if self.world.main:
                self.loggers = loggers.open_loggers(c.loggers, self.run, start=self.iteration)
            bar = self.progress.task("train", c.iterations, completed=self.iteration)
            self.started = time.perf_counter()
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
                train_seconds=self.seconds(),
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
        record = window_record(iteration, self.window, self.x.learner.masks())
        self._log("train", record)
        self.window = []
        return bar_info(record)

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
            self.episodes.close()
            self.loggers.close()

    def _validate_and_save(self, iteration: int) -> None:
        result = self.validate()
        self._log(
            "val",
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

    def _log(self, kind: str, record: dict[str, float], histograms: dict | None = None) -> None:
        """To every logger (rank 0 alone has any), with its ``kind`` (train, val) after the
        iteration; ``histograms``: mask scores by layer."""
        self.loggers.log({"iteration": record["iteration"], "kind": kind} | record)
        if histograms:
            self.loggers.histograms(
                record["iteration"], {f"mask_scores/{k}": v for k, v in histograms.items()}
            )
