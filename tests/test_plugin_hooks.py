"""Every hook is documented in docs/PLUGINS.md and exercised here; the guide's copy-me examples
run as written. In-process, with inline plugins only (core's own plugin underneath)."""

from __future__ import annotations

import inspect
import json
import re
import sys
import types
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import torch
import yaml

import metaticket_datasets.plugin
import metaticket_methods.plugin
import metaticket_models.mlp
import metaticket_models.plugin
from metaticket_core import (
    ConfigError,
    Logger,
    PluginError,
    RunConfig,
    Task,
    datasets,
    hookimpl,
    list_datasets,
    list_loggers,
    list_methods,
    list_models,
    load_config,
    methods,
    models,
)
from metaticket_core.api import hookspecs
from metaticket_core.api.registry import loggers
from metaticket_core.app.testing import (
    central_difference,
    isolated_plugins,
    registered_plugin,
    run_cli,
)
from metaticket_core.engine.runs import create_run
from metaticket_core.engine.trainer import Trainer, TrainingDiverged, build

GUIDE = Path(__file__).resolve().parents[1] / "docs" / "PLUGINS.md"


@pytest.fixture(autouse=True)
def _isolated(monkeypatch):
    monkeypatch.delenv("MT_DISABLE_PLUGINS", raising=False)
    monkeypatch.setenv("COLUMNS", "200")
    with isolated_plugins() as pm:
        yield pm


def hookspec_names() -> list[str]:
    return sorted(n for n, f in vars(hookspecs).items() if hasattr(f, "metaticket_spec"))


# one test per hook -------------------------------------------------------------------------
class Everything:
    """One inline plugin implementing every hook."""

    @hookimpl
    def register_datasets(self, register):
        def blobs(root, *, cache_dir, **options):
            """Gaussian blobs."""
            return ("blobs", root, options)

        register("blobs", blobs, formats=["generated"], options={"seed": "blob seed"})

    @hookimpl
    def register_models(self, register):
        register("lin", lambda out, shape, batchnorm="batch": torch.nn.Linear(shape[0], out))

    @hookimpl
    def register_methods(self, register):
        register("noop", lambda backbone, config: (backbone, config), description="does nothing")

    @hookimpl
    def register_loggers(self, register):
        class Remember(Logger):
            """Keeps the records."""

            def __init__(self, run, *, start):
                self.records = []

            def log(self, record):
                self.records.append(dict(record))

        register("remember", Remember, requires="json", install="pip install 'x[json]'")

    @hookimpl
    def register_commands(self, app):
        @app.command("hello")
        def hello(name: str = "world") -> None:
            """Say hello."""
            print(f"hello {name}")


def test_register_datasets():
    with registered_plugin(Everything(), "every"):
        assert list_datasets() == ["blobs"]
        entry = datasets().get("blobs")
        assert entry.plugin == "every" and entry.description == "Gaussian blobs."
        assert entry.info == {"formats": ["generated"]} and list(entry.options) == ["seed"]
        assert entry.factory(None, cache_dir=Path("c"), seed=1) == ("blobs", None, {"seed": 1})
        assert "generated" in run_cli("list", "datasets", "--verbose").stdout


def test_register_models():
    with registered_plugin(Everything(), "every"):
        assert list_models() == ["lin"]
        assert models().get("lin").factory(3, (4,)).weight.shape == (3, 4)


def test_register_methods():
    with registered_plugin(Everything(), "every"):
        assert list_methods("n*") == ["noop"]
        entry = methods().get("noop")
        assert entry.plugin == "every" and entry.description == "does nothing"
        assert "noop" in run_cli("list", "methods").stdout


def test_register_loggers():
    with registered_plugin(Everything(), "every"):
        assert "remember" in list_loggers()
        entry = loggers().get("remember")
        assert entry.plugin == "every" and entry.description == "Keeps the records."
        logger = entry.factory(None, start=0)
        logger.log({"iteration": 1, "loss": 0.5})
        logger.close()
        assert logger.records == [{"iteration": 1, "loss": 0.5}]
        listed = run_cli("list", "loggers", "--verbose").stdout
        assert "remember" in listed and "requires: json" in listed
        assert "install: pip install 'x[json]'" in listed  # as written, not as rich markup


def test_register_commands():
    with registered_plugin(Everything(), "every"):
        result = run_cli("hello", "--name", "plugin")
        assert (result.exit_code, result.stdout) == (0, "hello plugin\n")
        assert "hello" in run_cli("--help").stdout


HOOK_TESTS = {
    "register_datasets": test_register_datasets,
    "register_models": test_register_models,
    "register_methods": test_register_methods,
    "register_loggers": test_register_loggers,
    "register_commands": test_register_commands,
}


def test_every_hook_has_a_test():
    assert sorted(HOOK_TESTS) == hookspec_names()


@pytest.mark.parametrize("hook", hookspec_names())
def test_every_hook_is_documented(hook):
    """A section headed by the hook's exact signature, saying what to register."""
    arguments = ", ".join(inspect.signature(getattr(hookspecs, hook)).parameters)
    heading = f"### `{hook}({arguments})`"
    sections = GUIDE.read_text(encoding="utf-8").split("\n### ")
    (section,) = [s for s in sections if f"### {s}".startswith(heading)] or [None]
    assert section, f"docs/PLUGINS.md has no section headed {heading}"
    assert "is called as" in section or "@app.command" in section


def test_guide_covers_packaging_testing_and_disabling():
    guide = GUIDE.read_text(encoding="utf-8")
    for needle in (
        "[project.entry-points.metaticket]",
        "pip install",
        "metaticket_core.app.testing",
        "MT_DISABLE_PLUGINS",
        "failed to import",
    ):
        assert needle in guide


# failures stay contained ---------------------------------------------------------------------
class BrokenCommands:
    @hookimpl
    def register_commands(self, app):
        raise RuntimeError("no commands today")


def test_failing_register_commands_is_a_warning_naming_the_plugin():
    with registered_plugin(BrokenCommands(), "brokencmds"):
        result = run_cli("list", "plugins")
    assert result.exit_code == 0 and "brokencmds" in result.stdout
    assert "plugin 'brokencmds' failed to add its commands" in result.stderr


class Raising:
    @hookimpl
    def register_methods(self, register):
        raise RuntimeError("bad plugin")


def test_failing_register_hook_names_the_plugin():
    with registered_plugin(Raising(), "raising"), pytest.raises(PluginError, match="'raising'"):
        list_methods()


# the guide's copy-me example ---------------------------------------------------------------
def copy_me(name: str) -> str:
    guide = GUIDE.read_text(encoding="utf-8")
    match = re.search(rf"<!-- copy-me: {re.escape(name)} -->\n```python\n(.*?)```", guide, re.S)
    assert match, f"docs/PLUGINS.md lost its copy-me block {name}"
    return match.group(1)


def test_copy_me_example_works_as_written(monkeypatch):
    package = types.ModuleType("my_plugin")
    package.__path__ = []
    plugin = types.ModuleType("my_plugin.plugin")
    exec(compile(copy_me("my_plugin/plugin.py"), "my_plugin/plugin.py", "exec"), vars(plugin))
    package.plugin = plugin
    monkeypatch.setitem(sys.modules, "my_plugin", package)
    monkeypatch.setitem(sys.modules, "my_plugin.plugin", plugin)
    tests: dict = {}
    exec(compile(copy_me("tests/test_plugin.py"), "tests/test_plugin.py", "exec"), tests)
    tests["test_registers_mlp2_and_its_command"]()

    net = plugin.MLP2(5, (1, 28, 28))
    assert set(net.parameter_tags()) == {n for n, _ in net.named_parameters()}


# the guide's new method ----------------------------------------------------------------------
@pytest.fixture
def guide_method():
    """The guide's method module, registered as plugin ``mymethod`` for the test."""
    module = types.ModuleType("my_method")
    exec(compile(copy_me("my_method.py"), "my_method.py", "exec"), vars(module))
    with registered_plugin(module, "mymethod"):
        yield module


@pytest.mark.parametrize(
    ("block", "title", "most"),
    [("my_method.py", "A new method", 40), ("reptile.py", "Reptile", 40)],
)
def test_the_guides_methods_are_as_short_as_it_says(block, title, most):
    lines = len(copy_me(block).splitlines())
    claimed = re.search(rf"### {title} in (\d+) lines", GUIDE.read_text(encoding="utf-8"))
    assert claimed and int(claimed.group(1)) == lines <= most


def sinusoid(method: str, **settings) -> RunConfig:
    """A tiny sinusoid run of ``method``: 4 iterations of 2 tasks."""
    return load_config(overrides={
        "method": method, "model": "sine-mlp", "dataset": "sinusoid", "shots": 5, "queries": 5,
        "meta_batch": 2, "iterations": 4, "val_interval": 2, "val_episodes": 2,
        "test_episodes": 3, "device": "cpu", **settings,
    })  # fmt: skip


def test_the_new_method_trains_tests_and_checks_its_option(guide_method, tmp_path):
    def config(**options):
        return sinusoid("maml+lslr", inner_lr=0.01, inner_steps=2, method_options=options)

    with (
        registered_plugin(metaticket_models.plugin, "models"),
        registered_plugin(metaticket_datasets.plugin, "datasets"),
    ):
        experiment = build(config(rate_init=0.02), cache_dir=tmp_path / "cache")
        rates = {n: r.item() for n, r in experiment.learner.inner_rates().items()}
        assert rates and all(r == pytest.approx(0.02) for r in rates.values())
        trainer = Trainer(experiment, create_run(experiment.config, tmp_path / "runs", "r"))
        trainer.fit()
        result = trainer.test()
        assert result.metric == "mse" and result.episodes == 3
        moved = experiment.learner.inner_rates()
        assert all(moved[n].item() != rate for n, rate in rates.items())  # meta-learned
        with pytest.raises(ConfigError, match=r"'rate_int'.*Did you mean 'rate_init'\?"):
            config(rate_int=0.1).check_names()
        with pytest.raises(ConfigError, match="rate_init=-1: expected a number > 0"):
            build(config(rate_init=-1), cache_dir=tmp_path / "cache")


def test_the_new_methods_meta_gradient_equals_finite_differences(guide_method):
    """Entries of every meta-parameter (phi_0 and the rates), second order through two inner
    steps, against central differences of the meta-loss, on the sinusoid MLP in float64."""
    torch.manual_seed(0)
    backbone = metaticket_models.mlp.build_sine_mlp(1, (1,)).double()
    config = RunConfig(inner_lr=0.01, inner_steps=2)
    learner = guide_method.learned_rates(backbone, config, rate_init=0.05).double()
    g = torch.Generator().manual_seed(1)

    def xy():
        x = torch.rand(5, 1, generator=g, dtype=torch.float64) * 10 - 5
        return x, torch.sin(x)

    batch = [Task(*xy(), *xy()) for _ in range(2)]
    loss, _ = learner.outer_loss(batch)
    loss.backward()
    for param in learner.meta_parameters():
        for i in range(0, param.numel(), 97):
            numeric = central_difference(lambda: learner.outer_loss(batch)[0].item(), param, i)
            assert param.grad.view(-1)[i].item() == pytest.approx(numeric, rel=1e-5, abs=1e-9)


# the guide's Reptile: an outer update that is not a gradient ----------------------------------
@contextmanager
def guide_plugin(block: str, name: str) -> Iterator[types.ModuleType]:
    """The guide's ``block`` as a module, registered as plugin ``name`` beside the built-in
    models and datasets."""
    module = types.ModuleType(block.removesuffix(".py"))
    exec(compile(copy_me(block), block, "exec"), vars(module))
    with (
        registered_plugin(module, name),
        registered_plugin(metaticket_models.plugin, "models"),
        registered_plugin(metaticket_datasets.plugin, "datasets"),
    ):
        yield module


@pytest.fixture
def guide_reptile():
    with guide_plugin("reptile.py", "reptile") as module:
        yield module


def adapted_by_hand(backbone, start, tasks, lr=0.02, steps=5):
    """Reptile's target written out: the mean over ``tasks`` of the parameters that ``steps``
    plain SGD steps on each support loss reach from ``start``, every tensor adapted."""
    mean = {n: torch.zeros_like(t) for n, t in start.items()}
    for task in tasks:
        phi = dict(start)
        for _ in range(steps):
            leaves = {n: p.detach().requires_grad_() for n, p in phi.items()}
            out = torch.func.functional_call(backbone, leaves, (task.support_x,))
            loss = torch.nn.functional.mse_loss(out, task.support_y)
            grads = torch.autograd.grad(loss, list(leaves.values()))
            phi = {
                n: (p - lr * g).detach() for (n, p), g in zip(leaves.items(), grads, strict=True)
            }
        mean = {n: mean[n] + phi[n] / len(tasks) for n in mean}
    return mean


def test_reptiles_step_is_reptile_written_out(guide_reptile, tmp_path):
    """One trainer step moves phi_0 half way (SGD at 0.5) towards the mean of the parameters
    that 5 plain SGD steps on each task's support loss reach: the method's own inner-loop
    defaults, and the trainer's update from the returned directions."""
    experiment = build(sinusoid("reptile", inner_lr=0.02), cache_dir=tmp_path / "cache")
    learner = experiment.learner
    assert (learner.inner_lr, learner.inner_steps, learner.test_inner_steps) == (0.02, 5, 5)
    trainer = Trainer(experiment, create_run(experiment.config, tmp_path / "runs", "r"))
    phi0 = {n: p.detach().clone() for n, p in learner.backbone.named_parameters()}
    tasks = trainer.tasks(1)
    metrics = trainer.step(1)

    mean = adapted_by_hand(learner.backbone, phi0, tasks)
    for name, param in learner.backbone.named_parameters():
        assert not torch.equal(param, phi0[name])
        torch.testing.assert_close(param.detach(), phi0[name] + 0.5 * (mean[name] - phi0[name]))
    assert set(metrics) == {"loss", "mse", "lr"} and metrics["loss"] > 0


def test_reptile_trains_checkpoints_and_stops_on_divergence(guide_reptile, tmp_path):
    config = sinusoid("reptile", inner_lr=0.01, inner_steps=2, test_inner_steps=1)
    experiment = build(config, cache_dir=tmp_path / "cache")
    learner = experiment.learner
    assert (learner.inner_steps, learner.test_inner_steps) == (2, 1)  # the user's settings win
    trainer = Trainer(experiment, create_run(config, tmp_path / "runs", "r"))
    trainer.fit()
    assert trainer.test().metric == "mse"
    restored = Trainer(build(config, cache_dir=tmp_path / "cache"), trainer.run)
    restored.restore("last")
    assert restored.iteration == 4
    for name, tensor in restored.x.learner.state_dict().items():
        assert torch.equal(tensor, learner.state_dict()[name]), name

    def diverged(tasks, diagnostics=False):
        return [torch.zeros_like(p) for p in learner.meta_parameters()], {"loss": float("nan")}

    learner.outer_gradients = diverged
    with pytest.raises(TrainingDiverged, match="meta-loss became nan at iteration 5"):
        trainer.step(5)


# the guide's ticket: Reptile masked by core's Ticket --------------------------------------------
@pytest.fixture
def guide_ticket(monkeypatch):
    """The guide's reptile+ticket, importing the guide's Reptile (itself not registered)."""
    reptile = types.ModuleType("reptile")
    exec(compile(copy_me("reptile.py"), "reptile.py", "exec"), vars(reptile))
    monkeypatch.setitem(sys.modules, "reptile", reptile)
    with guide_plugin("reptile_ticket.py", "reptileticket") as module:
        yield module


def ticket_config(**settings) -> RunConfig:
    return sinusoid("reptile+ticket", inner_lr=0.02, method_options={"p_init": 0.5}, **settings)


def test_the_reptile_tickets_scores_follow_reptiles_pull(guide_ticket, tmp_path):
    """One trainer step against the guide's formula, computed by hand: with W = w * m, m =
    1[s >= threshold] and the mean adapted weights from 5 plain SGD steps on W (pruned weights
    included), the direction for the scores is w * (W - mean adapted), and SGD at 0.5 steps
    against it; w and the thresholds stay fixed."""
    experiment = build(ticket_config(), cache_dir=tmp_path / "cache")
    learner = experiment.learner
    assert list(learner.backbone.parameters()) == []  # phi_0: buffers, in the state dict
    assert [id(p) for p in learner.meta_parameters()] == [
        id(p) for p in learner.score_params.values()
    ]
    trainer = Trainer(experiment, create_run(experiment.config, tmp_path / "runs", "r"))
    fixed = {n: t.clone() for n, t in learner.backbone.named_buffers()}
    scores = {n: t.clone() for n, t in learner.scores().items()}
    thresholds = learner.thresholds.clone()
    tasks = trainer.tasks(1)
    trainer.step(1)

    masks = {n: (scores[n] >= thresholds[i]).float() for i, n in enumerate(learner.masked)}
    weights = {n: w * masks[n] if n in masks else w for n, w in fixed.items()}
    mean = adapted_by_hand(learner.backbone, weights, tasks)
    for name, mask in masks.items():
        assert (mask == 0).sum().item() == mask.numel() // 2  # floor(p n) pruned
        direction = fixed[name] * (weights[name] - mean[name])
        moved = learner.scores()[name]
        torch.testing.assert_close(moved, scores[name] - 0.5 * direction)
        assert (moved != scores[name])[mask == 0].any()  # pruned weights are pulled too
    assert all(torch.equal(t, fixed[n]) for n, t in learner.backbone.named_buffers())
    assert torch.equal(learner.thresholds, thresholds)


def test_the_reptile_ticket_trains_tests_and_resumes(guide_ticket, tmp_path):
    config = ticket_config()
    experiment = build(config, cache_dir=tmp_path / "cache")
    learner = experiment.learner
    trainer = Trainer(experiment, create_run(config, tmp_path / "runs", "r"))
    phi0 = {n: t.clone() for n, t in learner.initial_parameters().items()}
    scores = {n: t.clone() for n, t in learner.scores().items()}
    trainer.fit()
    assert trainer.test().metric == "mse"
    assert all(torch.equal(t, phi0[n]) for n, t in learner.initial_parameters().items())
    assert all(not torch.equal(s, scores[n]) for n, s in learner.scores().items())
    restored = Trainer(build(config, cache_dir=tmp_path / "cache"), trainer.run)
    restored.restore("last")
    for name, tensor in restored.x.learner.state_dict().items():
        assert torch.equal(tensor, learner.state_dict()[name]), name


def test_every_public_member_of_functional_learner_is_in_the_reference():
    """A public attribute or method added to FunctionalLearner fails here until the guide's
    reference has a row for it."""
    from metaticket_core import FunctionalLearner

    learner = FunctionalLearner(metaticket_models.mlp.build_sine_mlp(1, (1,)), RunConfig())
    public = {n for n in dir(learner) if not n.startswith("_")} - set(dir(torch.nn.Module()))
    guide = GUIDE.read_text(encoding="utf-8")
    start = guide.index("### The `FunctionalLearner` reference")
    section = guide[start : guide.index("\n### ", start + 1)]
    rows = [line.split("|")[1] for line in section.splitlines() if line.startswith("| `")]
    missing = sorted(n for n in public if not any(re.search(rf"`{n}[`(]", r) for r in rows))
    assert not missing, f"docs/PLUGINS.md's FunctionalLearner reference lacks {missing}"
    assert {"backbone", "names", "inner_lr", "adapter", "query_losses"} <= public


# one option contract for methods, models and datasets -------------------------------------------
@pytest.fixture
def builtins():
    with (
        registered_plugin(metaticket_models.plugin, "models"),
        registered_plugin(metaticket_datasets.plugin, "datasets"),
        registered_plugin(metaticket_methods.plugin, "methods"),
    ):
        yield


@pytest.mark.parametrize(
    ("sets", "message"),
    [
        (["dataset=omniglot", "dataset_options.sise=28"],
         "Unknown option 'sise' for dataset 'omniglot'. Did you mean 'size'? It takes: split, "
         "split_file, rotations, size."),
        (["model_options.widht=2"],
         "Unknown option 'widht' for model 'mlp'. Did you mean 'width'? It takes: width."),
        (["model=resnet12", "model_options.width=2"],
         "Unknown option 'width' for model 'resnet12'. It takes no options."),
        (["model=wrn28-k"],
         "Model 'wrn28-k' needs option 'k' (widening factor, an int >= 1: channels 16k-32k-64k): "
         "set model_options.k."),
        (["method=maml", "method_options.p_init=0.5"],
         "Unknown option 'p_init' for method 'maml'. It takes no options."),
        (["method=maml", "p_init=0.5"],  # Meta-ticket's old top-level name: its alias only
         "Unknown option 'p_init' for method 'maml'. It takes no options."),
    ],
)  # fmt: skip
def test_options_are_checked_before_any_data_is_read(builtins, sets, message):
    """For the built-in methods, models and datasets alike; an option without a default is
    asked for. No data root is given: nothing is read."""
    config = load_config(sets=sets)
    with pytest.raises(ConfigError) as info:
        config.check_names()
    assert str(info.value) == message


def test_meta_tickets_old_names_stay_its_options_and_old_runs_load(builtins):
    assert load_config(sets=["p_init=0.5"]).method_options == {"p_init": 0.5}
    load_config(sets=["method=metaticket+iterand", "iterand_period=7"]).check_names()
    old = {"method": "maml", "p_init": 0.0, "iterand_period": 1000, "constant_init": None}
    assert RunConfig(**old).method_options == {}  # an old run's config.json: ignored, as then


def test_a_factory_taking_any_keyword_must_declare_its_options():
    class Loose:
        @hookimpl
        def register_models(self, register):
            register("loose", lambda out, shape, batchnorm="batch", **options: None)

    class Misdeclared:
        @hookimpl
        def register_methods(self, register):
            register("tight", lambda backbone, config, *, rate=1: None, options={"rat": "?"})

    with registered_plugin(Loose(), "loose"), pytest.raises(PluginError, match=r"options=\{"):
        list_models()
    with registered_plugin(Misdeclared(), "mis"), pytest.raises(PluginError, match="'rat'"):
        list_methods()


def test_list_verbose_shows_each_option_with_its_default_and_help(builtins):
    shown = run_cli("list", "methods", "metaticket+iterand", "--verbose").stdout
    assert "iterand_period (default 1000): IteRand" in " ".join(shown.split())
    shown = " ".join(run_cli("list", "models", "--verbose").stdout.split())
    assert "width (default 1): width factor r of the hidden layers" in shown
    assert "channels (default 64): channels of every conv layer" in shown
    assert "k (required): widening factor" in shown


class KeywordOnly:
    """A dataset and a method whose options are keyword-only parameters with defaults."""

    @hookimpl
    def register_datasets(self, register):
        def dots(root, *, cache_dir, size=8, noise=0.1):
            """Random dots."""

        register("dots", dots, options={"size": "pixels a side", "noise": "std of the noise"})

    @hookimpl
    def register_methods(self, register):
        register("still", lambda backbone, config, *, rate=0.5: None)


def test_mt_config_fills_in_every_factorys_defaults(builtins):
    """From the keyword-only parameters of methods, models and datasets alike (built-in or
    not), beside what is given."""
    with registered_plugin(KeywordOnly(), "keywords"):
        shown = run_cli("config", "--set", "model=conv4", "--set", "dataset=dots", "--set",
                        "method=still", "--set", "dataset_options.size=4")  # fmt: skip
    assert shown.exit_code == 0, shown.stderr
    config = yaml.safe_load(shown.stdout)
    assert config["method_options"] == {"rate": 0.5}
    assert config["model_options"] == {"channels": 64}
    assert config["dataset_options"] == {"size": 4, "noise": 0.1}
    shown = run_cli("config", "--set", "model_options.width=2")
    assert shown.exit_code == 0 and yaml.safe_load(shown.stdout)["model_options"] == {"width": 2}


def test_batched_on_is_refused_for_a_method_that_runs_its_own_outer_loss(guide_reptile, tmp_path):
    with pytest.raises(ConfigError, match="batched=on, but method 'reptile'"):
        build(sinusoid("reptile", batched="on"), cache_dir=tmp_path / "cache")
    build(sinusoid("reptile", batched="off"), cache_dir=tmp_path / "cache")  # what it does


# what a run shows and logs ---------------------------------------------------------------------
def test_records_say_their_kind_and_show_lists_the_datasets_facts(builtins, tmp_path):
    """Through the CLI with a plugin logger: every record has ``kind`` train or val; ``--log``'s
    help names the plugin's logger; ``mt show`` gives the dataset's ``describe()``;
    ``mt test`` takes ``--threads``."""
    with registered_plugin(Everything(), "every"):
        assert "remember" in " ".join(run_cli("train", "--help").stdout.split())
        runs = str(tmp_path / "runs")
        trained = run_cli(
            "train", "--preset", "sinusoid-maml", "--iterations", "4", "--set", "val_interval=2",
            "--set", "val_episodes=2", "--set", "test_episodes=2", "--runs-dir", runs,
            "--run-id", "r", "--threads", "1", "--log", "remember",
        )  # fmt: skip
        assert trained.exit_code == 0, trained.stderr
        tested = run_cli("test", "r", "--runs-dir", runs, "--threads", "1", "--episodes", "2")
        assert tested.exit_code == 0, tested.stderr
    records = [json.loads(line) for line in (tmp_path / "runs/r/metrics.jsonl").open()]
    assert [(r["iteration"], r["kind"]) for r in records] == [
        (1, "train"), (2, "train"), (2, "val"), (3, "train"), (4, "train"), (4, "val")
    ]  # fmt: skip
    assert all(list(r)[:2] == ["iteration", "kind"] for r in records)
    shown = run_cli("show", "r", "--runs-dir", runs)
    assert shown.exit_code == 0 and "Finn et al. 2017" in shown.stdout, shown.stdout
