"""How long a training step waits for its episodes, with and without prefetching (issue 26).

The trainer draws the next step's tasks in a background thread while a step runs
(metaticket_core/engine/prefetch.py); without it each step samples its meta-batch first. Trains the
same short run both ways, interleaved, and prints per step the milliseconds waited for episodes
and the milliseconds of the whole step (median over the repeats of each run's mean).

    OMP_NUM_THREADS=1 python benchmarks/episode_wait.py [--preset demo] [--iterations 60]
        [--repeats 3] [--set key=value ...]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from metaticket_core import load_config
from metaticket_core.api.presets import preset
from metaticket_core.engine.runs import create_run
from metaticket_core.engine.trainer import Trainer, build


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="demo")
    parser.add_argument("--iterations", type=int, default=60)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--set", action="append", default=[], dest="sets")
    args = parser.parse_args()
    n = args.iterations
    sets = [f"iterations={n}", f"val_interval={n}", "val_episodes=1", *args.sets]
    config = load_config(None, sets=sets, preset=preset(args.preset))
    print(f"{config.method} on {config.model}, {config.dataset} {config.ways}-way "
          f"{config.shots}-shot, meta-batch {config.meta_batch}, {n} steps")  # fmt: skip
    waited: dict[bool, list[float]] = {True: [], False: []}
    stepped: dict[bool, list[float]] = {True: [], False: []}
    with tempfile.TemporaryDirectory() as runs:
        for r in range(args.repeats):
            for prefetch in (False, True):
                trainer = Trainer(
                    build(config),
                    create_run(config, Path(runs), f"{prefetch}{r}"),
                    prefetch=prefetch,
                )
                start = time.perf_counter()
                trainer.fit()
                stepped[prefetch].append(1000 * (time.perf_counter() - start) / n)
                waited[prefetch].append(1000 * trainer.episodes.waited / n)
    for prefetch in (False, True):
        print(
            f"prefetch {'on ' if prefetch else 'off'}: waits {statistics.median(waited[prefetch]):.2f} "
            f"ms per step for its episodes; {statistics.median(stepped[prefetch]):.1f} ms per step"
        )


if __name__ == "__main__":
    main()
