"""Fixtures: the models registry filled by this package's real plugin, and nothing else."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
import torch

import metaticket_models.plugin as plugin
from metaticket_core import Backbone, Registry, models
from metaticket_core.app.testing import isolated_plugins, registered_plugin


@pytest.fixture
def registry() -> Iterator[Registry]:
    with isolated_plugins(), registered_plugin(plugin, "models"):
        yield models()


@pytest.fixture
def build(registry: Registry) -> Callable[..., Backbone]:
    """``build(name, out_features, input_shape, **kwargs)`` through the registered builder."""

    def _build(name: str, *args, **kwargs) -> Backbone:
        torch.manual_seed(0)
        return registry.get(name).factory(*args, **kwargs)

    return _build
