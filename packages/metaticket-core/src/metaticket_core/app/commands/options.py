"""Options several commands take, declared once: each command module imports these, none imports
another command module."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

DEFAULT_RUNS_DIR = Path("runs")  # when neither --runs-dir nor $MT_RUNS_DIR says otherwise

RUN_ID = Annotated[str, typer.Argument(help="Run id (mt runs).")]
RUNS_DIR = Annotated[
    Path, typer.Option("--runs-dir", envvar="MT_RUNS_DIR", help="Where run folders live.")
]
CONFIG_FILE = Annotated[
    Path | None, typer.Option("--config", "-c", help="YAML or JSON config file.")
]
SETS = Annotated[
    list[str] | None, typer.Option("--set", help="Any setting: key=value (repeatable).")
]
CHECKPOINT = Annotated[str, typer.Option(help="Which checkpoint: last or best.")]
EPISODES = Annotated[
    int | None,
    typer.Option(
        min=2, max=1_000_000, help="Test episodes (2 at least).", show_default="the run's"
    ),
]
JSON_OUT = Annotated[bool, typer.Option("--json", help="End with a one-line JSON summary.")]
PRECISION = Annotated[
    str | None,
    typer.Option(
        help="fp32 (true float32), tf32 (TF32 matmuls and convolutions on a GPU) or bf16: "
        "forward passes under bfloat16 autocast (masks, scores and optimizer state stay "
        "float32).",
        show_default="fp32",
    ),
]
LOAD_DEVICE = Annotated[
    str,
    typer.Option(
        "--device", help="cpu, cuda, or auto: the run's own device where present, else the CPU."
    ),
]
THREADS = Annotated[
    int | None,
    typer.Option(
        help="Intra-op threads of the process (torch.set_num_threads), at most 4 per core.",
        show_default="$OMP_NUM_THREADS, else the cores that the load leaves idle",
    ),
]
FORCE = Annotated[bool, typer.Option("--force", help="Replace an existing output file.")]
