"""Every registered backbone builds, learns, tags its parameters and matches the paper's sizes."""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn
from torch.func import functional_call
from torch.nn.modules.batchnorm import _BatchNorm

from metaticket_core import TAGS

# name, input shape, options: small inputs keep the forward passes fast
CASES = [
    ("mlp", (1, 28, 28), {"width": 2}),
    ("mlp5", (3, 32, 32), {}),
    ("conv4", (3, 20, 24), {"channels": 8}),
    ("resnet12", (3, 16, 16), {}),
    ("wrn28-10", (3, 4, 4), {}),
    ("wrn28-k", (3, 8, 8), {"k": 2}),
    ("sine-mlp", (1,), {}),
]
IDS = [case[0] for case in CASES]


def test_registers_every_backbone(registry):
    assert set(registry) == {name for name, _, _ in CASES}
    assert all(entry.plugin == "models" and entry.description for entry in registry.entries())


def _batch(shape, n=6):
    return torch.randn(n, *shape)


@pytest.mark.parametrize(("name", "shape", "options"), CASES, ids=IDS)
def test_forward_backward(build, name, shape, options):
    model = build(name, 3, shape, **options)
    out = model(_batch(shape, n=4 if name == "wrn28-10" else 6))
    assert out.shape == (4 if name == "wrn28-10" else 6, 3)
    out.square().mean().backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in model.parameters())


@pytest.mark.parametrize(("name", "shape", "options"), CASES, ids=IDS)
def test_tags_are_consistent(build, name, shape, options):
    model = build(name, 3, shape, **options)
    tags = model.parameter_tags()
    params = dict(model.named_parameters())
    assert list(tags) == list(params)
    modules = dict(model.named_modules())
    for pname, tagset in tags.items():
        assert tagset and tagset <= TAGS, pname
        owner = modules[pname.rpartition(".")[0]]
        is_bias = pname.endswith(".bias")
        if "prunable" in tagset:
            assert not tagset & {"head", "bias", "norm"}, pname
            assert params[pname].dim() >= 2 and pname.endswith(".weight"), pname
        if isinstance(owner, nn.Linear | nn.Conv2d) and owner is not model.head and not is_bias:
            assert "prunable" in tagset, pname
        assert ("norm" in tagset) == isinstance(owner, _BatchNorm), pname
        assert ("bias" in tagset) == (is_bias and not isinstance(owner, _BatchNorm)), pname
    assert model.names_with("head") == [n for n in params if n.startswith("head.")]
    assert model.names_with("input") and model.names_with("prunable")
    assert all(p.dim() >= 2 for n, p in params.items() if "input" in tags[n] and "weight" in n)


def test_sine_mlp_tags_match_the_regression_variant(build):
    model = build("sine-mlp", 1, (1,))
    # metaticket-reg masks exactly the hidden 40x40 layer: prunable and not input
    hidden = [n for n in model.names_with("prunable") if n not in model.names_with("input")]
    assert [tuple(dict(model.named_parameters())[n].shape) for n in hidden] == [(40, 40)]
    assert model.names_with("norm") == []


def test_mlp_layer_sizes_follow_the_paper(build):
    widths = [
        m.out_features
        for m in build("mlp", 20, (1, 28, 28), width=4).modules()
        if isinstance(m, nn.Linear)
    ]
    assert widths == [1024, 512, 256, 256, 20]
    mlp5 = build("mlp5", 5, (3, 32, 32))
    assert [
        (m.in_features, m.out_features) for m in mlp5.modules() if isinstance(m, nn.Linear)
    ] == [(3072, 1024), (1024, 512), (512, 256), (256, 128), (128, 5)]


def _count(model):
    return sum(p.numel() for p in model.parameters())


# Paper Table 5: ResNet-12 8.0M and WideResNet-28-10 36.5M parameters, the networks meta-trained
# on miniImageNet: 84x84 RGB input, 5-way head included (the head is 2.6k / 3.2k parameters, so
# with or without it the counts agree within 1%). The exact figures pin the architectures.
@pytest.mark.parametrize(
    ("name", "paper", "exact"), [("resnet12", 8.0e6, 7_999_365), ("wrn28-10", 36.5e6, 36_486_085)]
)
def test_parameter_counts_match_table_5(build, name, paper, exact):
    count = _count(build(name, 5, (3, 84, 84)))
    assert abs(count - paper) / paper < 0.01
    assert count == exact


def _std_matches(weight: torch.Tensor, expected: float) -> bool:
    """Within 4 standard errors of a normal sample's std (relative error 1/sqrt(2n))."""
    return abs(weight.std().item() - expected) / expected < 4 / (2 * weight.numel()) ** 0.5


@pytest.mark.parametrize("name", ["mlp", "mlp5"])
def test_image_mlps_are_initialised_as_the_authors(build, name):
    """Kaiming-normal (fan_in, ReLU) for every Linear weight, the head's too; biases 0;
    BatchNorm eps 1e-3 (the authors' mlp.py). PyTorch's default would give the head a std of
    1/sqrt(3 fan_in) and biases up to 1/sqrt(fan_in)."""
    torch.manual_seed(0)
    model = build(name, 5, (3, 32, 32))
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    assert linears[-1] is model.head
    for layer in linears:
        assert _std_matches(layer.weight, (2 / layer.in_features) ** 0.5)
        assert torch.all(layer.bias == 0)
    assert all(m.eps == 1e-3 for m in model.modules() if isinstance(m, nn.BatchNorm1d))


def test_sine_mlp_keeps_pytorchs_default_init(build):
    torch.manual_seed(0)
    hidden = build("sine-mlp", 1, (1,)).body[3]
    bound = 1 / 40**0.5  # kaiming_uniform_(a=sqrt(5)): std = bound / sqrt(3)
    assert _std_matches(hidden.weight, bound / 3**0.5)
    assert hidden.bias.abs().max() > 0


def test_resnet12_convs_are_kaiming_normal_fan_out(build):
    """The BOIL code the authors use: kaiming_normal_(mode="fan_out"), gain sqrt 2."""
    torch.manual_seed(0)
    model = build("resnet12", 5, (3, 16, 16))
    for conv in (m for m in model.modules() if isinstance(m, nn.Conv2d)):
        fan_out = conv.out_channels * conv.kernel_size[0] * conv.kernel_size[1]
        assert _std_matches(conv.weight, (2 / fan_out) ** 0.5)


def test_wrn28_k_generalises_wrn28_10(build):
    assert _count(build("wrn28-k", 5, (3, 84, 84), k=10)) == 36_486_085


def test_conv4_accepts_any_image_size(build):
    for shape in [(1, 28, 28), (3, 84, 84), (3, 17, 33)]:
        assert build("conv4", 5, shape, channels=4)(_batch(shape, 2)).shape == (2, 5)


def test_batch_mode_keeps_no_statistics(build):
    model = build("conv4", 5, (3, 16, 16), channels=4)  # batchnorm="batch" is the default
    assert list(model.buffers()) == []
    x = _batch((3, 16, 16))
    train = model(x)
    # batch statistics also at test time (the paper's transductive setting)
    torch.testing.assert_close(model.eval()(x), train)


def test_running_mode_keeps_running_statistics(build):
    model = build("mlp", 5, (1, 28, 28), batchnorm="running")
    bn = next(m for m in model.modules() if isinstance(m, nn.BatchNorm1d))
    before = bn.running_mean.clone()
    model(_batch((1, 28, 28)) + 3)
    assert not torch.equal(bn.running_mean, before)
    x = _batch((1, 28, 28))
    assert not torch.allclose(model.eval()(x), model.train()(x))


@pytest.mark.parametrize(
    ("name", "shape", "options"), CASES[:4] + CASES[-1:], ids=IDS[:4] + IDS[-1:]
)
def test_functional_call_with_task_parameters(build, name, shape, options):
    model = build(name, 3, shape, **options)
    original = copy.deepcopy(model.state_dict())
    x = _batch(shape)
    params = {n: p.detach() * 1.5 for n, p in model.named_parameters()}
    adapted = functional_call(model, params, (x,))
    reference = copy.deepcopy(model)
    with torch.no_grad():
        for p in reference.parameters():
            p.mul_(1.5)
    torch.testing.assert_close(adapted, reference(x))
    # the module's own parameters are untouched and still give their own output
    assert all(torch.equal(v, original[k]) for k, v in model.state_dict().items())
    assert not torch.allclose(model(x), adapted)


@pytest.mark.parametrize(("name", "shape", "options"), CASES, ids=IDS)
def test_second_order_inner_step(build, name, shape, options):
    """One MAML step through functional_call: the meta-gradient reaches every parameter."""
    model = build(name, 3, shape, **options)
    params = dict(model.named_parameters())
    x, y = _batch(shape, 4), torch.randn(4, 3)
    loss = (functional_call(model, params, (x,)) - y).square().mean()
    grads = torch.autograd.grad(loss, list(params.values()), create_graph=True)
    adapted = {n: p - 0.1 * g for (n, p), g in zip(params.items(), grads, strict=True)}
    (functional_call(model, adapted, (x,)) - y).square().mean().backward()
    assert all(p.grad is not None for p in model.parameters())
