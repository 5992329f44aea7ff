"""Tiny LeRobot datasets for tests (LeRobot 0.4.4, CPU, no downloads).

``make_tiny_dataset`` records a real LeRobot v3 dataset (parquet + video) with
``LeRobotDataset.create / add_frame / save_episode / finalize``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

JOINT_NAMES = ("shoulder_pan", "shoulder_lift", "elbow_flex", "wrist_flex", "wrist_roll", "gripper")
TASK = "Pick up the red block and place it in the bowl."
REPO_ID = "so101/tiny"


def dataset_features(cameras: dict[str, tuple[int, int]]) -> dict[str, dict]:
    """LeRobot feature spec: SO-101 joint positions and targets, one video per camera (H, W)."""
    joints = {"dtype": "float32", "shape": (len(JOINT_NAMES),), "names": list(JOINT_NAMES)}
    features = {"observation.state": dict(joints), "action": dict(joints)}
    for camera, (height, width) in cameras.items():
        features[f"observation.images.{camera}"] = {
            "dtype": "video",
            "shape": (height, width, 3),
            "names": ["height", "width", "channels"],
        }
    return features


def _frame_image(height: int, width: int, phase: float, camera_index: int) -> np.ndarray:
    """A bright square sliding across a dark background: cheap to encode, differs per frame."""
    image = np.full((height, width, 3), 30 + 20 * camera_index, dtype=np.uint8)
    size = max(4, min(height, width) // 4)
    row = int((height - size) * (0.5 + 0.4 * np.sin(phase)))
    col = int((width - size) * (0.5 + 0.4 * np.cos(phase)))
    image[row : row + size, col : col + size] = (220, 60 + 40 * camera_index, 40)
    return image


def make_tiny_dataset(
    root: str | Path,
    *,
    n_episodes: int = 2,
    n_frames: int = 20,
    cameras: dict[str, tuple[int, int]] | None = None,
    fps: int = 30,
    task: str = TASK,
    seed: int = 0,
) -> Path:
    """Write a LeRobot v3 dataset at ``root`` (must not exist) and return ``root``.

    Joint trajectories are smooth sinusoids around zero (rad); the action at frame t is the
    state at t + 1, like position targets a follower reaches one tick later.
    """
    from lerobot.datasets.lerobot_dataset import LeRobotDataset

    cameras = {"overhead_cam": (96, 128)} if cameras is None else cameras
    root = Path(root)
    rng = np.random.default_rng(seed)
    dataset = LeRobotDataset.create(
        repo_id=REPO_ID,
        fps=fps,
        features=dataset_features(cameras),
        root=root,
        robot_type="so101",
        use_videos=True,
    )
    for _ in range(n_episodes):
        amplitude = rng.uniform(0.2, 0.8, len(JOINT_NAMES))
        offset = rng.uniform(-0.3, 0.3, len(JOINT_NAMES))
        t = np.arange(n_frames + 1) / fps
        states = (offset + amplitude * np.sin(2 * np.pi * 0.5 * t[:, None] + np.arange(len(JOINT_NAMES)))).astype(
            np.float32
        )
        for i in range(n_frames):
            frame = {"observation.state": states[i], "action": states[i + 1], "task": task}
            for k, (camera, (height, width)) in enumerate(cameras.items()):
                frame[f"observation.images.{camera}"] = _frame_image(height, width, 2 * np.pi * t[i], k)
            dataset.add_frame(frame)
        dataset.save_episode(parallel_encoding=False)
    dataset.finalize()
    return root
