"""Invalid model options, inputs and BatchNorm modes fail with one clear ConfigError."""

from __future__ import annotations

import pytest

from metaticket_core import ConfigError


def test_unknown_option_suggests_the_closest(build):
    with pytest.raises(
        ConfigError, match=r"no option 'widht' \(given 2\)\. Did you mean 'width'\?"
    ):
        build("mlp", 5, (1, 28, 28), widht=2)


def test_option_on_a_model_without_options(build):
    with pytest.raises(ConfigError, match=r"'resnet12' has no option 'width'.*Options: none"):
        build("resnet12", 5, (3, 84, 84), width=2)


@pytest.mark.parametrize("value", [0, -1, 1.5, "2", True, None])
def test_bad_option_value(build, value):
    with pytest.raises(ConfigError, match=rf"option 'width' must be an int >= 1, got {value!r}"):
        build("mlp", 5, (1, 28, 28), width=value)


def test_required_option(build):
    with pytest.raises(ConfigError, match=r"'wrn28-k' needs option 'k'"):
        build("wrn28-k", 5, (3, 32, 32))


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
