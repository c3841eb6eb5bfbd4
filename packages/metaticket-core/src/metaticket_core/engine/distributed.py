"""Data-parallel meta-training with torch.distributed: torchrun's environment, the process group,
the few collectives the trainer needs, and a one-machine launcher (``mt train --nproc N``).

Each rank computes an equal share of the meta-batch; the trainer averages meta-gradients with one
``all_reduce`` per step (gradients, loss, metrics and BatchNorm running statistics packed into one
buffer) rather than wrapping the learner in DDP: the meta-step is a second-order inner loop driven
by ``torch.func`` and ``autograd.grad``, not a module's forward, and the all_reduce is not worth
overlapping: for Meta-ticket on conv4 (111k scores, meta-batch 8, 2 CPU ranks) it took 0.7 ms of
a 1.65 s step, which bounds what DDP's bucketed overlap could win.

A failing rank takes the job down: torchrun stops the other ranks as soon as one exits, and the
process group has a timeout (``MT_DIST_TIMEOUT`` seconds, default 600) for ranks that hang.
A rank whose peers vanish raises ``RankLost``, one line, instead of gloo's or NCCL's traceback.
"""

from __future__ import annotations

import logging
import os
import re
import sys
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, TypeVar

import torch
import torch.distributed as dist

from ..api.errors import ConfigError, MetaticketError

T = TypeVar("T")
ENTRY_MODULE = "metaticket_core"  # what child processes run with ``python -m``: ranks, sweep jobs


class RankLost(MetaticketError):
    """A collective failed: another rank exited, crashed or stopped answering."""


@dataclass(frozen=True)
class World:
    """This process's place in the job; the default is a plain single-process run."""

    rank: int = 0
    size: int = 1
    local_rank: int = 0

    @property
    def main(self) -> bool:
        return self.rank == 0


SINGLE = World()


def detect() -> World:
    """The world torchrun describes in the environment (RANK, WORLD_SIZE, LOCAL_RANK)."""
    if "RANK" not in os.environ or "WORLD_SIZE" not in os.environ:
        return SINGLE
    return World(
        int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"]), int(os.environ.get("LOCAL_RANK", 0))
    )


def timeout() -> timedelta:
    return timedelta(seconds=float(os.environ.get("MT_DIST_TIMEOUT", "600")))


@contextmanager
def process_group(world: World) -> Iterator[None]:
    """Join the job's process group (a no-op for one process) and leave it afterwards.

    With CUDA, CPU tensors (objects, metrics) go through gloo and CUDA tensors through NCCL;
    the rank's GPU is its current device first and the group is bound to it (``device_id``), so
    that NCCL never guesses it (which would put every rank's communicator on GPU 0).
    """
    if world.size == 1:
        yield
        return
    if torch.cuda.is_available() and world.local_rank < torch.cuda.device_count():
        gpu = torch.device("cuda", world.local_rank)
        torch.cuda.set_device(gpu)
        dist.init_process_group("cpu:gloo,cuda:nccl", timeout=timeout(), device_id=gpu)
    else:
        dist.init_process_group("gloo", timeout=timeout())
    try:
        yield
        # leave together: gloo can abort a process (SIGABRT at exit) whose group is torn down
        # while a peer is still finishing its last exchange with it
        dist.barrier()
    finally:
        dist.destroy_process_group()


def share(meta_batch: int, world: World) -> int:
    """Tasks per rank; the meta-batch must split evenly so every task weighs the same."""
    if meta_batch % world.size:
        raise ConfigError(
            f"meta_batch={meta_batch} does not divide by the world size {world.size}: use a "
            f"multiple of {world.size} (--set meta_batch=...) or another number of processes."
        )
    return meta_batch // world.size


@contextmanager
def _collective(what: str) -> Iterator[None]:
    try:
        yield
    except (RuntimeError, dist.DistError) as exc:
        # gloo and NCCL prefix their messages with a source location: "[.../pair.cc:553] ..."
        text = re.sub(r"^\[[^\]]*\]\s*", "", str(exc).strip())
        reason = text.splitlines()[0] if text else type(exc).__name__
        raise RankLost(
            f"rank {dist.get_rank()} lost the other ranks during {what} (one failed or timed "
            f"out; see its error): {reason}"
        ) from exc


def all_reduce_mean_(tensors: Sequence[torch.Tensor], world: World) -> None:
    """Replace each tensor by its mean over the ranks, in one collective."""
    if world.size == 1 or not tensors:
        return
    flat = torch.cat([t.reshape(-1) for t in tensors])
    op, divide = reduce_mean(flat.device)
    with _collective("all_reduce"):
        dist.all_reduce(flat, op=op)
    if divide:
        flat /= world.size
    for t, part in zip(tensors, flat.split([t.numel() for t in tensors]), strict=True):
        t.copy_(part.view_as(t))


def reduce_mean(device: torch.device) -> tuple[dist.ReduceOp, bool]:
    """How to average over the ranks on ``device``: NCCL averages itself (``AVG``), gloo has no
    such op, so its sum is divided after (True)."""
    if device.type == "cuda":
        return dist.ReduceOp.AVG, False
    return dist.ReduceOp.SUM, True


def broadcast(obj: T, world: World) -> T:
    """Rank 0's ``obj`` on every rank (pickled in memory by torch; never read from disk)."""
    if world.size == 1:
        return obj
    box = [obj]
    with _collective("broadcast"):
        dist.broadcast_object_list(box, src=0)
    return box[0]


def all_gather(obj: T, world: World) -> list[T]:
    """Every rank's ``obj``, in rank order."""
    if world.size == 1:
        return [obj]
    out: list[Any] = [None] * world.size
    with _collective("all_gather"):
        dist.all_gather_object(out, obj)
    return out


def from_main(fn: Callable[[], T], world: World) -> T:
    """``fn()`` on rank 0 only (the run folder lives there), its result shared with every rank.
    If it fails, rank 0 raises the error and the other ranks exit quietly: one error line."""
    if world.size == 1:
        return fn()
    result, error = None, None
    if world.main:
        try:
            result = fn()
        except MetaticketError as exc:
            error = exc
    result, failed = broadcast((result, error is not None), world)
    if error is not None:
        raise error
    if failed:
        raise SystemExit(1)
    return result


def together(fn: Callable[[], T], world: World) -> T:
    """``fn()`` on every rank; if it fails anywhere, rank 0 raises the first error (naming the
    rank when not every rank failed) and the others exit quietly, so the user reads one line."""
    if world.size == 1:
        return fn()
    result, error = None, None
    try:
        result = fn()
    except MetaticketError as exc:
        error = exc
    errors = all_gather(None if error is None else str(error), world)
    failed = [(rank, message) for rank, message in enumerate(errors) if message is not None]
    if not failed:
        return result  # type: ignore[return-value]
    if not world.main:
        raise SystemExit(1)
    if error is not None and len(failed) == world.size:
        raise error
    rank, message = failed[0]
    raise MetaticketError(f"rank {rank}: {message}")


def launch(nproc: int, args: Sequence[str]) -> int:
    """Run ``python -m metaticket_core ARGS`` as ``nproc`` ranks on this machine (torchrun's
    elastic agent, no restarts); returns the exit code of the first rank that failed, or 0.

    Ranks inherit the terminal; only rank 0 prints, besides errors. A rank killed by a signal
    printed nothing, so that is reported here.
    """
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
    from torch.distributed.launcher.api import LaunchConfig, elastic_launch

    logging.getLogger("torch.distributed.elastic").setLevel(logging.CRITICAL)
    config = LaunchConfig(
        min_nodes=1,
        max_nodes=1,
        nproc_per_node=nproc,
        rdzv_backend="c10d",
        rdzv_endpoint="localhost:0",
        run_id=uuid.uuid4().hex,
        max_restarts=0,
        monitor_interval=0.1,
    )
    # like torchrun: ranks must not oversubscribe the cores with intra-op threads
    threads = os.environ.get("OMP_NUM_THREADS")
    os.environ["OMP_NUM_THREADS"] = threads or str(max(1, (os.cpu_count() or 1) // nproc))
    try:
        elastic_launch(config, sys.executable)("-m", ENTRY_MODULE, *args)
    except ChildFailedError as exc:
        rank, failure = exc.get_first_failure()
        if failure.exitcode < 0:
            raise MetaticketError(
                f"rank {rank} was killed by signal {-failure.exitcode} ({failure.signal_name()})."
            ) from None
        return failure.exitcode
    finally:
        if threads is None:
            del os.environ["OMP_NUM_THREADS"]
    return 0
