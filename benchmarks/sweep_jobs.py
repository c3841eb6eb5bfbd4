"""Wall time of a sweep run one run after another (``mt sweep --jobs 1``) against N at once
(``--jobs N``, each run with cores / N threads): the paper's Figure 3 grid on Omniglot (MLP
width x method, 5-way 5-shot), shortened.

Both sweeps are the same ``mt sweep`` command in fresh run folders, timed from start to exit
(process starts, data loading, training, validation and test included). The dataset is decoded
into the cache before either is timed. ``--threads N`` gives both sweeps N threads per run;
without it ``--jobs 1`` runs with torch's default (one per core), what a plain ``mt sweep``
does.

    python benchmarks/sweep_jobs.py [--data-root ../shared/data/omniglot] [--iterations 200]
        [--widths 1,2] [--methods maml,metaticket] [--jobs 2] [--threads N]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

from metaticket_core import load_config
from metaticket_core.api.presets import preset
from metaticket_core.engine.experiment import load_dataset
from metaticket_core.engine.threads import cores, share

PRESET = "omniglot-5w5s-maml"
SHARED_OMNIGLOT = Path(__file__).resolve().parents[2] / "shared" / "data" / "omniglot"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-root", type=Path, default=SHARED_OMNIGLOT)
    parser.add_argument("--iterations", type=int, default=200)
    parser.add_argument("--widths", default="1,2", help="MLP width factors")
    parser.add_argument("--methods", default="maml,metaticket")
    parser.add_argument("--jobs", type=int, default=2, help="runs at once, against 1")
    parser.add_argument("--threads", type=int, help="threads per run in both sweeps")
    parser.add_argument("--episodes", type=int, default=100, help="val and test episodes")
    args = parser.parse_args()
    sets = [f"data_root={args.data_root}", f"iterations={args.iterations}",
            f"val_interval={args.iterations}", f"val_episodes={args.episodes}",
            f"test_episodes={args.episodes}"]  # fmt: skip
    load_dataset(load_config(sets=sets, preset=preset(PRESET)))  # decode into the cache
    sweep = [sys.executable, "-m", "metaticket_core", "sweep", "--preset", PRESET, "--seeds", "0",
             "--grid", f"model_options.width={args.widths}", "--grid", f"method={args.methods}",
             *(f"--set={s}" for s in sets)]  # fmt: skip
    if args.threads is not None:
        sweep += ["--threads", str(args.threads)]
    runs = len(args.widths.split(",")) * len(args.methods.split(","))
    print(
        f"Figure 3 grid: width {args.widths} x {args.methods} ({runs} runs), "
        f"{args.iterations} iterations, {args.episodes} val and test episodes; {cores()} cores"
    )
    print(f"{'jobs':>4}  {'threads per run':>15}  {'wall s':>7}")
    wall = {}
    with tempfile.TemporaryDirectory() as tmp:
        for jobs in (1, args.jobs):
            threads = share(jobs, args.threads) if jobs > 1 else args.threads
            wall[jobs] = timed([*sweep, "--jobs", str(jobs), "--runs-dir", f"{tmp}/jobs{jobs}"])
            print(f"{jobs:>4}  {threads or torch.get_num_threads():>15}  {wall[jobs]:>7.1f}")
    print(f"speed-up of --jobs {args.jobs}: {wall[1] / wall[args.jobs]:.2f}x")


def timed(command: list[str]) -> float:
    """Wall seconds of ``command``, which must succeed (its output is shown if it fails)."""
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"{' '.join(command)} failed:\n{done.stderr}")
    return seconds


if __name__ == "__main__":
    main()
