"""Checkpoints as one safetensors file: tensors, plus the JSON state in its header.

One file per checkpoint, written to a temporary name and renamed, so a crash while writing
leaves the previous checkpoint intact. Nothing here unpickles anything.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file

from ..api.errors import MetaticketError
from ..api.files import atomic_path


def save(path: Path, tensors: dict[str, torch.Tensor], state: dict[str, Any]) -> None:
    """Write ``tensors`` and JSON-serialisable ``state`` atomically to ``path``."""
    save_with_metadata(path, tensors, {"state": json.dumps(state)})


def save_with_metadata(
    path: Path, tensors: dict[str, torch.Tensor], metadata: dict[str, str]
) -> None:
    """Write a safetensors file atomically: temporary name in the same folder, then rename."""
    tensors = {k: v.detach().to("cpu").contiguous() for k, v in tensors.items()}
    with atomic_path(path) as tmp:
        save_file(tensors, tmp, metadata=metadata)


def load(path: Path) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """The tensors and the JSON state of a checkpoint written by ``save``."""
    if not path.is_file():
        raise MetaticketError(f"Checkpoint {str(path)!r} does not exist.")
    tensors, metadata = read_safetensors(path, "Checkpoint")
    try:
        state = json.loads(metadata.get("state", "{}"))
    except json.JSONDecodeError as exc:
        raise MetaticketError(f"Checkpoint {str(path)!r} has a damaged state: {exc}") from None
    if not isinstance(state, dict):
        raise MetaticketError(f"Checkpoint {str(path)!r} has a damaged state (not a mapping).")
    return tensors, state


MAX_TENSORS = 100_000  # far beyond any network's parameters; reading each costs time and memory


def read_safetensors(path: Path, what: str) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """The tensors and header metadata of a safetensors file; a damaged one, or one of more
    tensors than any network of mt has, is one clear error."""
    try:
        with safe_open(str(path), framework="pt") as f:
            metadata = f.metadata() or {}
            keys = list(f.keys())
            if len(keys) > MAX_TENSORS:
                raise MetaticketError(
                    f"{what} {str(path)!r} holds {len(keys):,} tensors, more than any network "
                    f"(at most {MAX_TENSORS:,}); it was not written by mt."
                )
            tensors = {key: f.get_tensor(key) for key in keys}
    except (OSError, ValueError, SafetensorError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise MetaticketError(
            f"{what} {str(path)!r} is not a readable safetensors file: {reason}"
        ) from None
    return tensors, metadata


def optimizer_to_flat(optimizer: torch.optim.Optimizer) -> tuple[dict[str, torch.Tensor], Any]:
    """Split an optimizer state dict into tensors (by flat key) and the JSON-able rest."""
    sd = optimizer.state_dict()
    tensors: dict[str, torch.Tensor] = {}
    state: dict[str, dict[str, Any]] = {}
    for index, entry in sd["state"].items():
        state[str(index)] = {}
        for key, value in entry.items():
            if isinstance(value, torch.Tensor):
                tensors[f"{index}/{key}"] = value
            else:
                state[str(index)][key] = value
    return tensors, {"state": state, "param_groups": sd["param_groups"]}


def optimizer_from_flat(
    optimizer: torch.optim.Optimizer, tensors: dict[str, torch.Tensor], rest: Any
) -> None:
    state: dict[int, dict[str, Any]] = {int(i): dict(v) for i, v in rest["state"].items()}
    for flat, value in tensors.items():
        index, key = flat.split("/", 1)
        state.setdefault(int(index), {})[key] = value
    optimizer.load_state_dict({"state": state, "param_groups": rest["param_groups"]})
