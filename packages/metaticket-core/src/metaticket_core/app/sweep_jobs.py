"""``mt sweep --jobs N``: N runs of a sweep at once, each in a process of its own.

Each run is a child process, ``mt sweep-job RUN_ID`` (the same training code as ``mt sweep
--jobs 1``: ``sweeps.train_run``), started with its share of the cores as its thread count, in
the environment too so that OpenMP starts with it. With GPUs, job slot k (of ``--jobs``, at most
one per GPU) sees only GPU k mod n through ``CUDA_VISIBLE_DEVICES``, so that the runs at work
never share one. Processes rather than threads or a worker
pool: a run that crashes, diverges or is killed takes only itself down, its output goes to its
own log (``<run>/job.log``), and it stops on Ctrl-C exactly as ``mt train`` does (it checkpoints,
so that running the sweep again resumes it).

The parent follows each child through its log: the child's plain progress lines move the run's
bar and its last ``Error:`` line is what a failure reports. Children run in their own process
groups, so that Ctrl-C in the terminal reaches the parent alone, which passes one SIGINT to each
child (a second one could interrupt the checkpoint being written); SIGTERM and SIGHUP (the
terminal closed) act as Ctrl-C. A parent killed outright (SIGKILL) cannot pass anything on, so
each child asks the kernel for a SIGINT when its parent dies (``follow_parent``): it checkpoints
and stops instead of training on under PID 1 and holding its run against the next ``mt sweep``.
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, fields
from pathlib import Path
from typing import BinaryIO

import torch
from rich.markup import escape

from ..api.config import RunConfig
from ..api.errors import ConfigError, MetaticketError
from ..engine import distributed
from ..engine.evaluation import EvalResult
from ..engine.progress import Bar, Progress, parse_plain
from ..engine.runs import Run, create_run
from ..engine.threads import environment, share
from .sweeps import started

POLL_SECONDS = 0.2


@dataclass
class Job:
    """A run training in a child process, and what its log has said so far."""

    run: Run
    process: subprocess.Popen
    log: BinaryIO  # read from where this child's output starts
    bar: Bar
    slot: int  # which of the --jobs places it holds (its GPU)
    partial: bytes = b""
    error: str = ""  # its last ``Error:`` line
    last: str = ""  # its last line

    def read(self) -> None:
        """Take in the complete lines the child wrote since the last call."""
        self.partial += self.log.read()
        *complete, self.partial = self.partial.split(b"\n")
        for raw in complete:
            line = raw.decode(errors="replace").strip()
            bar = parse_plain(line)
            if bar is not None and bar.description == "train":
                self.bar.advance(bar.completed - self.bar.completed, bar.info, bar.rate)
            elif line.startswith("Error:"):
                self.error = line.removeprefix("Error:").strip()
            self.last = line or self.last

    def outcome(self) -> str:
        """One line: the test result, or why the child stopped."""
        code = self.process.returncode
        test = self.run.test_result()
        if code == 0 and test is not None:
            return EvalResult(**{f.name: test[f.name] for f in fields(EvalResult)}).summary()
        if code in (130, -signal.SIGINT):  # Ctrl-C before training began (typer, Python)
            return "interrupted"
        if code < 0:
            return f"killed by signal {-code} ({signal.Signals(-code).name})"
        return self.error or self.last or f"exit status {code}"


def run_jobs(
    points: list[tuple[str, RunConfig]],
    runs_dir: Path,
    jobs: int,
    threads: int | None,
    progress: Progress,
) -> list[str]:
    """Train and test the points, ``jobs`` at a time; finished runs are kept, unfinished ones
    resumed. Returns the ids of the runs that failed, each reported when it did; raises after
    Ctrl-C (or SIGTERM), once every child has checkpointed and stopped."""
    gpus = visible_gpus() if any(c.device != "cpu" for _, c in points) else []
    if gpus and jobs > len(gpus):
        raise ConfigError(
            f"--jobs {jobs} but this machine has {len(gpus)} GPU(s): each run needs one of its "
            f"own; use --jobs {len(gpus)} or fewer (or --set device=cpu)."
        )
    queue = []
    for run_id, config in points:
        run, finished = started(run_id, runs_dir, progress)
        if not finished:
            queue.append(run or create_run(config, runs_dir, run_id))
    per_job = share(jobs, threads)
    if queue:
        on = f", GPUs {','.join(gpus)}" if gpus else ""
        progress.log(f"{len(queue)} runs, {jobs} at a time, {per_job} thread(s) each{on}")
    running: list[Job] = []
    failed: list[str] = []
    with _stop_requests() as stop:
        try:
            while running or (queue and not stop):
                while queue and len(running) < jobs and not stop:
                    slot = min(set(range(jobs)) - {j.slot for j in running})
                    gpu = gpus[slot % len(gpus)] if gpus else None
                    running.append(_start(queue.pop(0), per_job, progress, slot, gpu))
                time.sleep(POLL_SECONDS)
                if stop and not stop.passed_on:
                    _interrupt(running, stop)
                for job in [j for j in running if j.process.poll() is not None]:
                    running.remove(job)
                    job.read()
                    job.log.close()
                    job.bar.done()
                    if job.process.returncode == 0:
                        progress.log(f"{escape(job.run.id)}: {escape(job.outcome())}")
                    else:
                        failed.append(job.run.id)
                        verb = "stopped" if stop else "[red]failed[/]"
                        progress.log(f"{escape(job.run.id)} {verb}: {escape(job.outcome())}")
                for job in running:
                    job.read()
        finally:  # an error here must not leave the children training
            if not stop.passed_on:
                _interrupt(running, stop)
    if stop:
        raise MetaticketError(
            f"Interrupted: {len(queue) + len(failed)} runs unfinished; running the same mt "
            "sweep again resumes them from their checkpoints."
        )
    return failed


def _interrupt(running: list[Job], stop: StopRequest) -> None:
    """Ctrl-C for every child, once: a second one could interrupt the checkpoint it writes."""
    stop.passed_on = True
    for job in running:
        job.process.send_signal(signal.SIGINT)


def visible_gpus() -> list[str]:
    """The GPUs this process may hand to its children, as ``CUDA_VISIBLE_DEVICES`` names them
    (indices, or UUIDs when the parent's own variable gives those); none without CUDA."""
    if not torch.cuda.is_available():
        return []
    n = torch.cuda.device_count()
    listed = os.environ.get("CUDA_VISIBLE_DEVICES")
    return ([d.strip() for d in listed.split(",")] if listed else [str(i) for i in range(n)])[:n]


def _start(run: Run, threads: int, progress: Progress, slot: int, gpu: str | None) -> Job:
    """Start ``mt sweep-job`` for ``run`` (on ``gpu`` alone, if given), its output appended to
    ``<run>/job.log``."""
    path = run.path / "job.log"
    command = [sys.executable, "-m", distributed.ENTRY_MODULE, "sweep-job", run.id]
    command += ["--runs-dir", str(run.path.parent), "--threads", str(threads)]
    command += ["--parent", str(os.getpid())]
    with open(path, "ab") as out:
        offset = out.tell()
        process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=environment(threads) | ({"CUDA_VISIBLE_DEVICES": gpu} if gpu else {}),
            process_group=0,  # Ctrl-C in the terminal reaches the parent only
        )
    log = open(path, "rb")  # noqa: SIM115 (closed when the job ends)
    log.seek(offset)
    completed = run.status().get("iteration", 0)
    bar = progress.task(run.id, run.config().iterations, completed=completed)
    return Job(run, process, log, bar, slot)


PR_SET_PDEATHSIG = 1  # prctl(2)


def follow_parent(parent: int) -> None:
    """Get SIGINT (Ctrl-C: checkpoint and stop) when process ``parent`` dies, on Linux; a parent
    already gone before the request counts as dead."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGINT, 0, 0, 0)
    if os.getppid() != parent:
        os.kill(os.getpid(), signal.SIGINT)


class StopRequest:
    """Set by Ctrl-C, SIGTERM or SIGHUP, instead of a KeyboardInterrupt at whatever line the parent is
    on; ``passed_on`` once the children have been told."""

    def __init__(self) -> None:
        self.requested = self.passed_on = False

    def __bool__(self) -> bool:
        return self.requested


@contextmanager
def _stop_requests() -> Iterator[StopRequest]:
    """Catch Ctrl-C, SIGTERM and SIGHUP in the block; after the first, they act as usual again (a
    second Ctrl-C leaves at once, the children still checkpointing)."""
    stop = StopRequest()
    previous = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}

    def request(signum: int, frame: object) -> None:
        stop.requested = True
        for s, handler in previous.items():
            signal.signal(s, handler)

    for s in previous:
        signal.signal(s, request)
    try:
        yield stop
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
