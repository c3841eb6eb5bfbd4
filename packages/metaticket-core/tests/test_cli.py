"""The CLI through its real entry point (``main``), with inline plugins only."""

import pytest

from metaticket_core import ConfigError, hookimpl
from metaticket_core.app.cli import main, versions
from metaticket_core.app.testing import registered_plugin


def run(capsys, *argv):
    with pytest.raises(SystemExit) as info:
        main(list(argv))
    out, err = capsys.readouterr()
    return info.value.code or 0, out, err


class Toy:
    @hookimpl
    def register_methods(self, register):
        register("maml", print, description="Model-agnostic meta-learning")

    @hookimpl
    def register_commands(self, app):
        @app.command("boom")
        def boom() -> None:
            """Fail with a domain error."""
            raise ConfigError("ways must be at least 2, got 1")


def test_version_lists_packages_and_torch(capsys):
    code, out, _ = run(capsys, "--version")
    assert code == 0
    assert "metaticket-core" in out and "torch" in out
    assert list(versions())[-1] == "torch"


def test_list_shows_only_registered(capsys):
    code, out, _ = run(capsys, "list", "methods")
    assert code == 0 and "methods (0)" in out
    with registered_plugin(Toy(), "toy"):
        code, out, _ = run(capsys, "list", "methods", "ma*")
    assert code == 0 and "methods (1)" in out and "maml" in out and "toy" in out


def test_list_plugins(capsys):
    with registered_plugin(Toy(), "toy"):
        code, out, _ = run(capsys, "list", "plugins")
    assert code == 0 and "core" in out and "toy" in out


def test_unknown_list_kind_is_a_usage_error_with_suggestion(capsys):
    code, _, err = run(capsys, "list", "modles")
    assert code == 2
    assert "Did you mean 'models'?" in err


def test_domain_error_is_one_red_line_exit_1(capsys):
    with registered_plugin(Toy(), "toy"):
        code, _, err = run(capsys, "boom")
    assert code == 1
    assert err.strip() == "Error: ways must be at least 2, got 1"
    assert "Traceback" not in err


def test_debug_shows_the_traceback(capsys, monkeypatch):
    monkeypatch.setenv("MT_DEBUG", "1")
    with registered_plugin(Toy(), "toy"), pytest.raises(ConfigError):
        main(["boom"])


def test_config_command_validates_and_suggests(capsys, tmp_path):
    path = tmp_path / "run.yaml"
    path.write_text("method: mamll\n")
    with registered_plugin(Toy(), "toy"):
        code, _, err = run(capsys, "config", str(path))
    assert code == 1
    assert "Unknown method 'mamll'. Did you mean 'maml'?" in err
    code, _, err = run(capsys, "config", "--set", "ways=1")
    assert code == 1 and "ways=1" in err and len(err.strip().splitlines()) == 1


def test_unknown_option_is_usage_error(capsys):
    code, _, _ = run(capsys, "list", "--nope")
    assert code == 2


class BrokenCommands:
    @hookimpl
    def register_commands(self, app):
        raise ImportError("no module named 'missing_dependency'")


def test_plugin_failing_to_add_commands_does_not_break_the_cli(capsys):
    with registered_plugin(BrokenCommands(), "brokencmds"):
        code, out, err = run(capsys, "list", "plugins")
    assert code == 0 and "brokencmds" in out
    assert "Warning: plugin 'brokencmds' failed to add its commands: ImportError" in err
