"""Registration through the entry point, and whole runs with core and this plugin alone."""

from __future__ import annotations

import json
from importlib import metadata

import pytest

from metaticket_core import list_datasets, list_loggers, list_methods, list_models, load_config
from metaticket_core.app.testing import isolated_plugins
from metaticket_core.engine.runs import create_run
from metaticket_core.engine.trainer import Trainer, build

NAMES = {"methods": ["metasgd", "metaticket+metasgd"], "models": ["tiny-conv"],
         "datasets": ["image-folder"]}  # fmt: skip


def test_entry_point_names_the_plugin_module():
    (ep,) = [e for e in metadata.entry_points(group="metaticket") if e.name == "metasgd"]
    assert ep.value == "metaticket_metasgd.plugin" and ep.dist.name == "metaticket-metasgd"


def test_installed_plugin_loads_through_the_entry_point():
    with isolated_plugins(load_entry_points=True) as pm:
        info = {p.name: p for p in pm.describe()}["metasgd"]
        assert info.distribution == "metaticket-metasgd" and info.error is None
        assert info.hooks == (
            "register_datasets", "register_loggers", "register_methods", "register_models"
        )  # fmt: skip
        assert set(NAMES["methods"]) <= set(list_methods("*metasgd"))


def test_disabled_plugin_is_not_loaded(monkeypatch):
    monkeypatch.setenv("MT_DISABLE_PLUGINS", "metasgd")
    with isolated_plugins(load_entry_points=True) as pm:
        assert "metasgd" not in {p.name for p in pm.describe()}
        assert list_methods("*metasgd") == []


def test_registers_exactly_its_names(metasgd_plugin):
    assert list_methods() == NAMES["methods"]
    assert list_models() == NAMES["models"]
    assert list_datasets() == NAMES["datasets"]
    assert list_loggers() == ["csv", "jsonl", "summary", "tensorboard"]  # core's and summary


@pytest.mark.parametrize("method", NAMES["methods"])
def test_trains_and_tests_with_core_alone(metasgd_plugin, image_root, tmp_path, method):
    config = load_config(overrides={
        "method": method, "model": "tiny-conv", "dataset": "image-folder",
        "data_root": image_root, "ways": 3, "shots": 1, "queries": 2, "meta_batch": 2,
        "iterations": 3, "val_interval": 3, "val_episodes": 2, "test_episodes": 3,
        "device": "cpu", "model_options": {"channels": 4}, "dataset_options": {"size": 12},
        "loggers": ["summary"],
    })  # fmt: skip
    experiment = build(config, cache_dir=tmp_path / "cache")
    trainer = Trainer(experiment, create_run(config, tmp_path / "runs", "r"))
    trainer.fit()
    result = trainer.test()
    assert result.metric == "accuracy" and result.episodes == 3 and 0 <= result.mean <= 1
    assert trainer.optimizer.defaults["lr"] == 1e-3  # Adam 1e-3 from the method's OuterDefaults
    last = {k: v for record in trainer.run.metrics() for k, v in record.items()}
    assert json.loads((trainer.run.path / "summary.json").read_text()) == last
