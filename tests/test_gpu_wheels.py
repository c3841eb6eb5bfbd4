"""The GPU machine's offline install (benchmarks/gpu_wheels.sh) lacks nothing: every runtime
requirement of the five project packages is either on the machine already
(benchmarks/gpu_preinstalled.txt) or a wheel of the folder (benchmarks/gpu_wheels.txt), and so
is every requirement of those wheels. A new dependency must be added to one of the two lists."""

from __future__ import annotations

import importlib.metadata
import re
import subprocess
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
BENCHMARKS = ROOT / "benchmarks"
PROJECT = [
    ROOT / "packages" / f"metaticket-{p}" for p in ("core", "datasets", "models", "methods")
] + [ROOT / "plugins" / "metaticket-metasgd"]


def listed(name: str) -> dict[str, Requirement]:
    """The requirement lines of a benchmarks/ list, by canonical name."""
    lines = (BENCHMARKS / name).read_text().splitlines()
    requirements = [Requirement(line) for line in lines if line.strip() and line[0] != "#"]
    return {canonicalize_name(r.name): r for r in requirements}


PREINSTALLED = listed("gpu_preinstalled.txt")
WHEELS = listed("gpu_wheels.txt")


def project_requirements() -> dict[str, list[Requirement]]:
    """Each project package's runtime requirements, its optional extras included."""
    out = {}
    for folder in PROJECT:
        meta = tomllib.loads((folder / "pyproject.toml").read_text())["project"]
        extras = meta.get("optional-dependencies", {}).values()
        lines = [*meta.get("dependencies", []), *(line for extra in extras for line in extra)]
        out[meta["name"]] = [Requirement(line) for line in lines]
    return out


def test_the_script_builds_the_five_packages_the_lists_cover():
    script = (BENCHMARKS / "gpu_wheels.sh").read_text()
    built = re.search(r"^PROJECT=\((.*)\)$", script, re.M).group(1)
    assert built == "packages/metaticket-{core,datasets,models,methods} plugins/metaticket-metasgd"
    assert all((folder / "pyproject.toml").is_file() for folder in PROJECT)


def test_every_project_requirement_is_on_the_machine_or_in_the_folder():
    ours = {canonicalize_name(name) for name in project_requirements()}
    missing = {
        package: str(r)
        for package, requirements in project_requirements().items()
        for r in requirements
        if canonicalize_name(r.name) not in ours | set(PREINSTALLED) | set(WHEELS)
    }
    assert missing == {}, "add these to benchmarks/gpu_wheels.txt (or gpu_preinstalled.txt)"


def test_the_folder_and_the_machine_do_not_overlap():
    assert set(WHEELS) & set(PREINSTALLED) == set()
    assert all(str(r.specifier).startswith("==") for r in WHEELS.values()), "pin every wheel"


@pytest.mark.parametrize("name", sorted(WHEELS))
def test_every_wheel_of_the_folder_has_its_own_requirements(name):
    """From the installed distribution's metadata; its version pins apply when it is the pinned
    release (the dev install resolves the same ones)."""
    try:
        installed = importlib.metadata.distribution(name)
    except importlib.metadata.PackageNotFoundError:
        pytest.skip(f"{name} is not installed here, so its requirements cannot be read")
    pinned = installed.version in WHEELS[name].specifier
    for line in installed.requires or []:
        r = Requirement(line)
        if r.marker is not None and not r.marker.evaluate({"extra": ""}):
            continue  # an extra, or another platform's
        dep = canonicalize_name(r.name)
        assert dep in PREINSTALLED or dep in WHEELS, f"{name} needs {r}: add it to gpu_wheels.txt"
        if pinned and dep in WHEELS:
            version = str(WHEELS[dep].specifier).removeprefix("==")
            assert version in r.specifier, f"{name} needs {r}; gpu_wheels.txt pins {version}"


def test_the_scripts_parse():
    for script in ("gpu_wheels.sh", "gpu_check.sh"):
        assert subprocess.run(["bash", "-n", str(BENCHMARKS / script)]).returncode == 0
