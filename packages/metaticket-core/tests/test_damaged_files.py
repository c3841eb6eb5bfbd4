"""Damaged files are one clear line, or one damaged row (issue 27): a bad run folder among good
ones, metrics lines and test.json files edited by hand, configs nested 50,000 deep, of bad UTF-8
or a 5,000-digit number, and a checkpoint tensor of another shape."""

from __future__ import annotations

import json

import pytest
import torch

from metaticket_core.engine import checkpoint


def one_line(result: tuple[int, str, str], *texts: str) -> None:
    code, _, err = result
    assert code == 1 and err.count("\n") == 1 and "unexpected" not in err, err
    for text in texts:
        assert text in err, err


@pytest.mark.parametrize("damage", ["unknown setting", "status a list", "status of odd types"])
def test_a_damaged_run_folder_is_listed_as_such_and_the_others_are_listed(cli, tmp_path, damage):
    runs = tmp_path / "runs"
    (runs / "bad").mkdir()
    config = json.loads((runs / "t" / "config.json").read_text())
    (runs / "bad" / "config.json").write_text(json.dumps({**config, "colour": "red"}))
    if damage != "unknown setting":
        (runs / "bad" / "config.json").write_text(json.dumps(config))
        status = [1, 2] if damage == "status a list" else {"iteration": [], "best_val": "x"}
        (runs / "bad" / "status.json").write_text(json.dumps(status))
    code, out, err = cli("runs")
    assert code == 0 and "unexpected" not in err, err
    assert "t " in out and "4/4" in out and "finished" in out
    assert "bad" in out and "damaged" in out
    assert err.startswith("damaged bad: ") and err.count("\n") == 1


@pytest.mark.parametrize(
    ("line", "why"),
    [('{"loss": 0.5}', "no iteration number"), ("[1, 2]", "a list, not a record")],
)
def test_a_damaged_metrics_line_is_one_line_in_report_and_plot(cli, tmp_path, line, why):
    metrics = tmp_path / "runs" / "t" / "metrics.jsonl"
    metrics.write_text(metrics.read_text() + line + "\n")
    lines = len(metrics.read_text().splitlines())
    one_line(cli("plot", "t"), f"metrics.jsonl' line {lines} is damaged ({why})")


@pytest.mark.parametrize("content", ['{"episodes": 3}', "[]", '{"metric": "accuracy"'])
def test_a_damaged_test_json_is_one_line_in_report(cli, tmp_path, content):
    (tmp_path / "runs" / "t" / "test.json").write_text(content)
    one_line(cli("report", "t"), "test.json")


@pytest.mark.parametrize(
    ("content", "why"),
    [
        (b"dataset_options: " + b"[" * 50_000 + b"]" * 50_000, "nested"),
        (b"dataset_options: {a: " + b"[" * 40 + b"]" * 40 + b"}", "nested more than 32 levels"),
        (b"iterations: 10\nmodel: \xff\xfe\n", "codec can't decode"),
        (b"iterations: " + b"7" * 5000 + b"\n", "digits"),
    ],
    ids=["50000 deep", "40 deep", "bad utf-8", "5000 digits"],
)
def test_a_config_file_beyond_any_real_one_is_one_line(cli, tmp_path, content, why):
    (tmp_path / "odd.yaml").write_bytes(content)
    one_line(cli("config", "odd.yaml"), "odd.yaml", why)
    (tmp_path / "odd.json").write_bytes(content.replace(b"dataset_options: ", b""))
    one_line(cli("config", "odd.json"), "odd.json")


def test_a_run_config_json_of_5000_digits_is_one_line(cli, tmp_path):
    path = tmp_path / "runs" / "t" / "config.json"
    path.write_text(path.read_text().replace('"iterations": 4', '"iterations": ' + "4" * 5000))
    one_line(cli("show", "t"), "config.json' is not valid JSON", "digits")


def test_a_checkpoint_tensor_of_another_shape_is_named(cli, tmp_path):
    last = tmp_path / "runs" / "t" / "checkpoints" / "last.safetensors"
    tensors, state = checkpoint.load(last)
    tensors["learner/net.body.weight"] = torch.zeros(3, 3)
    checkpoint.save(last, tensors, state)
    detail = "tensor net.body.weight has shape (3, 3), this run's has (8, 4)"
    one_line(cli("test", "t"), "does not fit run 't'", detail)
    one_line(cli("train", "--resume", "t", "--iterations", "6"), detail)
