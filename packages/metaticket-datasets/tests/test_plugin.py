"""Registration through the real plugin, and the ``mt list`` / ``mt preview`` commands."""

import pytest
from PIL import Image

from metaticket_core import ConfigError, list_datasets
from metaticket_core.app.cli import main

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
