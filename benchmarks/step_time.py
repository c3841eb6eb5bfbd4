"""Median wall time of one meta-training step, MAML vs Meta-ticket (paper: 4% overhead).

One step = outer loss over the meta-batch (second-order inner loop) + backward + optimizer step
with each method's default optimizer. Omniglot shape (1, 28, 28), 5-way 5-shot, 5 queries per
class, meta-batch 4, 1 inner step; random tensors as tasks. Backbones come from the installed
models plugin, methods from the installed methods plugin.

    python benchmarks/step_time.py [--threads 1] [--repeats 100] [--models mlp conv4]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import torch

from metaticket_core.config import RunConfig
from metaticket_core.registry import methods, models
from metaticket_core.tasks import Task
from metaticket_core.trainer import make_optimizer, outer_settings

WAYS, SHOTS, QUERIES, META_BATCH, SHAPE = 5, 5, 5, 4, (1, 28, 28)


def tasks(generator: torch.Generator) -> list[Task]:
    labels = torch.arange(WAYS).repeat_interleave(SHOTS)
    query_labels = torch.arange(WAYS).repeat_interleave(QUERIES)

    def images(n: int) -> torch.Tensor:
        return torch.rand(n, *SHAPE, generator=generator)

    return [
        Task(images(len(labels)), labels, images(len(query_labels)), query_labels)
        for _ in range(META_BATCH)
    ]


def stepper(model: str, method: str) -> Callable[[], float]:
    """A closure that runs one meta-training step and returns its wall time in seconds."""
    torch.manual_seed(0)
    config = RunConfig(model=model, method=method, inner_lr=0.4, inner_steps=1)
    backbone = models().get(model).factory(WAYS, SHAPE, batchnorm="batch")
    learner = methods().get(method).factory(backbone, config)
    opt = make_optimizer(learner.meta_parameters(), outer_settings(config, learner))
    batch = tasks(torch.Generator().manual_seed(1))
    iteration = 0

    def step() -> float:
        nonlocal iteration
        iteration += 1
        start = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        loss, _ = learner.outer_loss(batch)
        loss.backward()
        opt.step()
        learner.after_step(iteration)
        return time.perf_counter() - start

    return step


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=100)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--models", nargs="+", default=["mlp", "conv4"])
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(
        f"torch {torch.__version__}, {args.threads} thread(s), {WAYS}-way {SHOTS}-shot, "
        f"{QUERIES} queries, meta-batch {META_BATCH}, 1 inner step, second order; "
        f"median of {args.repeats} steps after {args.warmup} warm-up steps"
    )
    print(f"{'model':<8} {'maml ms':>9} {'metaticket ms':>14} {'ratio':>7}")
    for model in args.models:
        steps = {m: stepper(model, m) for m in ("maml", "metaticket")}
        times: dict[str, list[float]] = {m: [] for m in steps}
        for i in range(args.warmup + args.repeats):
            # alternate the methods step by step, so that load from elsewhere hits both alike
            for method in list(steps) if i % 2 else list(steps)[::-1]:
                elapsed = steps[method]()
                if i >= args.warmup:
                    times[method].append(elapsed)
        maml, ticket = (statistics.median(times[m]) * 1e3 for m in ("maml", "metaticket"))
        print(f"{model:<8} {maml:>9.2f} {ticket:>14.2f} {ticket / maml:>7.3f}")


if __name__ == "__main__":
    main()
