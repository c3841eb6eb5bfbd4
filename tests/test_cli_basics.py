"""The installed CLI and the four built-in plugins, end to end."""

BUILTINS = ("core", "datasets", "methods", "models")


def test_version_names_every_package_and_torch(mt):
    result = mt("--version")
    assert result.returncode == 0, result.stderr
    names = [line.split()[0] for line in result.stdout.splitlines()]
    for package in ("metaticket-core", "metaticket-datasets", "metaticket-models"):
        assert package in names
    assert "metaticket-methods" in names and names[-1] == "torch"


def test_list_plugins_shows_builtins_with_versions(mt):
    result = mt("list", "plugins")
    assert result.returncode == 0, result.stderr
    for name in BUILTINS:
        assert f"│ {name} " in result.stdout
        assert f"metaticket-{name}" in result.stdout
    assert "0.1.0" in result.stdout


def test_disabled_plugin_is_hidden(mt):
    result = mt("list", "plugins", env={"MT_DISABLE_PLUGINS": "models,datasets"})
    assert result.returncode == 0, result.stderr
    assert "│ models " not in result.stdout and "│ datasets " not in result.stdout
    assert "│ methods " in result.stdout
    hidden = mt("list", "models", env={"MT_DISABLE_PLUGINS": "models,metasgd"})
    assert "models (0)" in hidden.stdout


def test_misspelt_kind_is_a_usage_error_with_suggestion(mt):
    result = mt("list", "modles")
    assert result.returncode == 2
    assert "Did you mean 'models'?" in result.stderr


def test_unknown_method_in_config_suggests_closest(mt, tmp_path):
    (tmp_path / "run.yaml").write_text("method: mamll\n")
    result = mt("config", "run.yaml")
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1
    assert "Unknown method 'mamll'. Did you mean 'maml'?" in result.stderr


def test_bad_config_is_one_line_and_debug_shows_traceback(mt, tmp_path):
    (tmp_path / "run.yaml").write_text("ways: 1\nshots: 0\n")
    result = mt("config", "run.yaml")
    assert result.returncode == 1
    assert result.stderr.startswith("Error: Invalid config: ways=1")
    assert "shots=0" in result.stderr and result.stderr.count("\n") == 1
    debug = mt("config", "run.yaml", env={"MT_DEBUG": "1"})
    assert debug.returncode == 1 and "Traceback" in debug.stderr
