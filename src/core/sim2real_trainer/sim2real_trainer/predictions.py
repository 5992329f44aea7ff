"""Run a policy over recorded episodes: its action for every frame next to the recorded one.

The policy is served exactly as the policy node serves it (``load_policy``: the checkpoint's own
processors). For each analysed frame the policy state is reset first, so the prediction is the
first action of a fresh inference from that frame's observation, comparable frame by frame.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from sim2real_policy.interface import Policy
from sim2real_policy.loaders.observations import is_image
from sim2real_trainer.errors import DatasetError
from sim2real_trainer.local_dataset import LocalDataset


@dataclass(frozen=True)
class Predictions:
    episodes: list[int]  # analysed episodes, in array order
    starts: list[int]  # row of each episode's first frame
    ground_truth: np.ndarray  # (frames, action_dim) recorded actions
    predicted: np.ndarray  # (frames, action_dim)


def _observation(item: dict, features: list[str]) -> dict[str, np.ndarray]:
    """A dataset item (float CHW images in [0, 1]) as the node serves it (uint8 HWC images)."""
    obs = {}
    for name in features:
        value = item[name].numpy()
        if is_image(name):
            value = np.clip(np.rint(np.transpose(value, (1, 2, 0)) * 255), 0, 255).astype(np.uint8)
        obs[name] = value
    return obs


def predict_episodes(policy: Policy, dataset: LocalDataset, episodes: list[int], *, stride: int = 1,
                     progress: Callable[[int], None] | None = None) -> Predictions:
    """Predictions for every ``stride``-th frame of ``episodes``; ``progress(n)`` after n frames."""
    from lerobot.datasets.lerobot_dataset import LeRobotDataset

    features = [f.name for f in policy.input_features]
    missing = [name for name in features if name not in dataset.info["features"]]
    if missing:
        raise DatasetError(f"the policy reads {', '.join(missing)}, which {dataset.root} does not record")
    frames = LeRobotDataset(dataset.repo_id, root=dataset.root, episodes=sorted(episodes))
    ground_truth, predicted, order = [], [], []
    for index in range(0, len(frames), stride):
        item = frames[index]
        policy.reset()
        predicted.append(policy.select_action(_observation(item, features)))
        ground_truth.append(item["action"].numpy())
        order.append(int(item["episode_index"]))
        if progress is not None:
            progress(len(order))
    order_array = np.array(order)
    starts = np.flatnonzero(np.r_[True, order_array[1:] != order_array[:-1]])
    return Predictions([order[s] for s in starts], starts.tolist(),
                       np.array(ground_truth, dtype=np.float64), np.array(predicted, dtype=np.float64))
