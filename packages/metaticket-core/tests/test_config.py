import json

import pytest
import torch

from metaticket_core import (
    ConfigError,
    InnerDefaults,
    MetaLearner,
    RunConfig,
    UnknownNameError,
    hookimpl,
    load_config,
    methods,
)
from metaticket_core.api import presets
from metaticket_core.api.config import method_arguments, parse_set, validate
from metaticket_core.api.learner import inner_settings
from metaticket_core.api.precision import check_precision
from metaticket_core.app.testing import registered_plugin


def test_defaults_are_the_paper_omniglot_setting():
    config = RunConfig()
    assert (config.method, config.model, config.dataset) == ("metaticket", "mlp", "glyphs")
    assert (config.ways, config.shots, config.queries, config.meta_batch) == (5, 5, 5, 4)
    assert config.method_options == {} and config.batchnorm == "batch"  # the method's defaults
    assert config.outer_optimizer is None  # the method's default
    assert (config.inner_lr, config.inner_steps, config.test_inner_steps) == (None, None, None)
    assert inner_settings(config, MetaLearner) == InnerDefaults(lr=0.4, steps=1, test_steps=3)


class FiveSteps(MetaLearner):
    inner_defaults = InnerDefaults(lr=0.1, steps=5, test_steps=10)


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        ({}, (0.1, 5, 10)),  # the method's own
        ({"inner_steps": 2}, (0.1, 2, 10)),  # the user's win, one by one
        ({"inner_lr": 0.4, "inner_steps": 1, "test_inner_steps": 3}, (0.4, 1, 3)),
    ],
)
def test_inner_loop_settings_are_the_methods_unless_set(settings, expected):
    inner = inner_settings(RunConfig(**settings), FiveSteps)
    assert (inner.lr, inner.steps, inner.test_steps) == expected


def test_presets_and_old_run_configs_keep_their_inner_loop():
    """A preset states its inner loop, and an old run's config.json holds every value."""
    config = load_config(preset=presets.preset("sinusoid-maml"))
    assert (config.inner_lr, config.inner_steps, config.test_inner_steps) == (0.01, 5, 5)
    old = json.loads(RunConfig().model_dump_json()) | {"inner_lr": 0.4, "inner_steps": 1}
    inner = inner_settings(validate(old), FiveSteps)
    assert (inner.lr, inner.steps, inner.test_steps) == (0.4, 1, 10)


def test_yaml_file_flags_and_sets_merge_in_order(tmp_path):
    path = tmp_path / "run.yaml"
    path.write_text("method: maml\nways: 20\nshots: 1\nmodel_options:\n  width: 2\n")
    config = load_config(
        path,
        overrides={"shots": 5, "queries": None},
        sets=["model_options.width=4", "outer_lr=1e-3", "first_order=true"],
    )
    assert config.method == "maml" and config.ways == 20
    assert config.shots == 5  # flag beats file
    assert config.queries == 5  # None flags do not override
    assert config.model_options == {"width": 4}
    assert config.outer_lr == 1e-3 and config.first_order is True


@pytest.mark.parametrize(("written", "setting"), [("on", "on"), ("off", "off"), ("auto", "auto")])
def test_batched_reads_on_and_off_though_yaml_makes_them_booleans(tmp_path, written, setting):
    path = tmp_path / "run.yaml"
    path.write_text(f"batched: {written}\n")
    assert load_config(path).batched == setting
    assert load_config(sets=[f"batched={written}"]).batched == setting
    with pytest.raises(ConfigError, match="batched"):
        load_config(sets=["batched=maybe"])


def test_json_file(tmp_path):
    path = tmp_path / "run.json"
    path.write_text(json.dumps({"dataset": "omniglot", "data_root": "/data/omniglot"}))
    config = load_config(path)
    assert config.dataset == "omniglot" and str(config.data_root) == "/data/omniglot"


def test_every_invalid_value_on_one_line(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("ways: 1\nbatchnorm: global\nwayz: 5\ninner_lr: -1\n")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    message = str(info.value)
    assert "\n" not in message
    assert "ways=1: expected greater than or equal to 2" in message
    assert "batchnorm='global': expected 'batch' or 'running'" in message
    assert "unknown setting 'wayz' (did you mean 'ways'?)" in message
    assert "inner_lr=-1: expected greater than or equal to 0" in message


def test_wrong_type_names_field_and_value():
    with pytest.raises(ConfigError, match=r"shots='five': expected a valid integer"):
        load_config(sets=["shots=five"])


@pytest.mark.parametrize(
    ("content", "match"),
    [
        ("[1, 2]", "must hold a mapping of settings, got list"),
        ("ways: [", "is not valid YAML/JSON"),
    ],
)
def test_bad_files(tmp_path, content, match):
    path = tmp_path / "c.yaml"
    path.write_text(content)
    with pytest.raises(ConfigError, match=match):
        load_config(path)


def test_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "nope.yaml")


def test_empty_file_is_all_defaults(tmp_path):
    path = tmp_path / "empty.yaml"
    path.write_text("")
    assert load_config(path) == RunConfig()


def test_parse_set():
    assert parse_set("lr=1e-3") == ("lr", 1e-3)
    assert parse_set("x=[1, 2]") == ("x", [1, 2])
    assert parse_set("name=maml") == ("name", "maml")
    with pytest.raises(ConfigError, match="key=value"):
        parse_set("novalue")


class Registered:
    @hookimpl
    def register_methods(self, register):
        register("maml", print)
        register("metaticket", print)

    @hookimpl
    def register_models(self, register):
        register("mlp", print)

    @hookimpl
    def register_datasets(self, register):
        register("glyphs", print)


def test_check_names_suggests_closest_registered():
    with registered_plugin(Registered(), "reg"):
        RunConfig().check_names()
        with pytest.raises(
            UnknownNameError, match=r"Unknown method 'metatiket'\. Did you mean 'metaticket'\?"
        ):
            RunConfig(method="metatiket").check_names()
        with pytest.raises(
            UnknownNameError, match=r"Unknown dataset 'glyph'\. Did you mean 'glyphs'\?"
        ):
            RunConfig(dataset="glyph").check_names()


def test_bf16_on_a_gpu_without_it_fails_before_the_run(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda: False)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda device: "Tesla V100")
    with pytest.raises(ConfigError, match="the GPU Tesla V100 has no bfloat16 support"):
        check_precision("bf16", torch.device("cuda"))
    check_precision("fp32", torch.device("cuda"))
    check_precision("bf16", torch.device("cpu"))


# method options ------------------------------------------------------------------------------
class WithOptions(Registered):
    """A method with two options, one without, and a method taking any."""

    @hookimpl
    def register_methods(self, register):
        def ticket(backbone, config, *, p_init=0.0, rate=1):
            return ("ticket", p_init, rate)

        register("ticket", ticket)
        register("plain", lambda backbone, config: "plain")
        register("anything", lambda backbone, config, **options: options, options={"x": "any"})
        register("needy", lambda backbone, config, *, rate: rate, options={"rate": "how fast"})


def test_legacy_settings_are_method_options_from_every_source(tmp_path):
    """p_init, iterand_period, iterand_rate and constant_init, once top-level fields, are read
    as method_options wherever a setting can be given, in the order given."""
    path = tmp_path / "run.yaml"
    path.write_text("p_init: 0.3\nmethod_options:\n  rate: 2\n")
    assert load_config(path).method_options == {"rate": 2, "p_init": 0.3}
    config = load_config(path, sets=["iterand_period=7", "method_options.p_init=0.5"])
    assert config.method_options == {"rate": 2, "p_init": 0.5, "iterand_period": 7}
    assert load_config(extra={"constant_init": 2.0}).method_options == {"constant_init": 2.0}
    assert RunConfig(p_init=0.4).method_options == {"p_init": 0.4}
    assert "p_init" not in RunConfig(p_init=0.4).model_dump()  # new runs write method_options
    with pytest.raises(ConfigError, match=r"p_init is set twice.*keep one"):
        RunConfig(p_init=0.4, method_options={"p_init": 0.5})
    with pytest.raises(ConfigError, match=r"unknown setting 'p_int' \(did you mean 'p_init'\?\)"):
        load_config(sets=["p_int=0.1"])


def test_a_preset_method_option_is_overridden_by_its_legacy_name():
    constant = presets.preset("omniglot-constant-init")
    assert load_config(preset=constant).method_options == {"constant_init": 1.0}
    config = load_config(preset=constant, sets=["constant_init=null", "p_init=0.5"])
    assert config.method_options == {"constant_init": None, "p_init": 0.5}


def test_an_old_runs_config_json_loads(tmp_path):
    old = {**RunConfig().model_dump(mode="json"), "p_init": 0.5, "iterand_period": 1000,
           "iterand_rate": 1.0, "constant_init": None}  # fmt: skip
    del old["method_options"]
    config = validate(old)
    assert config.method_options == {
        "p_init": 0.5, "iterand_period": 1000, "iterand_rate": 1.0, "constant_init": None
    }  # fmt: skip
    assert validate(config.model_dump(mode="json")) == config


def test_method_options_are_checked_against_the_factory():
    with registered_plugin(WithOptions(), "opts"):
        ticket = methods().get("ticket").factory
        config = RunConfig(method="ticket", method_options={"p_init": 0.5, "rate": 3})
        config.check_names()
        assert method_arguments(config, ticket) == {"p_init": 0.5, "rate": 3}
        typo = RunConfig(method="ticket", method_options={"rat": 3})
        with pytest.raises(ConfigError) as info:
            typo.check_names()
        assert str(info.value) == (
            "Unknown option 'rat' for method 'ticket'. Did you mean 'rate'? It takes: p_init, rate."
        )
        with pytest.raises(ConfigError, match=r"for method 'plain'\. It takes no options"):
            RunConfig(method="plain", method_options={"rate": 3}).check_names()
        anything = RunConfig(method="anything", method_options={"x": 1})
        assert method_arguments(anything, methods().get("anything").factory) == {"x": 1}
        with pytest.raises(ConfigError, match=r"'p_init' for method 'anything'.*takes: x"):
            RunConfig(method="anything", method_options={"p_init": 0.2}).check_names()


def test_legacy_options_a_method_does_not_take_are_left_out():
    """As before method_options, when every method ignored the ones it did not use: old runs'
    config.json lists all four for every method."""
    with registered_plugin(WithOptions(), "opts"):
        legacy = {"p_init": 0.0, "iterand_period": 1000, "iterand_rate": 1.0, "constant_init": None}
        plain = RunConfig(method="plain", **legacy)
        plain.check_names()
        assert method_arguments(plain, methods().get("plain").factory) == {}
        ticket = RunConfig(method="ticket", **legacy)
        assert method_arguments(ticket, methods().get("ticket").factory) == {"p_init": 0.0}


def test_an_option_without_a_default_is_required_before_any_data_is_read():
    """A keyword parameter without a default: the registry says so (``mt list --verbose``)
    and ``check_names`` asks for it, naming the setting; an option known only to a factory
    taking ``**kwargs`` is never required."""
    with registered_plugin(WithOptions(), "opts"):
        assert (
            methods().get("needy").options["rate"].describe("rate") == "rate (required): how fast"
        )
        assert not methods().get("anything").options["x"].required
        RunConfig(method="needy", method_options={"rate": 2}).check_names()
        with pytest.raises(ConfigError) as info:
            RunConfig(method="needy").check_names()
        assert str(info.value) == (
            "Method 'needy' needs option 'rate' (how fast): set method_options.rate."
        )
