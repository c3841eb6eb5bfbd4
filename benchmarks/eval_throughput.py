"""Evaluation throughput: test episodes per second with our graph-free adaptation against
adaptation that keeps the second-order graph; same learner, same episodes, same run.

- graph-free: ``learner.evaluate(task)``, what validation and ``mt eval`` run: ``adapt`` takes
  the test inner steps with ``create_graph=False`` and the query forward runs under no_grad.
- with graph: ``learner.outer_loss([task])``, the meta-training path on the same task: the inner
  loop with ``create_graph=True`` (every step's gradient graph kept, as a backward would need)
  and the query forward with grad on; no backward.

5-way, queries per class = shots, 3 inner steps in both modes (the learner is built with
inner_steps = test_inner_steps = 3); random tensors as tasks, so no data is needed. Cases as in
benchmarks/step_time.py (default mlp and conv4 at 28x28). ``--precision fp32 bf16`` measures
each case in both (bf16: the trainer's autocast around both modes). Before timing, the script
checks that both modes give the same query loss on the first episode. episodes/s = 1 / median
episode time, the modes alternating episode by episode so that load from elsewhere hits them
alike. Peak memory: each (case, method, mode) again on a fresh learner (CPU: in a fresh process)
over ``--memory-episodes`` episodes; see benchmarks/_common.py for exactly what it is.

    python benchmarks/eval_throughput.py [--cases mlp conv4] [--methods maml metaticket]
        [--device cpu|cuda] [--threads N] [--precision fp32 bf16] [--episodes 100] [--warmup 5]
        [--memory-episodes 3]
"""

from __future__ import annotations

import argparse
import itertools
import math
import statistics
from collections.abc import Callable
from functools import partial

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
)

from metaticket_core import MetaLearner, Task, autocast

INNER_STEPS = 3


def graph_free(learner: MetaLearner, task: Task) -> float:
    return learner.evaluate(task)["loss"]


def with_graph(learner: MetaLearner, task: Task) -> float:
    return learner.outer_loss([task])[1]["loss"]


MODES = {"graph-free": graph_free, "with graph": with_graph}


def evaluator(case: str, method: str, device: str, precision: str) -> Callable[[str, Task], float]:
    """``run(mode, task)``: the query loss of ``mode`` on ``task`` in ``precision``, with a
    learner built for the case."""
    steps = {"inner_steps": INNER_STEPS, "test_inner_steps": INNER_STEPS}
    learner = build(CASES[case], method, device, precision=precision, **steps)[0]

    def run(mode: str, task: Task) -> float:
        with autocast(precision, torch.device(device)):  # as the trainer does
            return MODES[mode](learner, task)

    return run


def runner(case: str, method: str, mode: str, device: str, precision: str) -> Callable[[], float]:
    """A closure that evaluates the next of 4 fixed episodes with ``mode`` (for peak_memory)."""
    run = evaluator(case, method, device, precision)
    episodes = itertools.cycle(random_tasks(CASES[case], 4, seed=2, device=device))
    return lambda: run(mode, next(episodes))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", nargs="+", choices=CASES, default=["mlp", "conv4"])
    parser.add_argument("--methods", nargs="+", default=["maml", "metaticket"])
    add_machine_options(parser)
    parser.add_argument("--episodes", type=int, default=100, help="timed episodes per mode")
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--memory-episodes", type=int, default=3, help="0: no memory columns")
    args = parser.parse_args()
    configure(args.threads)
    print(
        f"torch {torch.__version__}, {args.device}, {args.threads} thread(s), {INNER_STEPS} "
        f"inner steps, queries per class = shots; episodes/s from the median of "
        f"{args.episodes} episodes after {args.warmup} warm-up episodes\n"
        f"peak MiB: growth over {args.memory_episodes} episodes; {memory_scope(args.device)}"
    )
    print(
        f"{'case':<22} {'precision':<9} {'method':<12} {'graph-free/s':>12} "
        f"{'with graph/s':>12} {'speed-up':>8} {'free MiB':>9} {'graph MiB':>9}"
    )
    time_call = timer(args.device)
    for case, precision in itertools.product(args.cases, args.precision):
        episodes = random_tasks(
            CASES[case], args.warmup + args.episodes, seed=2, device=args.device
        )
        for n, method in enumerate(args.methods):
            run = evaluator(case, method, args.device, precision)
            losses = [run(mode, episodes[0]) for mode in MODES]
            if not math.isclose(*losses, rel_tol=1e-4):
                raise SystemExit(
                    f"{case} {precision} {method}: the modes disagree: query losses {losses}"
                )
            times: dict[str, list[float]] = {m: [] for m in MODES}
            for i, task in enumerate(episodes):
                for mode in list(MODES) if i % 2 else list(MODES)[::-1]:
                    elapsed = time_call(partial(run, mode, task))
                    if i >= args.warmup:
                        times[mode].append(elapsed)
            rates = {m: 1 / statistics.median(t) for m, t in times.items()}
            memory = {m: "-" for m in MODES}
            if args.memory_episodes:
                for mode in MODES:
                    mib = peak_memory(
                        runner,
                        (case, method, mode, args.device, precision),
                        calls=args.memory_episodes,
                        device=args.device,
                        threads=args.threads,
                    )
                    memory[mode] = f"{mib:.1f}"
            label, shown = (str(CASES[case]), precision) if n == 0 else ("", "")
            print(
                f"{label:<22} {shown:<9} {method:<12} {rates['graph-free']:>12.1f} "
                f"{rates['with graph']:>12.1f} {rates['graph-free'] / rates['with graph']:>8.2f} "
                f"{memory['graph-free']:>9} {memory['with graph']:>9}"
            )


if __name__ == "__main__":
    main()
