"""The benchmark scripts run as documented and print their tables (a few steps, no timing
claims: docs/RESULTS.md has the measurements)."""

from __future__ import annotations

import shlex
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # each test starts an interpreter, some several

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def run(command: str) -> list[str]:
    """``python benchmarks/SCRIPT ARGS``: its output lines."""
    script, *args = shlex.split(command)
    done = subprocess.run(
        [sys.executable, str(BENCHMARKS / script), *args],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.splitlines()


def row(lines: list[str], method: str) -> list[str]:
    """The cells after the method's name in its table row (where a number follows the name)."""
    rows = []
    for line in lines:
        cells = line.split()
        if method in cells[:-1] and cells[cells.index(method) + 1][0].isdigit():
            rows.append(cells[cells.index(method) + 1 :])
    (cells,) = rows
    return cells


def test_step_time_prints_each_methods_time_and_ratio():
    lines = run("step_time.py --cases mlp --repeats 2 --warmup 1 --memory-steps 0 --threads 1")
    assert "1 thread(s)" in lines[0]
    n, ms, ratio, speedup, memory = row(lines, "maml")
    assert (n, ratio, speedup, memory) == ("2", "1.000", "-", "-")
    n, ms, ratio, speedup, memory = row(lines, "metaticket")
    assert n == "2" and float(ms) > 0 and float(ratio) > 0


def test_step_time_batched_compares_loop_and_batched_for_each_method():
    lines = run(
        "step_time.py --cases sine --batched --repeats 2 --warmup 1 --memory-steps 0 --threads 1"
    )
    table = [line.split() for line in lines[3:]]
    settings = [(cells[-7], cells[-6]) for cells in table]  # batched, method
    assert settings == [
        ("off", "maml"),
        ("on", "maml"),
        ("off", "metaticket"),
        ("on", "metaticket"),
    ]
    for cells in table:
        ratio, speedup = cells[-3], cells[-2]
        assert float(ratio) > 0 and (speedup == "-") == (cells[-7] == "off")


def test_eval_throughput_prints_both_modes_for_each_method():
    lines = run("eval_throughput.py --cases mlp --episodes 2 --warmup 1 --memory-episodes 0")
    for method in ("maml", "metaticket"):
        free, graph, speedup, *memory = row(lines, method)
        assert float(free) > 0 and float(graph) > 0 and float(speedup) > 0
        assert memory == ["-", "-"]


def test_data_loading_reports_missing_datasets_and_measures_the_glyphs(tmp_path):
    lines = run(f"data_loading.py {shlex.quote(str(tmp_path))}")
    assert f"omniglot: skipped, {tmp_path / 'omniglot'} is absent" in lines
    first, _cached, per_second, accuracy = row(lines, "glyphs")
    assert float(first) > 0 and float(per_second) > 0 and accuracy.endswith("%")


def test_sweep_jobs_times_one_job_against_two(omniglot_root):
    lines = run(
        f"sweep_jobs.py --data-root {shlex.quote(str(omniglot_root))} --iterations 2 "
        "--episodes 2 --widths 1 --methods maml,metaticket --threads 1"
    )
    assert lines[0].startswith("Figure 3 grid: width 1 x maml,metaticket (2 runs), 2 iterations")
    rows = [line.split() for line in lines[2:4]]
    assert [row[:2] for row in rows] == [["1", "1"], ["2", "1"]]
    assert all(float(row[2]) > 0 for row in rows)
    assert lines[4].startswith("speed-up of --jobs 2: ") and lines[4].endswith("x")


def test_gpu_estimate_gives_back_its_calibration_and_counts_each_step():
    lines = run(
        "gpu_estimate.py --presets omniglot-5w5s-metaticket omniglot-5w5s-maml "
        "--calibrate omniglot-5w5s-metaticket 0.05"
    )
    assert lines[0].startswith("ESTIMATE, not a measurement")
    rows = {cells[0]: cells[1:] for cells in map(str.split, lines[3:])}
    assert rows["omniglot-5w5s-metaticket"][3:] == ["50.0-50.0", "30000", "0.42-0.42"]
    kernels, _syncs, gflop, _ms, iterations, _hours = rows["omniglot-5w5s-maml"]
    assert int(kernels) > 100 and float(gflop) > 0 and iterations == "30000"
