"""The std floor under near-constant dimensions and the in-memory item cache, on their own."""

from __future__ import annotations

import numpy as np
import pytest

from sim2real_trainer.item_cache import ItemCache, cacheable
from sim2real_trainer.std_floor import apply_std_floor


def test_std_floor_raises_only_near_constant_dimensions():
    stats = {
        "observation.environment_state": {
            "mean": np.array([0.2, 0.22, 0.0]), "std": np.array([0.03, 2.8e-4, 0.0]),
            "min": np.array([0.15, 0.22, 0.0]), "max": np.array([0.29, 0.22, 0.0])},
        "observation.images.cam": {"std": np.full((3, 1, 1), 0.2, dtype=np.float32)},
    }
    names = {"observation.environment_state": ["block_x", "bowl_x", "bowl_z"]}
    raised = apply_std_floor(stats, 0.01, names)
    env = stats["observation.environment_state"]
    assert raised == ["observation.environment_state[bowl_x]", "observation.environment_state[bowl_z]"]
    np.testing.assert_allclose(env["std"], [0.03, 0.01, 0.01])
    np.testing.assert_allclose(env["min"], [0.15, 0.21, -0.01])  # widened around the centre
    np.testing.assert_allclose(env["max"], [0.29, 0.23, 0.01])
    np.testing.assert_allclose(env["mean"], [0.2, 0.22, 0.0])
    assert stats["observation.images.cam"]["std"].dtype == np.float32
    np.testing.assert_allclose(stats["observation.images.cam"]["std"], 0.2)


def test_std_floor_names_dimensions_by_index_without_names():
    stats = {"action": {"std": np.array([1.0, 0.0])}}
    assert apply_std_floor(stats, 1e-3) == ["action[1]"]


class CountingItems:
    """A dataset that counts how often each item is built."""

    def __init__(self) -> None:
        self.reads: dict[int, int] = {}

    def __len__(self) -> int:
        return 3

    def __getitem__(self, index: int) -> dict:
        self.reads[index] = self.reads.get(index, 0) + 1
        return {"value": index * 10}


def test_item_cache_builds_each_item_once():
    source = CountingItems()
    items = ItemCache(source)
    assert len(items) == 3
    assert [items[i]["value"] for i in (0, 1, 0, 2, 1, 0)] == [0, 10, 0, 20, 10, 0]
    assert source.reads == {0: 1, 1: 1, 2: 1}


@pytest.mark.parametrize(("cameras", "workers", "expected"), [({}, 0, True), ({}, 2, False),
                                                              ({"overhead_cam": (96, 128)}, 0, False)])
def test_only_camera_less_in_process_datasets_are_cached(tmp_path, cameras, workers, expected):
    from lerobot.datasets.lerobot_dataset import LeRobotDataset

    from sim2real_testing.datasets import REPO_ID, make_tiny_dataset

    root = make_tiny_dataset(tmp_path / "d", n_episodes=1, n_frames=5, cameras=cameras)
    assert cacheable(LeRobotDataset(REPO_ID, root=root), workers) is expected
