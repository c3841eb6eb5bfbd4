"""What the speed benchmarks share: the cases, random tasks, learners built and stepped as the
trainer builds and steps them, a clock that waits for CUDA, and peak memory measured in a fresh
process.

Peak memory is the growth of a fresh process (multiprocessing, spawn) over what it holds before
its first timed call, in MiB. The process builds the learner, optimizer and tasks, then records
a baseline and runs the calls; warm-up calls are part of the window, so one-time allocations
(optimizer state, the allocator's pools) count.
- CPU: peak resident set size minus the resident set size at the baseline. The peak is Linux's
  VmHWM, reset to the current size at the baseline (``/proc/self/clear_refs``). Not
  ``getrusage().ru_maxrss``: a spawned child starts with its parent's maximum in it (vfork and
  exec), and it cannot be reset. Code, libraries and allocator arenas that the first call brings
  in count too: a floor of about 20 MiB here (torch 2.13 CPU), where the mlp's steps show 18-27
  MiB with tensors of a few MiB. A baseline after warm-up would read about 0 instead, because
  the allocator keeps the pages that the warm-up freed.
- CUDA: ``torch.cuda.max_memory_allocated()`` minus ``torch.cuda.memory_allocated()`` at the
  baseline (tensors only; the caching allocator's reserve and the CUDA context are not counted).
  Measured in the benchmark's own process, on a freshly built learner: counting tensors needs no
  fresh process (what else the process holds is constant during the window and in the
  baseline), and a fresh one would pay a CUDA context start (seconds) per case. Workspaces that
  cuBLAS and cuDNN keep from earlier calls are then not counted again.

``--precision bf16`` runs the forward passes under the trainer's autocast
(metaticket_core.api.precision); "fp32" is the default.
"""

from __future__ import annotations

import argparse
import gc
import multiprocessing
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch

from metaticket_core import MetaLearner, RunConfig, Task, autocast, methods
from metaticket_core.api.backbone import build_backbone
from metaticket_core.api.config import method_arguments
from metaticket_core.api.outer_optimizer import make_optimizer, outer_settings
from metaticket_core.engine.allocator import keep_freed_memory

WAYS = 5


@dataclass(frozen=True)
class Case:
    """A backbone on an input shape, ``ways``-way ``shots``-shot with as many queries per class as
    shots (the paper's runs use Q = K), ``meta_batch`` tasks per training step; ``regression``: one
    output, ``shots`` support and as many query points per task (the sinusoid)."""

    model: str
    shape: tuple[int, ...]
    shots: int
    meta_batch: int = 4
    regression: bool = False
    ways: int = WAYS

    def __str__(self) -> str:
        size = "x".join(map(str, self.shape))
        if self.regression:
            return f"{self.model} {size} K={self.shots}"
        return f"{self.model} {size} {self.ways}w{self.shots}s"


CASES = {
    "mlp": Case("mlp", (1, 28, 28), 5),  # Omniglot
    "conv4": Case("conv4", (1, 28, 28), 5),
    "conv4-84": Case("conv4", (3, 84, 84), 5),
    "resnet12-84": Case("resnet12", (3, 84, 84), 1),
    "resnet12-84-5shot": Case("resnet12", (3, 84, 84), 5),
    "wrn28-10-84": Case("wrn28-10", (3, 84, 84), 5),
    "mlp-8x8": Case("mlp", (1, 8, 8), 5),  # the Omniglot MLP on 8x8 images: 63k weights
    "sine": Case("sine-mlp", (1,), 10, regression=True),  # Finn et al.: K = 10
    "sine-25": Case("sine-mlp", (1,), 10, meta_batch=25, regression=True),
}


def random_tasks(case: Case, count: int, seed: int, device: str) -> list[Task]:
    """``count`` episodes of uniform random images with balanced labels (regression: inputs
    uniform in [-5, 5), normal targets)."""
    generator = torch.Generator().manual_seed(seed)
    if case.regression:

        def points() -> tuple[torch.Tensor, torch.Tensor]:
            x = torch.rand(case.shots, *case.shape, generator=generator) * 10 - 5
            return x, torch.randn(case.shots, 1, generator=generator)

        return [Task(*points(), *points()).to(device) for _ in range(count)]
    labels = torch.arange(case.ways).repeat_interleave(case.shots)

    def images() -> torch.Tensor:
        return torch.rand(len(labels), *case.shape, generator=generator)

    return [Task(images(), labels, images(), labels).to(device) for _ in range(count)]


def build(
    case: Case, method: str, device: str, **settings: object
) -> tuple[MetaLearner, RunConfig]:
    """The learner ``method`` on the case's backbone (batch-statistics BatchNorm), seeded, and
    its config (inner lr 0.4 and ``settings``)."""
    config = RunConfig(model=case.model, method=method, inner_lr=0.4, **settings)
    return learner_for(config, case, device), config


def learner_for(config: RunConfig, case: Case, device: str) -> MetaLearner:
    """The learner that ``config`` makes on the case's input, as the trainer builds it, seeded."""
    torch.manual_seed(0)
    backbone = build_backbone(
        config, case.shape, "regression" if case.regression else "classification"
    )
    factory = methods().get(config.method).factory
    return factory(backbone, config, **method_arguments(config, factory)).to(device)


def training_step(
    learner: MetaLearner,
    config: RunConfig,
    batch: list[Task],
    device: str,
    meta_loss: Callable[[], torch.Tensor] | None = None,
) -> Callable[[], None]:
    """A closure that runs one meta-training step on ``batch`` as the trainer does: the outer
    loss (or ``meta_loss()``) under the config's autocast, backward to the differentiated
    meta-parameters only, the method's outer optimizer, ``after_step``."""
    opt = make_optimizer(learner.meta_parameters(), outer_settings(config, learner))
    differentiated = [p for p in learner.meta_parameters() if p.requires_grad]
    loss = meta_loss or (lambda: learner.outer_loss(batch)[0])
    iteration = 0

    def step() -> None:
        nonlocal iteration
        iteration += 1
        opt.zero_grad(set_to_none=True)
        with autocast(config.precision, torch.device(device)):
            value = loss()
        value.backward(inputs=differentiated)
        opt.step()
        learner.after_step(iteration)

    return step


def add_machine_options(parser: argparse.ArgumentParser) -> None:
    """--device, --threads and --precision, shared by the benchmarks."""
    parser.add_argument("--device", default="cpu")
    parser.add_argument(
        "--precision",
        nargs="+",
        choices=["fp32", "bf16"],
        default=["fp32"],
        help="each one measured in turn (bf16: the trainer's autocast)",
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=torch.get_num_threads(),
        help="intra-op threads; default: torch's, what mt runs with (%(default)s here)",
    )


def configure(threads: int) -> None:
    """The process as mt runs it (freed memory kept), with ``threads`` intra-op threads."""
    keep_freed_memory()
    torch.set_num_threads(threads)


def timer(device: str) -> Callable[[Callable[[], object]], float]:
    """``time(call)``: wall seconds of ``call()``, waiting for queued CUDA work on both ends."""
    sync = torch.cuda.synchronize if torch.device(device).type == "cuda" else lambda: None

    def time_call(call: Callable[[], object]) -> float:
        sync()
        start = time.perf_counter()
        call()
        sync()
        return time.perf_counter() - start

    return time_call


def memory_scope(device: str) -> str:
    """What ``peak_memory`` counts on ``device``, for a table's header."""
    if torch.device(device).type == "cuda":
        return "CUDA tensors allocated, a fresh learner in this process"
    return "resident set of a fresh process"


def peak_memory(
    make: Callable[..., Callable[[], object]], args: tuple, *, calls: int, device: str, threads: int
) -> float:
    """MiB: peak growth of a fresh process (with CUDA this one) over ``calls`` calls of
    ``make(*args)``, which builds everything first (see the module docstring). ``make`` must be
    a module-level function."""
    if torch.device(device).type == "cuda":
        return _grow(make, args, calls, device, threads)
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        return pool.apply(_grow, (make, args, calls, device, threads))


def _grow(
    make: Callable[..., Callable[[], object]], args: tuple, calls: int, device: str, threads: int
) -> float:
    configure(threads)
    call = make(*args)
    gc.collect()
    cuda = torch.device(device).type == "cuda"
    if cuda:
        torch.cuda.synchronize()
        base = torch.cuda.memory_allocated()
        torch.cuda.reset_peak_memory_stats()
    else:
        base = _resident("VmRSS")
        Path("/proc/self/clear_refs").write_text("5")  # VmHWM := VmRSS
    for _ in range(calls):
        call()
    if cuda:
        torch.cuda.synchronize()
        peak = torch.cuda.max_memory_allocated()
    else:
        peak = _resident("VmHWM")
    return (peak - base) / 2**20


def _resident(field: str) -> int:
    """A size in bytes from /proc/self/status (Linux), e.g. VmRSS or VmHWM."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"/proc/self/status has no {field}")
