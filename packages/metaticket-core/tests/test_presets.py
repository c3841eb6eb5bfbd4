"""Presets: the paper's settings, with outer-loop settings that follow the method actually run."""

import pytest

from metaticket_core import UnknownNameError, load_config
from metaticket_core.api.presets import MAML_FAMILY, list_presets, preset
from metaticket_core.app.sweeps import expand

OUTER = ("outer_optimizer", "outer_lr", "momentum", "weight_decay", "schedule", "warmup")


def outer(config) -> dict:
    return {key: getattr(config, key) for key in OUTER if getattr(config, key) is not None}


def test_another_method_gets_its_own_outer_settings_not_the_presets():
    maml = preset("miniimagenet-resnet12-5w5s-maml")
    assert outer(load_config(preset=maml)) == {"outer_lr": 6e-4}
    # the experiment's Meta-ticket settings, not MAML's Adam lr 6e-4
    assert outer(load_config(overrides={"method": "metaticket"}, preset=maml)) == {"warmup": 1000}
    assert outer(load_config(sets=["method=metaticket+boil"], preset=maml)) == {"warmup": 1000}
    ticket = preset("miniimagenet-resnet12-5w5s-metaticket")
    assert outer(load_config(overrides={"method": "boil"}, preset=ticket)) == {"outer_lr": 6e-4}
    # a method the experiment names nothing for runs with its own defaults
    assert outer(load_config(overrides={"method": "maml"}, preset=preset("demo"))) == {}


def test_what_the_user_sets_wins_over_the_presets_outer_settings(tmp_path):
    ticket = preset("mlp5-5w5s-metaticket")
    assert outer(load_config(preset=ticket)) == {"warmup": 100}
    config = load_config(overrides={"method": "maml", "outer_lr": 0.01}, preset=ticket)
    assert outer(config) == {"outer_lr": 0.01}
    path = tmp_path / "run.yaml"
    path.write_text("method: metaticket\nwarmup: 7\n")
    assert outer(load_config(path, preset=preset("mlp5-5w5s-maml"))) == {"warmup": 7}


def test_maml_family_presets_run_adam_at_a_constant_rate():
    """The authors run MAML, ANIL and BOIL with AdamW (no weight decay), constant lr."""
    family = [name for name, _ in list_presets() if preset(name).method in MAML_FAMILY]
    assert len(family) >= 20
    for name in family:
        settings = preset(name).settings()
        assert not {"warmup", "schedule", "outer_optimizer", "weight_decay"} & set(settings), name


@pytest.mark.parametrize("model", ["resnet12", "wrn28-10"])
@pytest.mark.parametrize("method", ["maml", "anil", "boil", "metaticket", "metaticket+boil"])
def test_every_row_of_table_2_has_a_preset(model, method):
    for shots in (1, 5):
        settings = preset(f"miniimagenet-{model}-5w{shots}s-{method}").settings()
        assert (settings["model"], settings["method"], settings["shots"]) == (model, method, shots)
        assert settings["inner_lr"] == 0.3


def test_setting_a_nested_option_leaves_the_preset_alone():
    constant = preset("omniglot-constant-init")
    assert load_config(sets=["model_options.width=1"], preset=constant).model_options == {
        "width": 1
    }
    assert constant.settings()["model_options"] == {"width": 4}
    load_config(sets=["constant_init=0.5"], preset=constant)
    assert constant.settings()["method_options"] == {"constant_init": 1.0}


def test_constant_init_preset_is_the_authors_run():
    config = load_config(preset=preset("omniglot-constant-init"))
    assert config.method_options == {"constant_init": 1.0} and config.model_options == {"width": 4}
    assert (config.inner_steps, config.test_inner_steps, config.meta_batch) == (3, 3, 32)
    assert outer(config) == {
        "outer_optimizer": "adamw",
        "outer_lr": 0.1,
        "schedule": "constant",
        "warmup": 0,
        "weight_decay": 0.0,
    }


def test_a_sweep_over_methods_gives_each_its_outer_settings():
    base = preset("omniglot-5w5s-maml")
    points = expand(
        lambda point: load_config(preset=base, extra=point), {"method": ["maml", "metaticket"]}, [0]
    )
    by_method = {config.method: outer(config) for _, config in points}
    assert by_method == {"maml": {}, "metaticket": {"warmup": 1000}}


def test_unknown_preset_suggests_the_closest():
    with pytest.raises(UnknownNameError, match="omniglot-5w5s-maml"):
        preset("omniglot-5w5s-mam")
