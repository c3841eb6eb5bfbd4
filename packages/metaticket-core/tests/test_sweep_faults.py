"""``mt sweep`` never serves a stale or doubled result: changed settings, repeated seeds, a seed
in the grid, and a re-run with other seeds (issue 27)."""

import json

import pytest
import yaml

from metaticket_core.app.cli import main


@pytest.fixture
def mt(tmp_path, toy_config, monkeypatch, capsys):
    """``mt ARGS`` in this process on a 6-iteration toy config (``{config}`` in ARGS stands
    for it); returns (exit code, stdout, stderr)."""
    monkeypatch.setenv("MT_RUNS_DIR", str(tmp_path / "runs"))
    config = tmp_path / "toy.yaml"
    config.write_text(yaml.safe_dump({**toy_config, "iterations": 6, "val_interval": 3}))

    def run(*args: str) -> tuple[int, str, str]:
        with pytest.raises(SystemExit) as info:
            main([a.replace("{config}", str(config)) for a in args])
        out, err = capsys.readouterr()
        return info.value.code or 0, out, err

    return run


SWEEP = ("sweep", "--config", "{config}", "--sweep-id", "dup")


def test_a_run_with_other_stored_settings_is_refused_not_served(mt, tmp_path):
    assert mt(*SWEEP, "--seeds", "0")[0] == 0
    before = (tmp_path / "runs" / "dup-seed0" / "test.json").read_text()
    code, _, err = mt(*SWEEP, "--seeds", "0", "--set", "iterations=7", "--set", "inner_lr=0.25")
    assert code == 1 and len(err.strip().splitlines()) == 1 and "kept" not in err
    assert err.startswith(
        "Error: Run 'dup-seed0' was started with other settings: inner_lr=0.5 (asked 0.25), "
        "iterations=6 (asked 7); choose another --sweep-id, or remove"
    )
    assert (tmp_path / "runs" / "dup-seed0" / "test.json").read_text() == before
    code, _, err = mt(*SWEEP, "--seeds", "0", "--set", "device=cpu")  # same computation
    assert code == 0 and "dup-seed0: finished, kept" in err


def test_a_repeated_seed_is_one_run(mt):
    code, _, err = mt(*SWEEP, "--seeds", "1,1")
    assert code == 0 and err.count("dup-seed1: training") == 1
    code, out, _ = mt("report", "dup", "--markdown")
    assert code == 0 and "| toymaml | 1 |" in out


def test_a_seed_in_the_grid_is_refused(mt, tmp_path):
    code, _, err = mt(*SWEEP, "--grid", "seed=1,2", "--seeds", "0")
    assert code == 1 and err.strip() == (
        "Error: --grid seed=1,2 conflicts with --seeds, which sets every point's seed; give the "
        "seeds as --seeds 1,2."
    )
    assert not (tmp_path / "runs").exists()


def test_a_rerun_with_other_seeds_keeps_the_earlier_ones_in_the_report(mt, tmp_path):
    assert mt(*SWEEP, "--seeds", "0")[0] == 0
    assert mt(*SWEEP, "--seeds", "1")[0] == 0
    manifest = json.loads((tmp_path / "runs" / "sweeps" / "dup.json").read_text())
    assert manifest["runs"] == ["dup-seed0", "dup-seed1"] and manifest["seeds"] == [0, 1]
    code, out, _ = mt("report", "dup", "--markdown")
    assert code == 0 and "| toymaml | 2 |" in out
