"""benchmarks/gpu_check.sh in its CPU smoke mode: every stage but the install runs (tiny settings,
mlp only) and prints what the GPU run will print."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # a shell script starting interpreters

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "gpu_check.sh"
METHODS = ("maml", "metaticket", "metaticket+boil")


def rows(lines: list[str], method: str) -> int:
    """Table rows of ``method``: its name followed by a number."""
    return sum(
        1
        for cells in map(str.split, lines)
        if method in cells[:-1] and cells[cells.index(method) + 1][0].isdigit()
    )


def test_gpu_check_script_parses():
    assert subprocess.run(["bash", "-n", str(SCRIPT)]).returncode == 0


def test_gpu_check_cpu_mode_runs_every_stage(tmp_path, cache_dir):
    env = {k: v for k, v in os.environ.items() if not k.startswith("MT_")}
    env.update(PYTHON=sys.executable, TMPDIR=str(tmp_path), MT_CACHE_DIR=str(cache_dir))
    done = subprocess.run(
        ["bash", str(SCRIPT), "--cpu"], capture_output=True, text=True, env=env, timeout=300
    )
    assert done.returncode == 0, done.stdout
    out = done.stdout
    assert not any(
        line.startswith(("failed:", "stopped:", "skipped:")) for line in out.splitlines()
    )
    steps, evaluation = out.split("== demo")[0].split("== evaluation", 1)
    for method in METHODS:  # fp32 and bf16 each
        assert rows(steps.splitlines(), method) == 2, method
    for method in ("maml", "metaticket"):
        assert rows(evaluation.splitlines(), method) == 2, method
    assert "Interrupted at iteration" in out
    assert "resuming gpu-demo from iteration" in out
    assert "gpu-demo: meta-test accuracy" in out  # mt test --precision bf16 after the resume
    assert out.rstrip().splitlines()[-1].startswith("gpu_check: done in")
