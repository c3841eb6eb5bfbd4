"""An ESTIMATE of what the paper's experiments would take on one GPU, for docs/RESULTS.md
section 6, until benchmarks/gpu_check.sh has measured them on one.

It counts what one meta-training step of each preset runs, on the CPU: GPU kernels (aten calls
below autograd, so the backward's are in, that are neither views nor allocations), host syncs
(``.item()``), and floating-point operations (torch.utils.flop_counter: matrix products and
convolutions, forward and backward). The counts follow the CPU's code path; where CUDA takes
another (Adam updates all tensors at once there, without a sync per tensor), they are upper
bounds. It prices a step as

    seconds = kernels x LAUNCH + FLOPs / R

with LAUNCH an assumed cost per kernel in eager PyTorch (``--launch-us``) and R the
throughput that makes the formula give the paper's own A100 time for Meta-ticket on ResNet-12
(appendix A.4: 583 s per 1,000 iterations). The paper does not say which shot it timed; the
1-shot step, the smaller, gives the lowest R, so compute-bound estimates are upper bounds. Its
MAML time (560 s) checks the model. Small MLPs are launch-bound: there LAUNCH decides, R hardly.

    python benchmarks/gpu_estimate.py                      # every experiment of section 6
    python benchmarks/gpu_estimate.py [--presets NAME ...] [--set KEY=VALUE ...]
        [--calibrate PRESET SECONDS ...] [--launch-us 10]
"""

from __future__ import annotations

import argparse
import functools

import torch
from _common import Case, configure, learner_for, random_tasks, training_step
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils.flop_counter import FlopCounterMode

from metaticket_core import RunConfig, load_config
from metaticket_core.api.presets import preset

# The paper's experiments (section 6's rows) and what they need beyond the preset.
EXPERIMENTS = {
    "omniglot-5w5s-maml": ["model_options.width=4"],
    "omniglot-5w5s-metaticket": ["model_options.width=4"],
    "omniglot-20w5s-maml": ["model_options.width=4"],
    "omniglot-20w5s-metaticket": ["model_options.width=4"],
    "omniglot-constant-init": [],
    "mlp5-5w5s-maml": [],
    "mlp5-5w5s-metaticket": [],
    "miniimagenet-resnet12-5w1s-maml": [],
    "miniimagenet-resnet12-5w1s-metaticket": [],
}
PAPER_A100 = [("miniimagenet-resnet12-5w1s-metaticket", 0.583)]  # seconds per iteration
# One example's shape: Omniglot 28x28, the 5-MLP's 32x32 RGB (CIFAR-FS, Tiny-ImageNet here),
# miniImageNet 84x84.
SHAPES = {"omniglot": (1, 28, 28), "tiny-imagenet": (3, 32, 32), "miniimagenet": (3, 84, 84)}
aten = torch.ops.aten
ALLOCATIONS = {aten.empty, aten.empty_like, aten.empty_strided, aten.new_empty}


class KernelCounter(TorchDispatchMode):
    """Counts the aten calls that run a kernel on a GPU, and the host syncs."""

    def __init__(self) -> None:
        super().__init__()
        self.kernels = self.syncs = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        if func is aten._local_scalar_dense.default:
            self.syncs += 1
        elif not func.is_view and func.overloadpacket not in ALLOCATIONS:
            self.kernels += 1
        return func(*args, **(kwargs or {}))


def experiment(name: str, sets: tuple[str, ...]) -> RunConfig:
    return load_config(preset=preset(name), sets=[*EXPERIMENTS.get(name, []), *sets])


@functools.cache
def count(name: str, sets: tuple[str, ...]) -> tuple[int, int, int]:
    """Kernels, syncs and FLOPs of the second training step (the first makes optimizer
    state) of the experiment on random tasks."""
    config = experiment(name, sets)
    case = Case(config.model, SHAPES[config.dataset], config.shots, config.meta_batch,
                ways=config.ways)  # fmt: skip
    learner = learner_for(config, case, "cpu")
    step = training_step(learner, config, random_tasks(case, config.meta_batch, 1, "cpu"), "cpu")
    step()
    with FlopCounterMode(display=False) as flops, KernelCounter() as kernels:
        step()
    return kernels.kernels, kernels.syncs, flops.get_total_flops()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presets", nargs="+", default=list(EXPERIMENTS))
    parser.add_argument("--set", dest="sets", action="append", default=[], metavar="KEY=VALUE",
                        help="applied to each preset's row, not to the calibration "
                        "(e.g. batched=on)")  # fmt: skip
    parser.add_argument("--calibrate", nargs=2, action="append", metavar=("PRESET", "SECONDS"),
                        help="a preset's measured seconds per step on the GPU in question; "
                        "default: the paper's A100 figure for ResNet-12 (1-shot)")  # fmt: skip
    parser.add_argument("--launch-us", type=float, default=10.0,
                        help="assumed microseconds per kernel (eager dispatch and launch)")  # fmt: skip
    args = parser.parse_args()
    configure(1)
    launch, sets = args.launch_us * 1e-6, tuple(args.sets)
    calibrations = [(n, float(s)) for n, s in args.calibrate] if args.calibrate else PAPER_A100
    print(f"ESTIMATE, not a measurement: seconds per step = kernels x {args.launch_us:g} us "
          "+ FLOPs / R, R from:")  # fmt: skip
    rates = []
    for name, seconds in calibrations:
        kernels, _, flops = count(name, ())  # as the paper ran it: no --set
        compute = seconds - kernels * launch
        if compute <= 0:
            parser.error(f"{name}: {kernels} kernels at {args.launch_us:g} us take longer than "
                         f"{seconds} s; give a smaller --launch-us")  # fmt: skip
        rates.append(flops / compute)
        print(f"  {name}: {seconds} s per step, {kernels} kernels, {flops / 1e9:.1f} GFLOP "
              f"=> R = {rates[-1] / 1e12:.2f} TFLOP/s")  # fmt: skip
    print(f"{'preset':<40} {'kernels':>8} {'syncs':>6} {'GFLOP':>8} {'ms/step':>13} "
          f"{'iterations':>10} {'hours/run':>11}")  # fmt: skip
    for name in args.presets:
        config = experiment(name, sets)
        kernels, syncs, flops = count(name, sets)
        ms = sorted(1e3 * (kernels * launch + flops / rate) for rate in rates)
        hours = [m * config.iterations / 3.6e6 for m in ms]
        print(f"{name:<40} {kernels:>8} {syncs:>6} {flops / 1e9:>8.2f} "
              f"{ms[0]:>6.1f}-{ms[-1]:<6.1f} {config.iterations:>10} "
              f"{hours[0]:>5.2f}-{hours[-1]:<5.2f}")  # fmt: skip


if __name__ == "__main__":
    main()
