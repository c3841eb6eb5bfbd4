"""Run configuration: one validated pydantic model, from defaults < file < flags < ``--set``.

Optimizer and inner-loop settings left at ``None`` take the method's own defaults (Meta-ticket:
SGD lr 10 with a cosine schedule and warmup; MAML: Adam 1e-3; both 1 inner step at 0.4, 3 at
test), so one config file can compare methods.

A method's own settings are ``method_options``, checked by name against the options its
registration declares (registry.py: the factory's keyword-only parameters), as
``model_options`` and ``dataset_options`` against their factories', before any data is read,
and by value by the factory. Meta-ticket's four settings were top-level fields before;
``LEGACY_METHOD_OPTIONS`` keeps those names as aliases of the methods that take them.
"""

from __future__ import annotations

import contextlib
import inspect
import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from .errors import ConfigError, MetaticketError, did_you_mean
from .precision import Precision
from .presets import Preset
from .tasks import EpisodeShape

if TYPE_CHECKING:
    from .registry import Entry

# Meta-ticket's settings from when they were fields of RunConfig. Still read at the top level of
# a file, --set and a sweep's grid as method_options.<name>, refused like any option for a
# method that does not take it; the config.json of older runs lists all four whatever the
# method, so there those a method does not take are left out (as it then ignored them).
LEGACY_METHOD_OPTIONS = ("p_init", "iterand_period", "iterand_rate", "constant_init")


class RunConfig(BaseModel):
    """Everything that determines a meta-training run."""

    # bounds far beyond any real run, so that a typo fails at once instead of exhausting memory
    model_config = ConfigDict(extra="forbid", validate_assignment=True, allow_inf_nan=False)

    # what
    method: str = "metaticket"
    method_options: dict[str, Any] = Field(
        default_factory=dict, description="e.g. {p_init: 0.5} (mt list methods --verbose)"
    )
    model: str = "mlp"
    model_options: dict[str, Any] = Field(default_factory=dict, description="e.g. {width: 2}")
    dataset: str = "glyphs"
    data_root: Path | None = None
    dataset_options: dict[str, Any] = Field(default_factory=dict)

    # episodes
    ways: int = Field(
        5, ge=2, le=10_000, description="classes per task (regression datasets ignore it)"
    )
    shots: int = Field(5, ge=1, le=10_000)
    queries: int = Field(
        5, ge=1, le=10_000, description="query examples per class; the paper uses shots"
    )
    meta_batch: int = Field(4, ge=1, le=4096)

    # inner loop (None: the method's default, InnerDefaults; MAML and Meta-ticket: 0.4, 1, 3)
    inner_lr: float | None = Field(None, ge=0)
    inner_steps: int | None = Field(None, ge=0, le=10_000, description="inner steps at meta-train")
    test_inner_steps: int | None = Field(
        None, ge=0, le=10_000, description="inner steps at meta-val and meta-test"
    )
    first_order: bool = False
    batched: Literal["auto", "on", "off"] = Field(
        "auto",
        description="meta-training tasks in one batched forward and backward (on), one after"
        " another (off), or batched where measured faster (auto: small backbones)",
    )

    # outer loop (None: the method's default)
    iterations: int = Field(
        30_000,
        ge=0,
        le=100_000_000,
        description="outer steps; 0 meta-tests the untrained start (for Meta-ticket"
        " a random subnetwork at p_init)",
    )
    outer_optimizer: Literal["sgd", "adam", "adamw"] | None = None
    outer_lr: float | None = Field(None, gt=0)
    momentum: float | None = Field(None, ge=0, lt=1)
    weight_decay: float | None = Field(None, ge=0)
    schedule: Literal["constant", "cosine"] | None = None
    warmup: int | None = Field(None, ge=0, le=100_000_000, description="linear warmup iterations")
    # opt-in, off in every paper preset (the authors clip nothing): one task whose inner loop
    # diverges can give one enormous meta-gradient that Adam then carries for thousands of steps
    outer_guard: float | None = Field(
        None,
        gt=0,
        description="rescale a meta-gradient whose norm exceeds this to outer_guard_to"
        " (off: None, as in the paper)",
    )
    outer_guard_to: float = Field(10.0, gt=0, description="the norm a guarded step is scaled to")

    # BatchNorm: batch statistics only (paper, transductive) or running statistics per run
    batchnorm: Literal["batch", "running"] = "batch"

    # running
    seed: int = Field(0, ge=0, lt=2**32)
    device: Literal["cpu", "cuda", "auto"] = "auto"
    precision: Precision = Field(
        "fp32",
        description="forward passes in true float32, TF32 on a GPU (tf32), or under bfloat16 "
        "autocast (bf16)",
    )
    deterministic: bool = Field(
        False, description="PyTorch's deterministic algorithms (else cuDNN's benchmark mode)"
    )
    val_interval: int = Field(500, ge=1, le=100_000_000, description="validate every N iterations")
    val_episodes: int = Field(100, ge=1, le=1_000_000)
    test_episodes: int = Field(1000, ge=2, le=1_000_000, description="2 at least, for a CI")
    loggers: list[str] = Field(
        default_factory=list,
        description="metric loggers besides metrics.jsonl (mt list loggers), e.g. tensorboard,csv",
    )

    @model_validator(mode="before")
    @classmethod
    def _legacy_method_options(cls, data: Any) -> Any:
        """Top-level ``p_init`` and the like (older runs' config.json, ``RunConfig(p_init=...)``)
        folded into ``method_options``."""
        legacy = [n for n in data if n in LEGACY_METHOD_OPTIONS] if isinstance(data, dict) else []
        options = (data.get("method_options") or {}) if legacy else None
        if not isinstance(options, dict):  # nothing to fold, or a field error to report
            return data
        data, options = dict(data), dict(options)
        takes = _options_of(data["method"]) if "method" in data else None
        for name in legacy:
            value = data.pop(name)
            if takes is not None and name not in takes:
                continue
            if name in options and options[name] != value:
                raise ConfigError(
                    f"Method option {name} is set twice, to {value!r} and as "
                    f"method_options.{name} to {options[name]!r}; keep one."
                )
            options[name] = value
        data["method_options"] = options
        return data

    @model_validator(mode="after")
    def _guard_scales_down(self) -> RunConfig:
        if self.outer_guard is not None and self.outer_guard_to > self.outer_guard:
            raise ValueError(
                f"outer_guard_to={self.outer_guard_to} exceeds outer_guard={self.outer_guard}:"
                f" the guard only scales meta-gradients down; set outer_guard_to <= outer_guard"
            )
        return self

    @field_validator("loggers", mode="before")
    @classmethod
    def _comma_lists(cls, value: Any) -> Any:
        """``tensorboard,csv``, ``[tensorboard, csv]`` or both mixed; each name once."""
        if isinstance(value, str):
            value = [value]
        if isinstance(value, list | tuple) and all(isinstance(v, str) for v in value):
            names = [n.strip() for v in value for n in v.split(",")]
            return list(dict.fromkeys(n for n in names if n))
        return value

    @field_validator("batched", mode="before")
    @classmethod
    def _on_off(cls, value: Any) -> Any:
        """YAML 1.1 reads on and off (a config file, ``--set batched=on``) as booleans."""
        if isinstance(value, bool):
            return "on" if value else "off"
        return value

    @property
    def episode(self) -> EpisodeShape:
        return EpisodeShape(self.ways, self.shots, self.queries)

    def check_names(self) -> None:
        """Raise UnknownNameError (with a suggestion) for an unregistered method, model, dataset
        or logger; ConfigError for a logger whose package is missing, or a method, model or
        dataset option its registration does not declare (before any data is read, so that
        ``mt config`` and ``mt train`` refuse the same configs)."""
        from .registry import check_loggers, datasets, methods, models

        method = methods().get(self.method)
        method_arguments(self, method.factory)
        model = models().get(self.model)
        check_options(f"model {self.model!r}", self.model_options, list(model.options))
        dataset = datasets().get(self.dataset)
        check_options(f"dataset {self.dataset!r}", self.dataset_options, list(dataset.options))
        for kind, entry in (("method", method), ("model", model), ("dataset", dataset)):
            check_required(kind, entry, getattr(self, f"{kind}_options"))
        check_loggers(self.loggers)


def _options_of(method: Any) -> set[str] | None:
    """The options ``method`` takes; None when it is not registered (then all are kept, and the
    unknown name is reported by ``check_names``)."""
    from .registry import methods

    try:
        return set(methods().get(method).options)
    except (MetaticketError, TypeError):
        return None


def without_unused_legacy_options(data: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """A stored run's config without the ``LEGACY_METHOD_OPTIONS`` in its ``method_options``
    that its method does not take, and their names: the release that introduced
    ``method_options`` saved them for any method, which ignored them; they are refused now,
    but only in what a user gives (``load_config``), never in a run already trained."""
    options = data.get("method_options")
    takes = _options_of(data.get("method"))
    if not isinstance(options, dict) or takes is None:  # reported by validate, check_names
        return data, []
    dropped = [n for n in options if n in LEGACY_METHOD_OPTIONS and n not in takes]
    kept = {n: v for n, v in options.items() if n not in dropped}
    return ({**data, "method_options": kept} if dropped else data), dropped


# filled by the toolkit, never options: a dataset's cache folder, a backbone's BatchNorm mode
TOOLKIT_ARGUMENTS = ("cache_dir", "batchnorm")


def factory_options(factory: Callable[..., Any], fixed: int = 2) -> dict[str, Any] | None:
    """The options ``factory`` takes, with their defaults: the parameters it takes by keyword
    after the ``fixed`` positional ones the toolkit passes (a method's backbone and config; a
    model's out_features and input_shape; a dataset's root), keyword-only ones as the contract
    asks, and earlier plugins' other ones; None when it takes any (``**options``)."""
    try:
        parameters = list(inspect.signature(factory).parameters.values())
    except (TypeError, ValueError):  # a builtin or C callable: nothing to read
        return {}
    if any(p.kind is p.VAR_KEYWORD for p in parameters):
        return None
    kind = inspect.Parameter
    skipped = [
        p for p in parameters if p.kind in (kind.POSITIONAL_ONLY, kind.POSITIONAL_OR_KEYWORD)
    ]
    return {
        p.name: p.default
        for p in parameters
        if p not in skipped[:fixed]
        and p.kind in (kind.POSITIONAL_OR_KEYWORD, kind.KEYWORD_ONLY)
        and p.name not in TOOLKIT_ARGUMENTS
    }


def method_arguments(config: RunConfig, factory: Callable[..., Any]) -> dict[str, Any]:
    """``config.method_options`` as the keyword arguments the method's ``factory`` is called
    with: an option it does not take (one that a factory taking ``**kwargs`` did not declare
    when registered) is a ConfigError naming the closest."""
    from .registry import methods

    takes = factory_options(factory)
    if takes is None:
        takes = methods().get(config.method).options
    check_options(f"method {config.method!r}", config.method_options, list(takes))
    return dict(config.method_options)


def check_options(owner: str, options: dict[str, Any], known: list[str]) -> None:
    """ConfigError for the first option of ``options`` that is not ``known`` (``cache_dir`` is
    filled by the toolkit, never an option)."""
    known = [k for k in known if k != "cache_dir"]
    for option in options:
        if option not in known:
            did = did_you_mean(option, known)
            takes = f"takes: {', '.join(known)}" if known else "takes no options"
            raise ConfigError(f"Unknown option {option!r} for {owner}.{did} It {takes}.")


def check_required(kind: str, entry: Entry, given: dict[str, Any]) -> None:
    """ConfigError for the first option without a default that ``given`` lacks: the factory of
    ``entry`` (a ``kind``) cannot be called without it."""
    for name, option in entry.options.items():
        if option.required and name not in given:
            about = f" ({option.help})" if option.help else ""
            raise ConfigError(
                f"{kind.capitalize()} {entry.name!r} needs option {name!r}{about}: "
                f"set {kind}_options.{name}."
            )


def load_config(
    path: str | Path | None = None,
    overrides: dict[str, Any] | None = None,
    sets: list[str] | None = None,
    preset: Preset | None = None,
    extra: dict[str, Any] | None = None,
) -> RunConfig:
    """Merge ``preset`` < file < ``overrides`` (CLI flags) < ``sets`` (key=value) < ``extra``
    (dotted keys, already parsed: a sweep's grid point). The preset gives its settings for the
    method finally chosen, so its outer-loop settings follow that method (presets.py)."""
    layers = [
        read_config_file(path) if path is not None else {},
        {k: v for k, v in (overrides or {}).items() if v is not None},
    ]
    assignments = [parse_set(item) for item in sets or []] + list((extra or {}).items())
    methods = [layer["method"] for layer in layers if "method" in layer]
    methods += [value for key, value in assignments if key == "method"]
    data: dict[str, Any] = preset.settings(methods[-1] if methods else None) if preset else {}
    for layer in layers:
        data.update({k: v for k, v in layer.items() if k not in LEGACY_METHOD_OPTIONS})
        for key in [k for k in layer if k in LEGACY_METHOD_OPTIONS]:
            assign(data, key, layer[key])  # into method_options, beside what is there
    for key, value in assignments:
        assign(data, key, value)
    return validate(data)


def read_config_file(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    if not path.is_file():
        raise ConfigError(
            f"Config file {str(path)!r} does not exist (expected a .yaml or .json file)."
        )
    try:
        text = path.read_text(encoding="utf-8")
        data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError, RecursionError) as exc:  # bad UTF-8, 5000 digits too
        reason = (
            "nested too deep" if isinstance(exc, RecursionError) else " ".join(str(exc).split())
        )
        raise ConfigError(f"Config file {str(path)!r} is not valid YAML/JSON: {reason}") from None
    check_size(data, f"Config file {str(path)!r}")
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(
            f"Config file {str(path)!r} must hold a mapping of settings, got {type(data).__name__}."
        )
    return data


MAX_VALUES = 100_000  # scalars in a config once YAML aliases are expanded; real ones hold < 100
MAX_DEPTH = 32  # levels of nesting; real configs have 3 (validating 50,000 overflows the stack)


def check_size(data: Any, where: str) -> None:
    """Refuse a config whose aliases expand it beyond any real one (a "billion laughs" file
    of a few hundred bytes would otherwise take minutes and gigabytes to validate and print),
    or nested deeper. The count stops at the limit, so this takes no longer than reading a real
    config."""
    count, stack = 0, [(data, 0)]
    while stack:
        item, depth = stack.pop()
        count += 1
        if count > MAX_VALUES:
            raise ConfigError(
                f"{where} expands to more than {MAX_VALUES:,} values (through YAML aliases?); "
                f"a run configuration holds a few dozen."
            )
        if depth > MAX_DEPTH:
            raise ConfigError(
                f"{where} is nested more than {MAX_DEPTH} levels deep; a run configuration has 3."
            )
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)


def parse_set(item: str) -> tuple[str, Any]:
    """``key=value`` with a YAML value (``lr=1e-3``, ``model_options.width=2``, ``x=[1,2]``)."""
    key, sep, raw = item.partition("=")
    if not sep or not key.strip():
        raise ConfigError(
            f"--set expects key=value, got {item!r} (for example --set inner_lr=0.4)."
        )
    try:
        value = yaml.safe_load(raw) if raw.strip() else None
    except (yaml.YAMLError, ValueError, RecursionError):  # as text: the check says what is wrong
        value = raw
    check_size(value, f"--set {key.strip()}")
    if isinstance(value, str):  # YAML 1.1 reads "1e-3" as a string
        with contextlib.suppress(ValueError):
            value = float(value)
    return key.strip(), value


def assign(data: dict[str, Any], dotted: str, value: Any) -> None:
    """Set ``a.b.c`` in nested dicts (``--set model_options.width=2``); a legacy method option
    ``p_init`` is ``method_options.p_init``."""
    if dotted in LEGACY_METHOD_OPTIONS:
        dotted = f"method_options.{dotted}"
    *parents, leaf = dotted.split(".")
    target = data
    for part in parents:
        target = target.setdefault(part, {})
        if not isinstance(target, dict):
            raise ConfigError(f"--set {dotted}: {part!r} is not a mapping.")
    target[leaf] = value


def validate(data: dict[str, Any]) -> RunConfig:
    try:
        return RunConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(
            "Invalid config: " + "; ".join(_describe(e) for e in exc.errors())
        ) from None


def _describe(error: Any) -> str:
    field = ".".join(str(p) for p in error["loc"]) or "config"
    if error["type"] == "extra_forbidden":
        did = did_you_mean(
            field.split(".")[-1],
            [*RunConfig.model_fields, *LEGACY_METHOD_OPTIONS],
            " (did you mean {!r}?)",
        )
        return f"unknown setting {field!r}{did}"
    message = error["msg"]
    message = message.replace("Input should be", "expected").replace("Value error, ", "")
    if not error["loc"]:  # a rule across fields: its message names them
        return message
    return f"{field}={error['input']!r}: {message}"
