"""The run-lifecycle commands end to end on the toy plugin (core alone)."""

import json
import shutil

import pytest
import yaml
from safetensors import safe_open

from metaticket_core.app.cli import main
from metaticket_core.app.export import load_ticket


@pytest.fixture
def runs(tmp_path, toy_config, monkeypatch):
    """A config file for a tiny toy run, and MT_RUNS_DIR pointing into tmp_path."""
    monkeypatch.setenv("MT_RUNS_DIR", str(tmp_path / "runs"))
    path = tmp_path / "toy.yaml"
    path.write_text(yaml.safe_dump(toy_config))
    return path


def mt(capsys, *argv):
    with pytest.raises(SystemExit) as info:
        main(list(argv))
    out, err = capsys.readouterr()
    return info.value.code or 0, out, err


def train(capsys, config, *extra):
    code, out, err = mt(capsys, "train", "--config", str(config), "--json", *extra)
    assert code == 0, err
    return json.loads(out.strip().splitlines()[-1])


def test_train_test_runs_show(capsys, runs):
    summary = train(capsys, runs, "--run-id", "first", "--set", "iterations=12")
    assert summary["run_id"] == "first" and summary["test"]["episodes"] == 10
    code, out, _ = mt(capsys, "test", "first", "--episodes", "7", "--json")
    result = json.loads(out)
    assert code == 0 and result["episodes"] == 7 and result["metric"] == "accuracy"
    code, out, _ = mt(capsys, "runs")
    assert code == 0 and "first" in out and "12/12" in out and "finished" in out
    code, out, _ = mt(capsys, "show", "first")
    assert code == 0 and "method: toymaml" in out and "mean:" in out


def test_runs_keeps_the_figures_whole_in_a_narrow_terminal(capsys, runs, monkeypatch):
    """A sweep's long run id folds onto more lines; progress, scores and state never lose
    characters to an ellipsis, at 100 columns as at 200."""
    run_id = "a-sweep-with-a-long-name-method=toymaml-inner_lr=0.5-seed0"
    summary = train(capsys, runs, "--run-id", run_id, "--set", "iterations=12")
    monkeypatch.setenv("COLUMNS", "100")
    code, out, _ = mt(capsys, "runs")
    test = f"{100 * summary['test']['mean']:.2f}%"
    assert code == 0 and "12/12" in out and "finished" in out and test in out
    assert "…" not in out


def test_same_seed_same_result(capsys, runs):
    a = train(capsys, runs, "--run-id", "a")
    b = train(capsys, runs, "--run-id", "b")
    assert a["test"] == b["test"]
    c = train(capsys, runs, "--run-id", "c", "--seed", "1")
    assert c["test"] != a["test"]


def test_existing_run_id_is_refused_and_untouched(capsys, runs):
    train(capsys, runs, "--run-id", "keep")
    before = (runs.parent / "runs" / "keep" / "checkpoints" / "last.safetensors").read_bytes()
    code, _, err = mt(capsys, "train", "--config", str(runs), "--run-id", "keep")
    assert code == 1 and "already exists" in err and "--resume keep" in err
    after = (runs.parent / "runs" / "keep" / "checkpoints" / "last.safetensors").read_bytes()
    assert before == after


def test_export_mask_inspect_and_load_ticket(capsys, runs, tmp_path):
    train(capsys, runs, "--run-id", "t")
    out_file = tmp_path / "ticket.safetensors"
    code, _, err = mt(
        capsys, "export-mask", "t", "-o", str(out_file), "--with-weights", "--with-scores"
    )
    assert code == 0, err
    with safe_open(str(out_file), framework="pt") as f:
        keys = set(f.keys())
        meta = f.metadata()
        mask = f.get_tensor("mask/body.weight")
    assert "mask/body.weight" in keys and "weights/head.weight" in keys
    assert set(mask.unique().tolist()) <= {0, 1}
    assert meta["method"] == "toymaml" and json.loads(meta["config"])["ways"] == 3
    sparsity = json.loads(meta["sparsity"])
    assert sparsity["sparsity"] == pytest.approx(1 - mask.float().mean().item())

    code, out, _ = mt(capsys, "inspect", str(out_file))
    assert code == 0 and "body.weight" in out and "total" in out
    assert f"{100 * sparsity['sparsity']:.2f}%" in out

    net = load_ticket(out_file)
    assert (net.body.weight[mask == 0] == 0).all()

    code, _, err = mt(capsys, "export-mask", "t", "-o", str(tmp_path / "masks-only.safetensors"))
    assert code == 0
    with pytest.raises(Exception, match="--with-weights"):
        load_ticket(tmp_path / "masks-only.safetensors")


def test_plot_writes_pngs(capsys, runs, tmp_path):
    train(capsys, runs, "--run-id", "p")
    code, _, _ = mt(capsys, "plot", "p", "-o", str(tmp_path / "plots"))
    assert code == 0
    files = sorted(p.name for p in (tmp_path / "plots").iterdir())
    assert files == ["sparsity.png", "training.png"]
    assert all((tmp_path / "plots" / f).read_bytes()[:4] == b"\x89PNG" for f in files)


def test_plot_compares_runs(capsys, runs, tmp_path):
    from metaticket_core.app.plots import feature_gradient_keys
    from metaticket_core.engine.runs import open_run

    for run_id in ("a", "b"):
        train(capsys, runs, "--run-id", run_id)
        run = open_run(run_id, runs.parent / "runs")
        run.log({"iteration": 2, "grad/body.weight": 0.1, "grad/head.weight": 0.2})
    keys = feature_gradient_keys(run)
    assert "grad/body.weight" in keys and "grad/head.weight" not in keys
    code, out, _ = mt(capsys, "plot", "a", "b", "-o", str(tmp_path / "cmp"))
    assert code == 0 and out.count("wrote") == 2
    assert sorted(p.name for p in (tmp_path / "cmp").iterdir()) == [
        "inner-gradients.png",
        "validation.png",
    ]


def test_bad_inputs_fail_before_work(capsys, runs, tmp_path):
    code, _, err = mt(capsys, "train", "--config", str(runs), "--ways", "9")
    assert code == 1 and "8 classes, asked 9 ways" in err
    code, _, err = mt(capsys, "train", "--config", str(runs), "--method", "toymam")
    assert code == 1 and "Did you mean 'toymaml'?" in err
    code, _, err = mt(capsys, "train", "--preset", "omniglot-5w5s-mam")
    assert code == 1 and "Unknown preset" in err
    code, _, err = mt(capsys, "test", "nope")
    assert code == 1 and "Unknown run 'nope'" in err
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


def test_resume_continues_a_run(capsys, runs, monkeypatch):
    from metaticket_core.engine.trainer import Trainer

    original = Trainer.step

    def stop_at_15(self, iteration, diagnostics=False):
        if iteration == 15:
            raise KeyboardInterrupt
        return original(self, iteration, diagnostics)

    monkeypatch.setattr(Trainer, "step", stop_at_15)
    code, _, err = mt(capsys, "train", "--config", str(runs), "--run-id", "r")
    assert code == 1 and "Resume with: mt train --resume r" in err
    monkeypatch.setattr(Trainer, "step", original)
    code, out, err = mt(capsys, "train", "--resume", "r", "--json")
    assert code == 0, err
    summary = json.loads(out.strip().splitlines()[-1])
    reference = train(capsys, runs, "--run-id", "whole")
    assert summary["test"] == reference["test"]


def test_a_cuda_run_loads_on_a_machine_without_one(capsys, runs, monkeypatch):
    """Trained on a GPU (its config says cuda), tested, exported and resumed on the CPU: each
    command says so in one line; asking for cuda explicitly is the usual one-line error."""
    import torch

    summary = train(capsys, runs, "--run-id", "g")
    config = runs.parent / "runs" / "g" / "config.json"
    config.write_text(config.read_text().replace('"device": "cpu"', '"device": "cuda"'))
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    said = "run g was trained on cuda; no CUDA device here, so it runs on the CPU\n"

    code, out, err = mt(capsys, "test", "g", "--json")
    assert code == 0 and err == said
    assert json.loads(out)["mean"] == summary["test"]["mean"]
    code, _, err = mt(capsys, "cross-test", "g", "--dataset", "toy", "--episodes", "4")
    assert code == 0 and err == said
    code, _, err = mt(capsys, "export-mask", "g", "-o", str(runs.parent / "g.safetensors"))
    assert code == 0 and err == said
    code, _, err = mt(capsys, "test", "g", "--device", "cpu")
    assert code == 0 and err == ""
    code, _, err = mt(capsys, "test", "g", "--device", "cuda")
    assert code == 1 and "no CUDA device is available" in err and err.count("\n") == 1
    code, out, err = mt(capsys, "train", "--resume", "g", "--iterations", "22", "--json")
    assert code == 0 and said in err
    assert json.loads(out.strip().splitlines()[-1])["test"]["episodes"] == 10


def test_cross_test_table(capsys, runs):
    train(capsys, runs, "--run-id", "x")
    code, out, err = mt(capsys, "cross-test", "x", "--dataset", "toy", "--episodes", "6", "--json")
    assert code == 0, err
    assert json.loads(out)["toy"]["episodes"] == 6
    code, out, _ = mt(capsys, "cross-test", "x", "--dataset", "toy", "--dataset", "toy=/nowhere")
    assert code == 0 and out.count("│ toy ") == 2 and "trained on toy" in out


def test_sweep_report_and_continue(capsys, runs):
    args = ["sweep", "--config", str(runs), "--seeds", "0,1", "--grid", "inner_lr=0.3,0.5"]
    code, out, err = mt(capsys, *args, "--sweep-id", "sw", "--set", "iterations=6")
    assert code == 0, err
    run_ids = sorted(p.name for p in (runs.parent / "runs").iterdir() if p.name != "sweeps")
    assert run_ids == [f"sw-inner_lr={lr}-seed{s}" for lr in (0.3, 0.5) for s in (0, 1)]

    code, out, _ = mt(capsys, "report", "sw", "--markdown", "--plot", str(runs.parent / "r.png"))
    assert (runs.parent / "r.png").read_bytes()[:4] == b"\x89PNG"
    assert out.startswith("wrote")
    out = out[out.index("\n") + 1 :]
    lines = out.strip().splitlines()
    assert code == 0 and lines[0].startswith("| configuration | seeds |")
    assert len(lines) == 4 and "| inner_lr=0.3 | 2 |" in out and "%" in lines[2]

    code, _, err = mt(capsys, *args, "--sweep-id", "sw", "--set", "iterations=6")
    assert code == 0 and err.count("finished, kept") == 4

    shutil.rmtree(runs.parent / "runs" / "sw-inner_lr=0.5-seed1")  # as if not started yet
    code, out, err = mt(capsys, "report", "sw", "--markdown")
    assert code == 0 and "1 runs not started yet: sw-inner_lr=0.5-seed1" in err
    assert "| inner_lr=0.3 | 2 |" in out and "| inner_lr=0.5 | 1 |" in out

    code, _, err = mt(capsys, "sweep", "--config", str(runs), "--grid", "inner_lr")
    assert code == 1 and "--grid expects key=v1,v2" in err
