"""The program each rank of a distributed test runs, and each job of a parallel sweep: the ``mt``
CLI with only the toy plugin (and the processes it starts run this program too).

``MT_TEST_SHOW_GPU=1`` prints the GPUs it may see (``CUDA_VISIBLE_DEVICES``) first.
``MT_TEST_FAIL=RANK:ITERATION`` makes that rank fail with an error of its own at that iteration,
``MT_TEST_HANG=RANK:ITERATION`` makes it stop answering there (as a long step would: signals
interrupt it), ``MT_TEST_KILL_IN_SAVE=N`` kills the process (SIGKILL) halfway through writing its
N-th checkpoint.
"""

import importlib.util
import os
import signal
import time
from pathlib import Path

from metaticket_core import MetaticketError
from metaticket_core.app.cli import main
from metaticket_core.app.testing import isolated_plugins, registered_plugin
from metaticket_core.engine import checkpoint, distributed
from metaticket_core.engine.trainer import Trainer


def _toy_plugin() -> type:
    """The toys of this folder's conftest.py, loaded by path: another conftest may be first on
    sys.path."""
    spec = importlib.util.spec_from_file_location(
        "core_test_toys", Path(__file__).with_name("conftest.py")
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.ToyPlugin


ToyPlugin = _toy_plugin()


def _at(variable: str) -> tuple[int, int] | None:
    value = os.environ.get(variable)
    return tuple(map(int, value.split(":"))) if value else None  # type: ignore[return-value]


def _sabotaged(step):
    fail, hang = _at("MT_TEST_FAIL"), _at("MT_TEST_HANG")

    def step_or_fail(self, iteration, diagnostics=False):
        if (self.world.rank, iteration) == fail:
            raise MetaticketError(f"toy failure on rank {self.world.rank} at iteration {iteration}")
        if (self.world.rank, iteration) == hang:
            with self.interrupts.interruptible():
                time.sleep(120)
        return step(self, iteration, diagnostics)

    return step_or_fail


def _killed_in(save_file, n: int):
    calls = []

    def save_half_then_die(tensors, filename, metadata=None):
        calls.append(filename)
        save_file(tensors, filename, metadata=metadata)
        if len(calls) == n:
            os.truncate(filename, os.path.getsize(filename) // 2)
            os.kill(os.getpid(), signal.SIGKILL)

    return save_half_then_die


if __name__ == "__main__":
    if os.environ.get("MT_TEST_SHOW_GPU"):
        print(f"visible GPUs: {os.environ.get('CUDA_VISIBLE_DEVICES')}", flush=True)
    distributed.ENTRY_MODULE = "toy_worker"
    Trainer.step = _sabotaged(Trainer.step)
    if "MT_TEST_KILL_IN_SAVE" in os.environ:
        n = int(os.environ["MT_TEST_KILL_IN_SAVE"])
        checkpoint.save_file = _killed_in(checkpoint.save_file, n)
    with isolated_plugins(), registered_plugin(ToyPlugin(), "toys"):
        main()
