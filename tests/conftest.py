"""Integration tests run the installed ``mt`` with the installed plugins, in a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


@pytest.fixture
def omniglot_root() -> Path:
    """The real Omniglot beside the repository, or a skip saying where it was looked for."""
    root = SHARED_DATA / "omniglot"
    if not root.is_dir():
        pytest.skip(f"{root} is absent (real data lives in <repo>/../shared, outside the repo)")
    return root


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory):
    """One decode cache for the whole session: datasets are decoded or generated once."""
    return tmp_path_factory.mktemp("cache")


@pytest.fixture
def mt(tmp_path, cache_dir):
    """Run ``mt ARGS`` (``python -m metaticket_core``); returns the CompletedProcess."""

    def run(*args: str, env: dict[str, str] | None = None, timeout: float = 600):
        full_env = {k: v for k, v in os.environ.items() if not k.startswith("MT_")}
        full_env.update(COLUMNS="200", MT_CACHE_DIR=str(cache_dir), **(env or {}))
        return subprocess.run(
            [sys.executable, "-m", "metaticket_core", *args],
            capture_output=True,
            text=True,
            env=full_env,
            cwd=tmp_path,
            timeout=timeout,
        )

    return run
