"""Test helpers, ours and plugin authors': plugins registered inline, without the plugins that
happen to be installed, and the ``mt`` CLI run in-process.

    from metaticket_core import hookimpl, list_models
    from metaticket_core.app.testing import isolated_plugins, registered_plugin, run_cli

    class MyPlugin:
        @hookimpl
        def register_models(self, register):
            register("tiny", build_tiny)

    def test_my_model():
        with isolated_plugins(), registered_plugin(MyPlugin(), "mine"):
            assert list_models() == ["tiny"]
            assert "tiny" in run_cli("list", "models").stdout

A plugin module works the same way (``registered_plugin(my_package.plugin, "mine")``), and
``isolated_plugins(load_entry_points=True)`` loads what is installed, to test that an entry
point is declared right. ``MT_DISABLE_PLUGINS`` applies to both. ``central_difference`` is what
a method's meta-gradient is checked against.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from contextlib import contextmanager, redirect_stderr, redirect_stdout
from dataclasses import dataclass

import torch

from ..api.plugin_manager import (
    PluginManager,
    check_hooks,
    create_plugin_manager,
    plugin_manager,
    register,
    set_plugin_manager,
)


@contextmanager
def isolated_plugins(*, load_entry_points: bool = False) -> Iterator[PluginManager]:
    """Use a fresh plugin manager (core only, unless ``load_entry_points``) inside the block."""
    pm = create_plugin_manager(load_entry_points=load_entry_points)
    previous = set_plugin_manager(pm)
    try:
        yield pm
    finally:
        set_plugin_manager(previous)


@contextmanager
def registered_plugin(plugin: object, name: str | None = None) -> Iterator[object]:
    """Register ``plugin`` (an object or module with ``@hookimpl``s) on the current manager for
    the block, then unregister it. A misspelt hook raises PluginError here, as ``mt`` would."""
    pm = plugin_manager()
    name = name or getattr(plugin, "__name__", None) or type(plugin).__name__
    register(pm, plugin, name)
    try:
        check_hooks(pm)
        yield plugin
    finally:
        pm.unregister(name=name)


@dataclass(frozen=True)
class CliResult:
    """What ``mt`` printed and its exit status (1: an error in what was asked, 2: usage)."""

    exit_code: int
    stdout: str
    stderr: str


def run_cli(*args: str) -> CliResult:
    """Run ``mt ARGS`` in this process with the current plugins, capturing its output."""
    from .cli import main

    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        try:
            main(list(args))
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else int(exc.code is not None)
    return CliResult(code, out.getvalue(), err.getvalue())


def central_difference(
    f: Callable[[], float], tensor: torch.Tensor, index: int, eps: float = 1e-6
) -> float:
    """(f(t + eps e_i) - f(t - eps e_i)) / (2 eps) for entry ``index`` of ``tensor`` (shifted in
    place, then restored): a derivative computed without autograd, to check a meta-gradient
    against, in float64 on a tiny network."""
    flat = tensor.data.view(-1)
    original = flat[index].item()
    flat[index] = original + eps
    up = f()
    flat[index] = original - eps
    down = f()
    flat[index] = original
    return (up - down) / (2 * eps)
