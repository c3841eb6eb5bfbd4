from importlib import metadata

import pytest

from metaticket_core import PluginError, hookimpl, list_datasets
from metaticket_core.api import plugin_manager
from metaticket_core.api.plugin_manager import create_plugin_manager
from metaticket_core.app.testing import registered_plugin


class Misspelt:
    @hookimpl
    def register_model(self, register):  # missing "s"
        register("x", print)


class WrongArgument:
    @hookimpl
    def register_models(self, regster):
        regster("x", print)


def test_misspelt_hook_fails_loudly_with_suggestion():
    with pytest.raises(PluginError) as info, registered_plugin(Misspelt(), "typo"):
        pass
    message = str(info.value)
    assert "'typo'" in message and "'register_model'" in message
    assert "Did you mean 'register_models'?" in message


def test_wrong_hook_argument_fails_at_registration():
    with (
        pytest.raises(PluginError, match="'wrongarg' is invalid"),
        registered_plugin(WrongArgument(), "wrongarg"),
    ):
        pass


def test_core_plugin_is_always_there(_isolated):
    names = [p.name for p in _isolated.describe()]
    assert names == ["core"]
    # the built-in loggers; core's commands come from the CLI builder, not through the hook
    assert _isolated.describe()[0].hooks == ("register_loggers",)


def test_core_plugin_comes_from_its_entry_point(monkeypatch):
    from metaticket_core.engine import plugin as core_plugin

    assert create_plugin_manager(load_entry_points=False).get_plugin("core") is core_plugin

    def uninstalled(name):
        raise metadata.PackageNotFoundError(name)

    monkeypatch.setattr(plugin_manager.metadata, "distribution", uninstalled)
    with pytest.raises(PluginError, match="declares no 'metaticket' entry point 'core': install"):
        create_plugin_manager(load_entry_points=False)


def _fake_entry_points(monkeypatch, *eps):
    monkeypatch.setattr(plugin_manager.metadata, "entry_points", lambda group: list(eps))


def test_entry_points_load_block_and_report_failures(monkeypatch):
    import sys
    import types

    module = types.ModuleType("mt_fake_plugin")
    module.register_datasets = hookimpl(lambda register: register("toy", print))
    monkeypatch.setitem(sys.modules, "mt_fake_plugin", module)
    good = metadata.EntryPoint(name="fake", value="mt_fake_plugin", group="metaticket")
    bad = metadata.EntryPoint(name="broken", value="mt_no_such_module", group="metaticket")
    _fake_entry_points(monkeypatch, good, bad)

    pm = create_plugin_manager()
    infos = {p.name: p for p in pm.describe()}
    assert set(infos) == {"core", "fake", "broken"}
    assert infos["fake"].hooks == ("register_datasets",)
    assert infos["broken"].error.startswith("failed to import mt_no_such_module")

    monkeypatch.setenv("MT_DISABLE_PLUGINS", "fake, other")
    pm = create_plugin_manager()
    assert {p.name for p in pm.describe()} == {"core", "broken"}


def test_disabled_plugin_registers_nothing(monkeypatch):
    import sys
    import types

    module = types.ModuleType("mt_fake_plugin2")
    module.register_datasets = hookimpl(lambda register: register("toy", print))
    monkeypatch.setitem(sys.modules, "mt_fake_plugin2", module)
    _fake_entry_points(
        monkeypatch, metadata.EntryPoint(name="fake", value="mt_fake_plugin2", group="metaticket")
    )
    previous = plugin_manager.set_plugin_manager(create_plugin_manager())
    try:
        assert list_datasets() == ["toy"]
        monkeypatch.setenv("MT_DISABLE_PLUGINS", "fake")
        plugin_manager.set_plugin_manager(create_plugin_manager())
        assert list_datasets() == []
    finally:
        plugin_manager.set_plugin_manager(previous)
