"""Model options are the builders' keyword-only parameters, declared with their defaults; bad
values, inputs and BatchNorm modes fail with one clear ConfigError. (Unknown and missing options
are refused by core before any builder is called: tests/test_plugin_hooks.py.)"""

from __future__ import annotations

import pytest

from metaticket_core import ConfigError
from metaticket_core.api.registry import NO_DEFAULT


def test_options_are_registered_with_their_defaults_and_help(registry):
    declared = {
        name: {n: (o.default, o.required) for n, o in entry.options.items()}
        for name, entry in ((e.name, e) for e in registry.entries())
    }
    assert declared == {
        "mlp": {"width": (1, False)},
        "mlp5": {},
        "conv4": {"channels": (64, False)},
        "resnet12": {},
        "wrn28-10": {},
        "wrn28-k": {"k": (NO_DEFAULT, True)},
        "sine-mlp": {},
    }
    assert all(o.help for e in registry.entries() for o in e.options.values())


@pytest.mark.parametrize("value", [0, -1, 1.5, "2", True, None])
def test_bad_option_value(build, value):
    with pytest.raises(ConfigError, match=rf"option 'width' must be an int >= 1, got {value!r}"):
        build("mlp", 5, (1, 28, 28), width=value)
    with pytest.raises(ConfigError, match=r"'wrn28-k': option 'k' must be an int >= 1"):
        build("wrn28-k", 5, (3, 32, 32), k=value)


def test_bad_batchnorm_mode(build):
    with pytest.raises(ConfigError, match=r"batchnorm must be 'batch'.*got 'runing'.*'running'"):
        build("conv4", 5, (3, 32, 32), batchnorm="runing")
    with pytest.raises(ConfigError, match=r"batchnorm"):
        build("sine-mlp", 1, (1,), batchnorm="none")


@pytest.mark.parametrize(
    ("name", "shape"), [("conv4", (1,)), ("conv4", (1, 8, 8)), ("resnet12", (3, 28)), ("mlp", ())]
)
def test_input_shape_that_does_not_fit(build, name, shape):
    with pytest.raises(ConfigError, match=rf"Model '{name}'"):
        build(name, 5, shape)


@pytest.mark.parametrize("out", [0, 2.0])
def test_bad_out_features(build, out):
    with pytest.raises(ConfigError, match=r"out_features must be an int >= 1"):
        build("mlp", out, (1, 28, 28))
