"""Plugins as users install them: the example plugin into a fresh virtual environment, and a
broken plugin next to the installed ones.

The fresh environment has no pip and no packages of ours; a ``.pth`` file lends it this
environment's third-party packages (torch, pip, hatchling, ...) through a folder of links that
leaves out every metaticket distribution, so nothing is downloaded and only what the test
installs there is visible. pip then installs core and the plugin from their source folders.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]


def lend_third_party_packages(venv: Path, links: Path) -> None:
    site = Path(sysconfig.get_paths()["purelib"])
    links.mkdir()
    for entry in site.iterdir():
        name = entry.name.lower()
        if not (
            name.startswith(("metaticket", "_editable_impl_metaticket")) or name.endswith(".pth")
        ):
            (links / entry.name).symlink_to(entry)
    target = subprocess.run(
        [venv / "bin" / "python", "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    (Path(target) / "lent-packages.pth").write_text(f"{links}\n")


def write_image_folder(root: Path) -> None:
    rng = np.random.default_rng(0)
    split = {s: [f"{s}{c}" for c in range(3)] for s in ("train", "val", "test")}
    for name in (n for names in split.values() for n in names):
        (root / name).mkdir(parents=True)
        for k in range(3):
            Image.fromarray(rng.integers(0, 256, (8, 8), dtype=np.uint8)).save(
                root / name / f"{k}.png"
            )
    (root / "split.json").write_text(json.dumps(split))


@pytest.mark.slow
def test_example_plugin_installs_into_a_fresh_venv(tmp_path):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", venv], check=True)
    lend_third_party_packages(venv, tmp_path / "lent")
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("MT_", "PYTHON", "VIRTUAL_ENV"))
    }
    env.update(
        COLUMNS="200", MT_CACHE_DIR=str(tmp_path / "cache"), MT_RUNS_DIR=str(tmp_path / "runs")
    )
    env["OMP_NUM_THREADS"] = "1"  # tiny tensors: threads only add waiting on a busy machine

    def run(*args: str | Path, env: dict[str, str] = env) -> subprocess.CompletedProcess:
        done = subprocess.run(
            args, capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300
        )
        assert done.returncode == 0, done.stderr
        return done

    run(venv / "bin" / "python", "-m", "pip", "install", "--quiet", "--no-index",
        "--no-build-isolation", "--disable-pip-version-check",
        ROOT / "packages" / "metaticket-core", ROOT / "plugins" / "metaticket-metasgd")  # fmt: skip

    mt = venv / "bin" / "mt"
    alone = run(mt, "list", "methods", env={**env, "MT_DISABLE_PLUGINS": "metasgd"}).stdout
    assert "methods (0)" in alone  # core without the plugin: nothing else leaks in
    listed = run(mt, "list", "methods").stdout
    assert "methods (2)" in listed and "metaticket+metasgd" in listed
    (row,) = [line for line in listed.splitlines() if line.startswith("│ metasgd ")]
    assert row.split()[-2] == "metasgd"  # the plugin column: registered by the plugin "metasgd"

    write_image_folder(tmp_path / "images")
    trained = run(
        mt, "train", "--method", "metasgd", "--model", "tiny-conv", "--dataset", "image-folder",
        "--data-root", tmp_path / "images", "--ways", "3", "--shots", "1", "--queries", "2",
        "--iterations", "3", "--set", "val_interval=3", "--set", "val_episodes=2",
        "--set", "test_episodes=3", "--set", "model_options.channels=4", "--json",
    )  # fmt: skip
    summary = json.loads(trained.stdout.strip().splitlines()[-1])
    assert summary["test"]["metric"] == "accuracy" and summary["test"]["episodes"] == 3


@pytest.fixture
def broken_plugin(tmp_path) -> dict[str, str]:
    """A distribution whose plugin module raises on import, found through PYTHONPATH."""
    site = tmp_path / "broken-site"
    info = site / "mt_broken-0.1.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: mt-broken\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[metaticket]\nbroken = mt_broken_plugin\n")
    (site / "mt_broken_plugin.py").write_text("raise RuntimeError('boom at import')\n")
    return {"PYTHONPATH": str(site)}


def test_broken_plugin_is_named_and_the_others_keep_working(mt_process, broken_plugin):
    methods = mt_process("list", "methods", env=broken_plugin)
    assert methods.returncode == 0
    assert "plugin 'broken' failed to import mt_broken_plugin: RuntimeError: boom at import" in (
        methods.stderr
    )
    assert "maml" in methods.stdout and "metasgd" in methods.stdout  # built-ins and metasgd

    plugins = mt_process("list", "plugins", env=broken_plugin)
    assert plugins.returncode == 0
    (row,) = [line for line in plugins.stdout.splitlines() if "broken" in line]
    assert "mt-broken" in row and "boom at import" in row
    for name in ("core", "datasets", "models", "methods", "metasgd"):
        assert f" {name} " in plugins.stdout


def test_disabled_plugins_are_hidden(mt_process, broken_plugin):
    env = {**broken_plugin, "MT_DISABLE_PLUGINS": "broken,metasgd"}
    plugins = mt_process("list", "plugins", env=env)
    assert plugins.returncode == 0 and plugins.stderr == ""
    assert "broken" not in plugins.stdout and "metasgd" not in plugins.stdout
    assert "│ methods " in plugins.stdout
    unknown = mt_process("train", "--method", "metasgd", env=env)
    assert unknown.returncode == 1 and "Unknown method 'metasgd'" in unknown.stderr
