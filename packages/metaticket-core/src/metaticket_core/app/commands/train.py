"""``mt train``: meta-train a method from a preset, a config file and flags; then meta-test."""

from __future__ import annotations

import json
from collections.abc import Callable
from contextlib import ExitStack, suppress
from pathlib import Path
from typing import Annotated, Any

import typer

from ...api.config import RunConfig, load_config, validate
from ...api.console import console
from ...api.errors import ConfigError, MetaticketError
from ...api.files import write_json
from ...api.presets import preset as get_preset
from ...engine import distributed
from ...engine.experiment import Experiment, build, portable_device
from ...engine.progress import Progress
from ...engine.runs import Run, create_run, open_run
from ...engine.threads import set_threads
from ...engine.trainer import Trainer, TrainingDiverged, TrainingInterrupted
from .options import CONFIG_FILE, DEFAULT_RUNS_DIR, JSON_OUT, PRECISION, RUNS_DIR, SETS, THREADS

LOG_HELP = (
    "Also log metrics to these loggers (repeatable or comma separated; mt list loggers): {}. "
    "metrics.jsonl is always written."
)
# its help names the registered loggers, plugins' included, once they are known (register)
LOG_OPTION = typer.Option(help=LOG_HELP.format("tensorboard, csv"))


def register(app: typer.Typer) -> None:
    from ...api.registry import list_loggers
    from ...engine.loggers import BUILT_IN

    with suppress(MetaticketError):  # a broken logger plugin is reported when it is used
        LOG_OPTION.help = LOG_HELP.format(", ".join(n for n in list_loggers() if n != BUILT_IN))
    app.command("train")(train_command)


def train_command(
    ctx: typer.Context,
    config_file: CONFIG_FILE = None,
    preset: Annotated[
        str | None, typer.Option(help="Start from a preset (mt list presets).", show_default="demo")
    ] = None,
    method: Annotated[str | None, typer.Option(help="Meta-learner (mt list methods).")] = None,
    model: Annotated[str | None, typer.Option(help="Backbone (mt list models).")] = None,
    dataset: Annotated[str | None, typer.Option(help="Dataset (mt list datasets).")] = None,
    data_root: Annotated[Path | None, typer.Option(help="Folder of the dataset on disk.")] = None,
    split_file: Annotated[
        Path | None,
        typer.Option(
            help="Class split file, for datasets whose folder carries none (docs/FORMATS.md)."
        ),
    ] = None,
    ways: Annotated[int | None, typer.Option(help="Classes per task.")] = None,
    shots: Annotated[int | None, typer.Option(help="Support examples per class.")] = None,
    queries: Annotated[int | None, typer.Option(help="Query examples per class.")] = None,
    meta_batch: Annotated[int | None, typer.Option(help="Tasks per outer step.")] = None,
    iterations: Annotated[
        int | None, typer.Option(help="Outer steps; 0 tests the untrained start.")
    ] = None,
    inner_lr: Annotated[float | None, typer.Option(help="Inner-loop learning rate.")] = None,
    inner_steps: Annotated[int | None, typer.Option(help="Inner steps at meta-train.")] = None,
    test_inner_steps: Annotated[
        int | None, typer.Option(help="Inner steps at meta-val/test.")
    ] = None,
    outer_lr: Annotated[
        float | None, typer.Option(help="Outer learning rate.", show_default="the method's")
    ] = None,
    first_order: Annotated[
        bool | None, typer.Option("--first-order", help="First-order meta-gradients.")
    ] = None,
    seed: Annotated[int | None, typer.Option(help="Seed of everything.")] = None,
    device: Annotated[
        str | None,
        typer.Option(help="cpu, cuda or auto (with --resume: the run's own where present)."),
    ] = None,
    precision: PRECISION = None,
    deterministic: Annotated[
        bool | None,
        typer.Option(
            "--deterministic",
            help="PyTorch's deterministic algorithms: bit-identical runs on a GPU too, slower "
            "(else cuDNN's benchmark mode).",
        ),
    ] = None,
    runs_dir: RUNS_DIR = DEFAULT_RUNS_DIR,
    run_id: Annotated[str | None, typer.Option(help="Name of the new run folder.")] = None,
    resume: Annotated[
        str | None, typer.Option(help="Continue the run with this id where it stopped.")
    ] = None,
    set_: SETS = None,
    nproc: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="Train data-parallel with this many processes on this machine (torchrun; "
            "one GPU each with CUDA, gloo on CPU). The meta-batch must divide by it.",
        ),
    ] = None,
    log: Annotated[list[str] | None, LOG_OPTION] = None,
    threads: THREADS = None,
    json_out: JSON_OUT = False,
) -> None:
    """Meta-train, validating on fixed meta-val episodes, then meta-test the final checkpoint.

    With no options: Meta-ticket on the MLP with the embedded glyphs, 5-way 5-shot (the demo).
    Also runs under torchrun (python -m metaticket_core train ...): see the README.
    """
    set_threads(threads)
    flags = {
        "method": method, "model": model, "dataset": dataset, "data_root": data_root,
        "ways": ways, "shots": shots, "queries": queries, "meta_batch": meta_batch,
        "iterations": iterations, "inner_lr": inner_lr, "inner_steps": inner_steps,
        "test_inner_steps": test_inner_steps, "outer_lr": outer_lr, "first_order": first_order,
        "seed": seed, "device": device, "precision": precision, "deterministic": deterministic,
    }  # fmt: skip
    flags["loggers"] = log or None  # an empty list would clear a config file's loggers

    def configure() -> tuple[RunConfig, Run | None]:
        if resume:
            run = open_run(resume, runs_dir)
            return _resumed(ctx, run), run
        # a config file stands alone; with neither a preset nor a file, train the demo
        base = get_preset(preset or "demo") if preset or config_file is None else None
        config = load_config(config_file, overrides=flags, sets=set_, preset=base)
        if split_file is not None:
            options = {**config.dataset_options, "split_file": str(split_file)}
            config = config.model_copy(update={"dataset_options": options})
        return config, None

    world = distributed.detect()
    if nproc is not None and nproc > 1:
        if world.size > 1:
            raise ConfigError("--nproc starts its own processes; leave it out under torchrun.")
        config, _ = configure()  # fail here, once, rather than on every rank
        distributed.share(config.meta_batch, distributed.World(size=nproc))
        config.check_names()
        raise typer.Exit(distributed.launch(nproc, ["train", *_forwarded(ctx, skip="nproc")]))
    with distributed.process_group(world):
        try:
            _train(world, configure, runs_dir, run_id, json_out)
        except (TrainingDiverged, TrainingInterrupted):
            if not world.main:  # every rank saw it; rank 0 reports it
                raise SystemExit(1) from None
            raise


def _train(
    world: distributed.World,
    configure: Callable[[], tuple[RunConfig, Run | None]],
    runs_dir: Path,
    run_id: str | None,
    json_out: bool,
) -> None:
    """Rank 0 reads the config and owns the run folder, locked while it trains; every rank builds
    and trains."""
    config, run = distributed.from_main(configure, world)
    resuming = run is not None
    with ExitStack() as held:

        def claim(run: Run | None) -> Run:
            run = held.enter_context((run or create_run(config, runs_dir, run_id)).lock())
            stored = run.config()  # --resume --iterations N, --log NAME: kept for the next resume
            if (stored.iterations, stored.loggers) != (config.iterations, config.loggers):
                write_json(run.path / "config.json", config.model_dump(mode="json"))
            return run

        if run is not None:  # a second process on the run stops here, before any work
            run = distributed.from_main(lambda: claim(run), world)

        def setup() -> Experiment:
            distributed.share(config.meta_batch, world)
            return build(config, world=world)

        experiment = distributed.together(setup, world)
        if run is None:
            run = distributed.from_main(lambda: claim(None), world)
        if world.main:
            console.print(f"run [bold]{run.id}[/] in {run.path}", highlight=False, soft_wrap=True)
            if split := experiment.dataset.describe().get("split"):
                console.print(f"classes split: {split}", highlight=False, soft_wrap=True)
        with Progress(enabled=world.main) as progress:
            result = Trainer(experiment, run, progress, world).complete(resuming)
    if not world.main:
        return
    console.print(f"meta-test {result.summary()}", highlight=False)
    if json_out:
        summary: dict[str, Any] = {
            "run_id": run.id,
            "run_dir": str(run.path),
            "test": result.as_dict(),
        }
        typer.echo(json.dumps(summary))


RESUME_MAY_CHANGE = {"iterations", "device", "precision", "deterministic", "log"}
ALONGSIDE_RESUME = {"resume", "runs_dir", "nproc", "threads", "json_out"}


def _resumed(ctx: typer.Context, run: Run) -> RunConfig:
    """``run``'s config with what ``--resume`` may change: ``--iterations`` (to train longer,
    never fewer than done), where and how it runs (``--device``, ``--precision``,
    ``--deterministic``) and more
    loggers (``--log``); any other setting is refused, naming it."""
    given = _given(ctx)
    refused = sorted(set(given) - RESUME_MAY_CHANGE - ALONGSIDE_RESUME)
    if refused:
        names = ", ".join(max(given[n].opts, key=len) for n in refused)
        raise ConfigError(
            f"--resume continues run {run.id!r} with its own settings and cannot change {names}; "
            f"with --resume only --iterations (to train longer), --device, --precision, "
            f"--deterministic and --log may be given."
        )
    config = run.config()
    iterations = ctx.params.get("iterations")
    if iterations is not None:
        done = run.status().get("iteration", 0)
        if iterations < done:
            raise ConfigError(
                f"--iterations {iterations} is fewer than the {done} that run {run.id!r} has "
                f"done; give at least {done}."
            )
        config.iterations = iterations
    device = portable_device(run.id, config.device, ctx.params.get("device") or "auto")
    changes = {
        "device": device,
        "precision": ctx.params.get("precision"),
        "deterministic": ctx.params.get("deterministic"),
    }
    changes["loggers"] = [*config.loggers, *(ctx.params.get("log") or [])]
    return validate({**config.model_dump(), **{k: v for k, v in changes.items() if v}})


def _given(ctx: typer.Context) -> dict[str, Any]:
    """The parameters this command was given a value for, by name."""
    return {
        param.name: param
        for param in ctx.command.params
        if param.name and ctx.params.get(param.name) not in (None, False, [], ())
    }


def _forwarded(ctx: typer.Context, skip: str) -> list[str]:
    """The options this command was given, as arguments for another invocation of it."""
    args: list[str] = []
    for name, param in _given(ctx).items():
        value = ctx.params[name]
        if name == skip:
            continue
        option = max(param.opts, key=len)
        if value is True:
            args.append(option)
        else:
            for item in value if isinstance(value, list | tuple) else [value]:
                args += [option, str(item)]
    return args
