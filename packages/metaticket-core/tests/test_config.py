import json

import pytest
import torch

from metaticket_core import hookimpl
from metaticket_core.config import RunConfig, load_config, parse_set
from metaticket_core.errors import ConfigError, UnknownNameError
from metaticket_core.precision import check_precision
from metaticket_core.testing import registered_plugin


def test_defaults_are_the_paper_omniglot_setting():
    config = RunConfig()
    assert (config.method, config.model, config.dataset) == ("metaticket", "mlp", "glyphs")
    assert (config.ways, config.shots, config.queries, config.meta_batch) == (5, 5, 5, 4)
    assert (config.inner_lr, config.inner_steps, config.test_inner_steps) == (0.4, 1, 3)
    assert config.p_init == 0.0 and config.batchnorm == "batch"
    assert config.outer_optimizer is None  # the method's default


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
    path.write_text("ways: 1\nbatchnorm: global\nwayz: 5\np_init: 1.5\n")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    message = str(info.value)
    assert "\n" not in message
    assert "ways=1: expected greater than or equal to 2" in message
    assert "batchnorm='global': expected 'batch' or 'running'" in message
    assert "unknown setting 'wayz' (did you mean 'ways'?)" in message
    assert "p_init=1.5: expected less than 1" in message


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
