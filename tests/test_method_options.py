"""Method options through the installed CLI: the canonical ``method_options``, the legacy
top-level names, and run folders written before ``method_options`` existed."""

from __future__ import annotations

import json

import yaml

TINY = ["--preset", "sinusoid-metaticket-reg", "--iterations", "4", "--set", "val_interval=2",
        "--set", "val_episodes=2", "--set", "test_episodes=4"]  # fmt: skip
LEGACY = {"p_init": 0.5, "iterand_period": 2, "iterand_rate": 1.0, "constant_init": None}


def one_line(result, expected: str) -> None:
    assert result.returncode == 1 and result.stderr.strip().endswith(expected), result.stderr
    assert result.stderr.count("Error:") == 1 and "Traceback" not in result.stderr


def test_mt_config_shows_legacy_settings_as_method_options(mt):
    """Beside the defaults of the options left unset: IteRand every 1,000 steps, r = 1."""
    result = mt("config", "--set", "p_init=0.3", "--set", "method=metaticket+iterand")
    assert result.returncode == 0, result.stderr
    config = yaml.safe_load(result.stdout)
    assert config["method_options"] == {
        "p_init": 0.3, "constant_init": None, "iterand_period": 1000, "iterand_rate": 1.0
    }  # fmt: skip
    assert "p_init" not in config
    maml = yaml.safe_load(mt("config", "--set", "method=maml").stdout)
    assert maml["method_options"] == {}


def test_unknown_and_invalid_options_are_one_line(mt):
    one_line(
        mt("config", "--set", "method_options.p_int=0.3"),
        "Unknown option 'p_int' for method 'metaticket'. Did you mean 'p_init'? "
        "It takes: p_init, constant_init.",
    )
    one_line(
        mt("train", *TINY, "--set", "p_init=1.5"),
        "Invalid method option p_init=1.5: expected a number >= 0 and < 1.",
    )


def test_a_run_folder_from_before_method_options_shows_tests_and_resumes(mt, tmp_path):
    """Its config.json has the four settings at the top level, whatever the method."""
    trained = mt("train", *TINY, "--set", "p_init=0.5", "--set", "iterand_period=2", "--run-id",
                 "old", "--json")  # fmt: skip
    assert trained.returncode == 0, trained.stderr
    mean = json.loads(trained.stdout.strip().splitlines()[-1])["test"]["mean"]
    path = tmp_path / "runs" / "old" / "config.json"
    config = json.loads(path.read_text())
    assert config.pop("method_options") == {"p_init": 0.5, "iterand_period": 2}
    path.write_text(json.dumps({**config, **LEGACY}))

    shown = mt("show", "old")
    assert shown.returncode == 0 and "iterand_period: 2" in shown.stdout, shown.stderr
    tested = mt("test", "old", "--episodes", "4", "--json")
    assert tested.returncode == 0, tested.stderr
    assert json.loads(tested.stdout)["mean"] == mean  # the same ticket, settings included
    resumed = mt("train", "--resume", "old", "--iterations", "6")
    assert resumed.returncode == 0, resumed.stderr

    maml = mt("train", "--preset", "sinusoid-maml", "--iterations", "2", "--set",
              "val_interval=2", "--set", "val_episodes=2", "--set", "test_episodes=2",
              "--run-id", "oldmaml")  # fmt: skip
    assert maml.returncode == 0, maml.stderr
    path = tmp_path / "runs" / "oldmaml" / "config.json"
    config = {k: v for k, v in json.loads(path.read_text()).items() if k != "method_options"}
    path.write_text(json.dumps({**config, **LEGACY}))  # MAML ignored them, and still does
    assert mt("test", "oldmaml", "--episodes", "2").returncode == 0


def test_a_run_saved_with_options_its_method_ignored_loads_with_one_warning(mt, tmp_path):
    """The release that introduced method_options saved ``--set method=maml --set
    method_options.p_init=0.5``, and MAML ignored it. Such a run still shows, tests and resumes,
    each with one warning; the same settings given now are refused."""
    given = ["--set", "method=maml", "--set", "method_options.p_init=0.5"]
    one_line(
        mt("train", *TINY, *given),
        "Unknown option 'p_init' for method 'maml'. It takes no options.",
    )
    trained = mt("train", *TINY, "--set", "method=maml", "--run-id", "maml")
    assert trained.returncode == 0, trained.stderr
    path = tmp_path / "runs" / "maml" / "config.json"
    config = json.loads(path.read_text())
    path.write_text(json.dumps({**config, "method_options": {"p_init": 0.5, "iterand_rate": 1.0}}))
    warning = (
        "Warning: Run 'maml' was saved with method_options p_init, iterand_rate, which method "
        "'maml' does not take (it ignored them); left out."
    )
    for args in (["show", "maml"], ["test", "maml", "--episodes", "4"],
                 ["train", "--resume", "maml", "--iterations", "6"]):  # fmt: skip
        result = mt(*args)
        assert result.returncode == 0, result.stderr
        assert result.stderr.count("Warning:") == 1 and warning in " ".join(result.stderr.split())
    assert json.loads(path.read_text())["method_options"] == {}  # the resumed run wrote it anew
