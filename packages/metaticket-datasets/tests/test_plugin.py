"""Registration through the real plugin, and the ``mt list`` / ``mt preview`` commands."""

import inspect
import json
import re
import subprocess
import sys
import types
from pathlib import Path

import pytest
from PIL import Image

from metaticket_core import ConfigError, DataError, datasets, list_datasets
from metaticket_core.app.cli import main
from metaticket_core.app.testing import registered_plugin
from metaticket_datasets.specs import SPECS

NAMES = [
    "aircraft", "cars", "cifar-fs", "cub", "fc100", "glyphs", "miniimagenet", "omniglot",
    "sinusoid", "tieredimagenet", "tiny-imagenet", "vgg-flower",
]  # fmt: skip


def run(capsys, *argv):
    with pytest.raises(SystemExit) as info:
        main(list(argv))
    out, err = capsys.readouterr()
    return info.value.code or 0, out, err


def test_registered_with_details(registry):
    assert list_datasets() == NAMES
    for name in NAMES:
        entry = registry.get(name)
        assert entry.plugin == "datasets" and entry.description
        assert entry.info["formats"] and entry.info["split"]


def test_factories_take_their_options_by_keyword_with_the_specs_defaults(registry):
    for name, spec in SPECS.items():
        parameters = inspect.signature(registry.get(name).factory).parameters
        options = {n: p.default for n, p in parameters.items() if p.kind is p.KEYWORD_ONLY}
        assert options == {"cache_dir": None, **{n: o.default for n, o in spec.options.items()}}
        assert {n: o.default for n, o in registry.get(name).options.items()} == {
            n: o.default for n, o in spec.options.items()
        }
    assert registry.get("aircraft").options["size"].default == 32
    assert "32x32" in registry.get("aircraft").description


def test_describe(tmp_path, build, omniglot_root):
    for name, root in [("omniglot", omniglot_root), ("glyphs", None), ("sinusoid", None)]:
        facts = build(
            name, root, tmp_path, **({"classes": 12, "examples": 2} if name == "glyphs" else {})
        )
        assert facts.describe()["split"] and facts.describe()["source"]


def test_generated_datasets_take_no_unknown_options(tmp_path, build):
    with pytest.raises(
        ConfigError, match=r"Unknown option 'amplitude' for dataset 'sinusoid'. It takes no options"
    ):
        build("sinusoid", None, tmp_path, amplitude=2)


def test_mt_list_datasets(capsys):
    code, out, _ = run(capsys, "list", "datasets", "--verbose")
    assert code == 0 and all(name in out for name in NAMES)
    assert all(word in out for word in ("MetaOptNet", "torchmeta", "learn2learn", "Ravi"))


def test_mt_preview_side_by_side(capsys, tmp_path, glyph_cache, omniglot_root):
    output = tmp_path / "out" / "preview.png"
    code, out, err = run(
        capsys, "preview", "glyphs", f"omniglot={omniglot_root}", "--classes", "3",
        "--examples", "4", "--cache-dir", str(glyph_cache), "-o", str(output),
    )  # fmt: skip
    assert code == 0, err
    assert "Saved" in out
    with Image.open(output) as image:
        assert image.mode == "L" and image.width > 2 * 4 * 28 * 2 and image.height > 3 * 28 * 2


def test_mt_preview_errors(capsys, tmp_path):
    code, _, err = run(capsys, "preview", "sinusoid", "-o", str(tmp_path / "x.png"))
    assert code == 1 and "no images to show" in err
    code, _, err = run(capsys, "preview", "omniglot", "-o", str(tmp_path / "x.png"))
    assert code == 1 and "--data-root is required" in err
    code, _, err = run(capsys, "preview", "omniglott", "-o", str(tmp_path / "x.png"))
    assert code == 1 and "Did you mean 'omniglot'?" in err
    assert not (tmp_path / "x.png").exists()


def test_mt_preview_replaces_only_a_regular_file_and_only_with_force(capsys, tmp_path):
    link, kept = tmp_path / "link.png", tmp_path / "kept.png"
    kept.write_text("someone's file")
    link.symlink_to(kept)
    for output, message in ((kept, "exists; pass --force"), (link, "is a symbolic link")):
        code, _, err = run(capsys, "preview", "glyphs", "-o", str(output))
        assert code == 1 and message in err
    code, _, err = run(capsys, "preview", "glyphs", "-o", str(link), "--force")
    assert code == 1 and "is a symbolic link" in err
    assert link.is_symlink() and kept.read_text() == "someone's file"


# the docs' dataset tables are the specs ---------------------------------------------------------
DOCS = Path(__file__).resolve().parents[3] / "docs"


def table(doc: str, header: str) -> dict[str, str]:
    """The rows, by dataset name, of the table in ``docs/<doc>`` headed ``header``."""
    blocks = (DOCS / doc).read_text(encoding="utf-8").split("\n\n")
    (block,) = [b for b in blocks if b.startswith(header + "\n")]
    return {row.split("`")[1]: row for row in block.splitlines()[2:]}


def test_the_docs_tables_are_the_specs():
    rows = table("DATASETS.md", "| name | description | `--data-root` | classes train / val / test | options (defaults) |")  # fmt: skip
    assert list(rows) == list(SPECS)
    for spec in SPECS.values():
        options = ", ".join(f"`{n}={json.dumps(o.default)}`" for n, o in spec.options.items())
        assert rows[spec.name] == (f"| `{spec.name}` | {spec.summary} | {spec.data_root} | "
                                   f"{spec.classes} | {options or 'none'} |")  # fmt: skip
    rows = table("FORMATS.md", "| name | size | classes train / val / test | split without `split_file` |")  # fmt: skip
    assert "aircraft" in rows
    for name, row in rows.items():
        spec = SPECS[name]
        assert row == f"| `{name}` | {spec.size}x{spec.size} | {spec.classes} | {spec.split} |"


def test_specs_need_neither_numpy_nor_torch():
    """mt lists and checks datasets without importing what their loaders need."""
    code = "import sys, metaticket_datasets.specs; import json; print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))"
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert not {"numpy", "PIL", "torch", "metaticket_core"} & set(json.loads(loaded.stdout))


# the guide's image dataset, a spec and a reader -------------------------------------------------
def copy_me(name: str) -> str:
    guide = (DOCS / "PLUGINS.md").read_text(encoding="utf-8")
    match = re.search(rf"<!-- copy-me: {re.escape(name)} -->\n```python\n(.*?)```", guide, re.S)
    assert match, f"docs/PLUGINS.md lost its copy-me block {name}"
    return match.group(1)


def test_the_guides_image_dataset_works_as_written(monkeypatch, tmp_path, natural):
    package = types.ModuleType("my_plugin")
    package.__path__ = []
    monkeypatch.setitem(sys.modules, "my_plugin", package)
    for name, block in (
        ("birds", "my_plugin/birds.py"),
        ("plugin", "my_plugin/plugin.py (datasets)"),
    ):
        module = types.ModuleType(f"my_plugin.{name}")
        exec(compile(copy_me(block), block, "exec"), vars(module))
        monkeypatch.setitem(sys.modules, module.__name__, module)
    species = ["finch", "robin", "wren", "owl"]
    for k, name in enumerate(species):
        for i in range(3):
            natural.save(tmp_path / "birds" / name / f"{i}.jpg", k, 50)
    split = natural.write_json(tmp_path / "split.json", {"train": species[:2], "val": ["wren"],
                                                         "test": ["owl"]})  # fmt: skip
    with registered_plugin(sys.modules["my_plugin.plugin"], "myplugin"):
        factory = datasets().get("my-birds").factory
        with pytest.raises(DataError, match=r"my-birds: .* carries no class split.*a json"):
            factory(tmp_path / "birds", cache_dir=tmp_path / "cache")
        ds = factory(tmp_path / "birds", cache_dir=tmp_path / "cache", split_file=split, size=16)
    natural.check(ds, (2, 1, 1), (3, 16, 16), {n: natural.red(k) for k, n in enumerate(species)})
