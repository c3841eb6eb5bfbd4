"""Evaluation episode i of a split is drawn from a seed of its own (issue 26): a rank draws its
share of the episodes alone, and the ranks' shares score exactly what one process does."""

from __future__ import annotations

import pytest

from metaticket_core import load_config
from metaticket_core.api.presets import preset
from metaticket_core.engine.evaluation import episode_scores
from metaticket_core.engine.trainer import build


@pytest.mark.parametrize("name", ["demo", "sinusoid-maml"])
def test_ranks_draw_only_their_episodes_and_score_what_one_process_does(
    name, cache_dir, monkeypatch
):
    monkeypatch.setenv("MT_CACHE_DIR", str(cache_dir))
    x = build(load_config(None, overrides={"iterations": 1}, preset=preset(name)))
    drawn, draw = [], x.dataset.episode

    def counted(split, **shape):
        drawn.append(shape["seed"])
        return draw(split, **shape)

    monkeypatch.setattr(x.dataset, "episode", counted)
    one = episode_scores(x.learner, x.dataset, x.config, "test", 5, x.device)
    seeds = drawn[:]
    drawn.clear()
    ranks = [
        episode_scores(x.learner, x.dataset, x.config, "test", 5, x.device, share=(r, 2))
        for r in (0, 1)
    ]
    assert len(set(seeds)) == 5 and drawn == seeds[0::2] + seeds[1::2]
    assert [ranks[i % 2][i // 2] for i in range(5)] == one
