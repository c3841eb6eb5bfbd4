from dataclasses import replace

import pytest
import torch

from metaticket_core import DataError, EpisodeShape, RunConfig, Task
from metaticket_core.api.tasks import class_labels, out_features


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


def test_labels_of_a_shape_are_made_once_per_device():
    """Tasks holding ``class_labels`` share one label tensor per device: moving a task copies
    no labels (the meta device stands in for a GPU)."""
    a = Task(torch.zeros(6, 2), class_labels(3, 2), torch.zeros(3, 2), class_labels(3, 1))
    b = replace(a, support_x=torch.ones(6, 2))
    on_a, on_b = a.to("meta"), b.to("meta")
    assert on_a.support_y is on_b.support_y and on_a.query_y is on_b.query_y
    assert on_a.support_y.device.type == "meta" and on_a.support_y.shape == (6,)
    assert class_labels(3, 2).tolist() == [0, 0, 1, 1, 2, 2]


def test_a_dataset_s_own_labels_move_with_each_task():
    own = torch.tensor([0.5, -1.0])
    task = Task(torch.zeros(2, 1), own, torch.zeros(2, 1), own)
    assert task.to("meta").support_y is not task.to("meta").support_y
    assert torch.equal(task.to("cpu").query_y, own)
