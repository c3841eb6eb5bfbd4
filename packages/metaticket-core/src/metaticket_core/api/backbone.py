"""The backbone interface: a torch module that declares what each parameter is.

Registered model builders are called as
``builder(out_features, input_shape, batchnorm=..., **model_options) -> Backbone``; every run,
rebuilt run and benchmark makes that call through ``build_backbone``.
"""

from __future__ import annotations

from abc import abstractmethod

from torch import nn

from .config import RunConfig
from .registry import models
from .tasks import TaskType, out_features

# Tags a backbone gives its parameters. "prunable": linear and conv weights except the output
# head (Meta-ticket masks exactly these). "head": the output layer's parameters. "input": the
# first layer's parameters. "bias" and "norm": biases and BatchNorm affine parameters.
TAGS = frozenset({"prunable", "head", "input", "bias", "norm"})


class Backbone(nn.Module):
    """An ``nn.Module`` whose parameters carry tags from ``TAGS``."""

    @abstractmethod
    def parameter_tags(self) -> dict[str, frozenset[str]]:
        """Tags of every parameter, by the name ``named_parameters()`` gives it."""

    def names_with(self, tag: str) -> list[str]:
        """Parameter names carrying ``tag``, in ``named_parameters()`` order."""
        tags = self.parameter_tags()
        return [name for name, _ in self.named_parameters() if tag in tags[name]]


def build_backbone(
    config: RunConfig, input_shape: tuple[int, ...], task_type: TaskType
) -> Backbone:
    """The backbone ``config`` names, with its options, for ``task_type`` tasks on inputs of
    ``input_shape``."""
    builder = models().get(config.model).factory
    return builder(
        out_features(task_type, config.ways),
        input_shape,
        batchnorm=config.batchnorm,
        **config.model_options,
    )


def attribute_key(name: str) -> str:
    """A dotted parameter name as a module attribute name (which may not contain dots), for
    per-parameter ``nn.ParameterDict`` entries such as scores or learned rates."""
    return name.replace(".", "/")


def make_buffer(module: nn.Module, name: str) -> None:
    """Turn parameter ``name`` of ``module`` into a buffer of the same name: fixed, yet saved in
    the state dict."""
    owner, _, leaf = name.rpartition(".")
    target = module.get_submodule(owner)
    tensor = target._parameters.pop(leaf).detach()
    target.register_buffer(leaf, tensor)
