import pytest

from metaticket_core import (
    PluginError,
    Registry,
    UnknownNameError,
    hookimpl,
    list_methods,
    list_models,
    methods,
    models,
)
from metaticket_core.app.testing import registered_plugin


def build_a():
    """Model A."""


def build_b():
    """Model B."""


class ModelsPlugin:
    @hookimpl
    def register_models(self, register):
        register("resnet12", build_a)
        register("resnet18", build_b, description="explicit")
        register("conv4", build_a, options="channels")


class OtherModels:
    @hookimpl
    def register_models(self, register):
        register("conv4", build_b)


def test_inline_plugin_registers_and_unregisters():
    assert list_models() == []
    with registered_plugin(ModelsPlugin(), "mine"):
        assert list_models() == ["conv4", "resnet12", "resnet18"]
        entry = models().get("resnet12")
        assert entry.factory is build_a
        assert entry.plugin == "mine"
        assert entry.description == "Model A."
        assert models().get("resnet18").description == "explicit"
        assert models().get("conv4").info == {"options": "channels"}
    assert list_models() == []


def test_registry_is_built_once_per_set_of_plugins():
    calls = []

    class Counting:
        @hookimpl
        def register_models(self, register):
            calls.append(1)
            register("counted", build_a)

    with registered_plugin(Counting(), "counting"):
        assert models() is models() and len(calls) == 1
        with registered_plugin(ModelsPlugin(), "mine"):
            assert "resnet12" in models() and len(calls) == 2
        assert "resnet12" not in models() and len(calls) == 3


def test_patterns_are_fnmatch():
    with registered_plugin(ModelsPlugin(), "mine"):
        assert list_models("resnet*") == ["resnet12", "resnet18"]
        assert list_models("*4") == ["conv4"]
        assert list_models("resnet1?") == ["resnet12", "resnet18"]
        assert list_models("vit*") == []


def test_duplicate_name_names_both_plugins():
    with (
        registered_plugin(ModelsPlugin(), "first"),
        registered_plugin(OtherModels(), "second"),
        pytest.raises(PluginError) as info,
    ):
        models()
    message = str(info.value)
    assert "'conv4'" in message and "'first'" in message and "'second'" in message


def test_unknown_name_suggests_closest_and_lists_known():
    with registered_plugin(ModelsPlugin(), "mine"), pytest.raises(UnknownNameError) as info:
        models().get("resnet-12")
    message = str(info.value)
    assert message.startswith("Unknown model 'resnet-12'. Did you mean 'resnet12'?")
    assert "conv4, resnet12, resnet18" in message


def test_unknown_name_without_close_match_or_registry():
    registry = Registry("method")
    with pytest.raises(UnknownNameError, match="No methods are registered"):
        registry.get("maml")
    registry.add("maml", build_a)
    with pytest.raises(UnknownNameError) as info:
        registry.get("xyz")
    assert "Did you mean" not in str(info.value)
    assert "Available: maml." in str(info.value)


def test_registry_rejects_invalid_entries():
    registry = Registry("model")
    with pytest.raises(PluginError, match="without a name"):
        registry.add("", build_a, plugin="p")
    with pytest.raises(PluginError, match="non-callable"):
        registry.add("x", 42, plugin="p")


def test_failing_register_hook_names_the_plugin():
    class Broken:
        @hookimpl
        def register_methods(self, register):
            raise RuntimeError("boom")

    with registered_plugin(Broken(), "broken"), pytest.raises(PluginError) as info:
        methods()
    assert "'broken'" in str(info.value) and "register_methods" in str(info.value)
    assert "boom" in str(info.value)
    assert list_methods() == []
