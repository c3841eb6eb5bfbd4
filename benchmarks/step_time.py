"""Median wall time and peak memory of one meta-training step, per backbone and method.

One step = outer loss over the meta-batch (second-order inner loop) + backward to the
meta-parameters + optimizer step with each method's default optimizer (+ ``after_step``), as
the trainer runs it. 1 inner step, 5-way, queries per class = shots; random tensors as tasks,
the same batch every step. Backbones come from the installed models plugin, methods from the
installed methods plugin.

Cases (``--cases``): mlp and conv4 on Omniglot's shape 1x28x28 (5-shot), conv4-84 on 3x84x84
(5-shot), resnet12-84 on 3x84x84 (1-shot), resnet12-84-5shot and wrn28-10-84 on 3x84x84
(5-shot), mlp-8x8 on 1x8x8 (5-shot, 63k weights against the mlp's 248k), all at meta-batch
4; sine and sine-25: the sinusoid MLP 1-40-40-1 (K = 10 support and
10 query points) at meta-batch 4 and 25. Methods (``--methods``): maml, metaticket, metaticket+boil (head frozen in the inner
loop), metaticket+iterand (resampling pruned weights every 1000 steps as in training, so the median
step has none; ``--iterand-period 1`` times the worst case), and maml-cloned, printed as
"maml (cloned modules)": the MAML step written as the plainest per-task loop over cloned modules,
the way older libraries (learn2learn) do it; tests/test_benchmark_cloned_maml.py checks that it
computes our maml's meta-gradient. "x maml" is a method's median over maml's in the same case and
precision: for maml (cloned modules) that is plain / ours. ``--precision fp32 bf16`` measures
each case in both (bf16: the forward passes under the trainer's autocast).

The meta-batch runs as the setting ``batched=auto`` chooses (metaticket_methods/batched.py);
``--batched`` measures every method twice instead, as a per-task loop (``batched=off``) and
batched (``batched=on``), and "loop / batched" is the loop's median over the batched one's.

The methods of a case are built in one process and stepped in turn, step by step, so that load
from elsewhere hits them alike. Peak memory: each (case, method) again on a fresh learner (CPU:
in a fresh process) over ``--memory-steps`` steps; see benchmarks/_common.py for exactly what it
is.

    python benchmarks/step_time.py                        # issue 3: mlp, conv4; maml, metaticket
    python benchmarks/step_time.py --all --repeats 5      # issue 6: every case and method
    python benchmarks/step_time.py --batched --threads 1 --cases sine sine-25 mlp-8x8 mlp \
        --repeats 100                                     # issue 18: loop against batched
    python benchmarks/step_time.py [--cases mlp conv4 conv4-84 resnet12-84 resnet12-84-5shot
        wrn28-10-84 mlp-8x8 sine sine-25] [--methods maml metaticket metaticket+boil metaticket+iterand maml-cloned]
        [--device cpu|cuda] [--threads N] [--precision fp32 bf16] [--repeats 100] [--warmup 5]
        [--max-seconds S] [--memory-steps 2] [--batched]
"""

from __future__ import annotations

import argparse
import copy
import itertools
import statistics
import time
from collections.abc import Callable

import torch
from _common import (
    CASES,
    add_machine_options,
    build,
    configure,
    memory_scope,
    peak_memory,
    random_tasks,
    timer,
    training_step,
)
from torch import nn

from metaticket_core import Task, factory_options, task_loss
from metaticket_methods.metaticket import metaticket_iterand

CLONED = "maml-cloned"
METHODS = {
    "maml": "maml",
    "metaticket": "metaticket",
    "metaticket+boil": "metaticket+boil",
    "metaticket+iterand": "metaticket+iterand",
    CLONED: "maml (cloned modules)",
}


def clone_module(module: nn.Module) -> nn.Module:
    """A copy of ``module`` whose parameters are ``clone()``s of the originals: non-leaf tensors,
    so gradients flow back to the originals (learn2learn's ``clone_module``)."""
    clone = copy.copy(module)
    clone._parameters = {n: p if p is None else p.clone() for n, p in module._parameters.items()}
    clone._buffers = dict(module._buffers)
    clone._modules = {n: clone_module(m) for n, m in module._modules.items()}
    return clone


def inner_sgd_step(clone: nn.Module, loss: torch.Tensor, lr: float) -> None:
    """phi <- phi - lr * dloss/dphi, written into the clone's modules, graph kept (second order)."""
    slots = [(m, n) for m in clone.modules() for n, p in m._parameters.items() if p is not None]
    params = [m._parameters[n] for m, n in slots]
    grads = torch.autograd.grad(loss, params, create_graph=True)
    for (module, name), param, grad in zip(slots, params, grads, strict=True):
        module._parameters[name] = param - lr * grad


def cloned_maml_loss(backbone: nn.Module, tasks: list[Task], lr: float, steps: int) -> torch.Tensor:
    """MAML's meta-loss as a plain loop: per task clone the backbone, take ``steps`` SGD steps on
    the support set, and score the query set; the mean over tasks."""
    losses = []
    for task in tasks:
        clone = clone_module(backbone)
        for _ in range(steps):
            inner_sgd_step(clone, task_loss(clone(task.support_x), task.support_y), lr)
        losses.append(task_loss(clone(task.query_x), task.query_y))
    return torch.stack(losses).mean()


def stepper(
    case: str, method: str, iterand_period: int, device: str, precision: str, batched: str
) -> Callable[[], None]:
    """A closure that runs one meta-training step, the meta-batch run as ``batched`` says."""
    library_method = "maml" if method == CLONED else method
    learner, config = build(
        CASES[case],
        library_method,
        device,
        inner_steps=1,
        iterand_period=iterand_period,
        precision=precision,
        batched=batched,
    )
    batch = random_tasks(CASES[case], CASES[case].meta_batch, seed=1, device=device)

    def cloned() -> torch.Tensor:
        return cloned_maml_loss(learner.backbone, batch, learner.inner_lr, learner.inner_steps)

    return training_step(learner, config, batch, device, cloned if method == CLONED else None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", "--models", nargs="+", choices=CASES, default=["mlp", "conv4"])
    parser.add_argument("--methods", nargs="+", choices=METHODS, default=["maml", "metaticket"])
    parser.add_argument("--all", action="store_true", help="every case and every method")
    add_machine_options(parser)
    parser.add_argument("--repeats", type=int, default=100, help="timed steps per method")
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument(
        "--max-seconds", type=float, help="stop a case's timed steps after this long (n >= 3)"
    )
    parser.add_argument(
        "--iterand-period", type=int, default=factory_options(metaticket_iterand)["iterand_period"]
    )
    parser.add_argument("--memory-steps", type=int, default=2, help="0: no memory column")
    parser.add_argument(
        "--batched", action="store_true", help="each method as a per-task loop and batched"
    )
    args = parser.parse_args()
    configure(args.threads)
    if args.all:
        args.cases, args.methods = list(CASES), list(METHODS)
    iterand = "metaticket+iterand" in args.methods
    settings = ["off", "on"] if args.batched else ["auto"]
    print(
        f"torch {torch.__version__}, {args.device}, {args.threads} thread(s), meta-batch N: mbN, "
        f"1 inner step, second order, queries per class = shots; median of n steps (up to "
        f"{args.repeats}) after {args.warmup} warm-up steps\n"
        + (f"IteRand resamples every {args.iterand_period} step(s); " if iterand else "")
        + f"peak MiB: growth over {args.memory_steps} steps; {memory_scope(args.device)}"
    )
    print(
        f"{'case':<26} {'precision':<9} {'batched':<7} {'method':<22} {'n':>4} "
        f"{'median ms':>10} {'x maml':>7} {'loop / batched':>14} {'peak MiB':>9}"
    )
    time_call = timer(args.device)
    for case, precision in itertools.product(args.cases, args.precision):
        variants = [
            (m, b) for m in args.methods for b in settings if m != CLONED or b != "on"
        ]  # the cloned loop has no batched form
        steps = {
            (m, b): stepper(case, m, args.iterand_period, args.device, precision, b)
            for m, b in variants
        }
        times: dict[tuple[str, str], list[float]] = {v: [] for v in steps}
        for i in range(args.warmup + args.repeats):
            if i == args.warmup:
                start = time.perf_counter()
            # alternate the variants step by step, so that load from elsewhere hits them alike
            for variant in list(steps) if i % 2 else list(steps)[::-1]:
                elapsed = time_call(steps[variant])
                if i >= args.warmup:
                    times[variant].append(elapsed)
            timed = i + 1 - args.warmup
            if args.max_seconds and timed >= 3 and time.perf_counter() - start > args.max_seconds:
                break
        medians = {v: statistics.median(t) * 1e3 for v, t in times.items()}
        for (method, batched), median in medians.items():
            maml = medians.get(("maml", batched))
            ratio = f"{median / maml:.3f}" if maml else "-"
            speedup = f"{medians[method, 'off'] / median:.2f}" if batched == "on" else "-"
            memory = "-"
            if args.memory_steps:
                call = (case, method, args.iterand_period, args.device, precision, batched)
                mib = peak_memory(
                    stepper, call, calls=args.memory_steps, device=args.device, threads=args.threads
                )
                memory = f"{mib:.1f}"
            first = (method, batched) == next(iter(medians))
            label = f"{CASES[case]} mb{CASES[case].meta_batch}"
            label, shown = (label, precision) if first else ("", "")
            print(
                f"{label:<26} {shown:<9} {batched:<7} {METHODS[method]:<22} "
                f"{len(times[method, batched]):>4} {median:>10.2f} {ratio:>7} {speedup:>14} "
                f"{memory:>9}"
            )


if __name__ == "__main__":
    main()
