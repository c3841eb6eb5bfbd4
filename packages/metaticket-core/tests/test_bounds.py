"""Inputs that used to hang or mislead (issue 27): FIFOs among predict's images, files of more
tensors than any network, masks holding values other than 0 and 1, non-finite scores."""

from __future__ import annotations

import json
import os

import pytest
import torch
from safetensors import safe_open

from metaticket_core import DataError, methods
from metaticket_core.app.commands.predict import query_paths, support_folders
from metaticket_core.engine import checkpoint


def one_line(result: tuple[int, str, str], text: str) -> None:
    code, _, err = result
    assert code == 1 and err.count("\n") == 1 and text in err, err


def test_a_fifo_among_predicts_images_is_never_opened(tmp_path):
    for name in ("a", "b"):
        (tmp_path / "support" / name).mkdir(parents=True)
        (tmp_path / "support" / name / "1.png").write_bytes(b"png")
    os.mkfifo(tmp_path / "support" / "a" / "x.png")
    os.mkfifo(tmp_path / "x.png")
    assert [p.name for p in support_folders(tmp_path / "support")["a"]] == ["1.png"]
    assert query_paths([tmp_path / "support" / "a"]) == [tmp_path / "support" / "a" / "1.png"]
    with pytest.raises(DataError, match=r"x\.png' is not a regular file or folder"):
        query_paths([tmp_path / "x.png"])


def test_a_file_of_more_tensors_than_any_network_is_refused(cli, tmp_path, monkeypatch):
    monkeypatch.setattr(checkpoint, "MAX_TENSORS", 10)
    many = tmp_path / "many.safetensors"
    checkpoint.save_with_metadata(many, {f"t{i}": torch.zeros(1) for i in range(11)}, {})
    one_line(cli("inspect", str(many)), "holds 11 tensors, more than any network (at most 10)")


@pytest.mark.parametrize("value", [255, -5])
def test_a_mask_holding_other_values_than_0_and_1_is_refused(cli, tmp_path, value):
    ticket = tmp_path / "ticket.safetensors"
    assert cli("export-mask", "t", "-o", str(ticket))[0] == 0
    with safe_open(str(ticket), framework="pt") as f:
        metadata = f.metadata()
        tensors = {k: f.get_tensor(k) for k in f.keys()}  # noqa: SIM118
    tensors["mask/body.weight"] = tensors["mask/body.weight"].to(torch.int16)
    tensors["mask/body.weight"][0, 0] = value
    checkpoint.save_with_metadata(ticket, tensors, metadata)
    one_line(cli("inspect", str(ticket)), f"mask/body.weight holds {value}, but a mask holds only")


def test_non_finite_scores_are_not_exported(cli, tmp_path, monkeypatch):
    def nan_scores(self):
        return {"body.weight": torch.full((8, 4), float("nan"))}

    monkeypatch.setattr(methods().get("toymaml").factory, "scores", nan_scores)
    ticket = tmp_path / "ticket.safetensors"
    one_line(
        cli("export-mask", "t", "-o", str(ticket), "--with-scores"),
        "holds non-finite scores in body.weight (32 of 32)",
    )
    assert not ticket.exists()
    assert json.loads((tmp_path / "runs" / "t" / "status.json").read_text())["state"] == "finished"
