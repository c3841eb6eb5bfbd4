import pytest

from metaticket_core import DataError, EpisodeShape, RunConfig
from metaticket_core.api.tasks import out_features


def test_episode_shape_rules():
    assert RunConfig(ways=3, shots=2, queries=4).episode == EpisodeShape(3, 2, 4)
    EpisodeShape(1, 1, 0)  # one class without queries: a preview's row
    with pytest.raises(DataError, match="ways >= 1, shots >= 1 and queries >= 0; got ways=2, s"):
        EpisodeShape(2, 0, 1)
    EpisodeShape(5, 1, 1).check_classes(5, "x")
    with pytest.raises(DataError, match=r"^toy val has 4 classes \(2 x 2\); 5-way tasks need at"):
        EpisodeShape(5, 1, 1).check_classes(4, "toy val", " (2 x 2)")


def test_out_features_follow_the_task_type():
    assert out_features("classification", 5) == 5
    assert out_features("regression", 5) == 1
