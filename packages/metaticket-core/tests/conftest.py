"""Core tests never see the plugins installed in the environment: core's own plugin only."""

import pytest

from metaticket_core.testing import isolated_plugins


@pytest.fixture(autouse=True)
def _isolated(monkeypatch):
    monkeypatch.delenv("MT_DISABLE_PLUGINS", raising=False)
    monkeypatch.delenv("MT_DEBUG", raising=False)
    with isolated_plugins() as pm:
        yield pm
