"""Integration tests run ``mt`` with the installed plugins: in this process (``mt``), or in a
fresh interpreter where the process is what is tested (``mt_process``: the installed entry
point, plugins found on a PYTHONPATH, signals). A fresh interpreter costs 2-4 s of imports per
call, most of the suite's time when every call paid it."""

from __future__ import annotations

import os
import subprocess
import sys
import traceback
from dataclasses import dataclass
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


def clean_environment(cache_dir: Path, env: dict[str, str] | None) -> dict[str, str]:
    """The environment of one ``mt`` call: none of the caller's MT_ settings, wide tables, the
    session's decode cache, then ``env``."""
    full = {k: v for k, v in os.environ.items() if not k.startswith("MT_")}
    return {**full, "COLUMNS": "200", "MT_CACHE_DIR": str(cache_dir), **(env or {})}


@dataclass(frozen=True)
class Done:
    """What a finished ``mt`` call left: the fields of ``subprocess.CompletedProcess`` the tests read."""

    returncode: int
    stdout: str
    stderr: str


@pytest.fixture
def mt(tmp_path, cache_dir, monkeypatch, capsys):
    """Run ``mt ARGS`` in this process, in ``tmp_path``, with the plugins that ``env`` enables;
    returns its exit code and output. As the interpreter would, an exception that escapes (under
    MT_DEBUG=1) prints its traceback and exits 1. The process-wide torch settings a command may
    change (threads, deterministic algorithms) are restored after it, so tests stay independent."""
    import torch

    from metaticket_core.api.plugin_manager import set_plugin_manager
    from metaticket_core.app.cli import main

    def run(*args: str, env: dict[str, str] | None = None) -> Done:
        capsys.readouterr()  # what the test printed before is not this call's
        with monkeypatch.context() as m:
            wanted = clean_environment(cache_dir, env)
            for name in set(os.environ) - set(wanted):
                m.delenv(name)
            for name, value in wanted.items():
                m.setenv(name, value)
            m.chdir(tmp_path)
            previous = set_plugin_manager(None)  # the plugins this environment enables
            threads = torch.get_num_threads()
            deterministic = torch.are_deterministic_algorithms_enabled()
            try:
                main([str(a) for a in args])
                code = 0
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else int(exc.code is not None)
            except Exception:
                traceback.print_exc()
                code = 1
            finally:
                set_plugin_manager(previous)
                torch.set_num_threads(threads)
                torch.use_deterministic_algorithms(deterministic)
        out, err = capsys.readouterr()
        return Done(code, out, err)

    return run


@pytest.fixture
def mt_process(tmp_path, cache_dir):
    """Run ``mt ARGS`` (``python -m metaticket_core``) in a fresh interpreter; returns the
    CompletedProcess."""

    def run(*args: str, env: dict[str, str] | None = None, timeout: float = 600):
        return subprocess.run(
            [sys.executable, "-m", "metaticket_core", *args],
            capture_output=True,
            text=True,
            env=clean_environment(cache_dir, env),
            cwd=tmp_path,
            timeout=timeout,
        )

    return run
