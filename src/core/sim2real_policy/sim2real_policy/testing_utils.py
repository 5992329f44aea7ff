"""Tiny LeRobot datasets and ACT checkpoints for tests (LeRobot 0.4.4, CPU, no downloads).

``make_tiny_dataset`` records a real LeRobot v3 dataset (parquet + video) with
``LeRobotDataset.create / add_frame / save_episode / finalize``; ``train_tiny_act`` trains ACT on
it for a few steps through LeRobot's own training entry point (``lerobot_train.train``), so the
checkpoint layout, config and saved pre/post processors are exactly what ``lerobot-train`` writes.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import gymnasium as gym
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


def train_tiny_act(
    dataset_root: str | Path,
    output_dir: str | Path,
    *,
    steps: int = 3,
    chunk_size: int = 10,
    n_action_steps: int = 10,
    dim_model: int = 64,
    dim_feedforward: int = 128,
    n_heads: int = 2,
    n_encoder_layers: int = 1,
    n_decoder_layers: int = 1,
    vision_backbone: str = "resnet18",
    batch_size: int = 4,
    seed: int = 0,
) -> Path:
    """Train ACT for ``steps`` on CPU with ``lerobot_train.train``; return the pretrained_model dir.

    ``output_dir`` must not exist (lerobot-train refuses to overwrite). The backbone starts from
    random weights (``pretrained_backbone_weights=None``): nothing is downloaded.
    """
    from lerobot.configs.default import DatasetConfig
    from lerobot.configs.train import TrainPipelineConfig
    from lerobot.policies.act.configuration_act import ACTConfig
    from lerobot.scripts.lerobot_train import train
    from lerobot.utils.constants import CHECKPOINTS_DIR, LAST_CHECKPOINT_LINK, PRETRAINED_MODEL_DIR

    policy = ACTConfig(
        device="cpu",
        push_to_hub=False,
        chunk_size=chunk_size,
        n_action_steps=n_action_steps,
        dim_model=dim_model,
        dim_feedforward=dim_feedforward,
        n_heads=n_heads,
        n_encoder_layers=n_encoder_layers,
        n_decoder_layers=n_decoder_layers,
        vision_backbone=vision_backbone,
        pretrained_backbone_weights=None,
    )
    config = TrainPipelineConfig(
        dataset=DatasetConfig(repo_id=REPO_ID, root=str(dataset_root), video_backend="torchcodec"),
        policy=policy,
        output_dir=Path(output_dir),
        seed=seed,
        num_workers=0,
        batch_size=batch_size,
        steps=steps,
        save_freq=steps,
        eval_freq=0,
        log_freq=0,
    )
    with _root_logging_preserved():
        train(config)
    return Path(output_dir) / CHECKPOINTS_DIR / LAST_CHECKPOINT_LINK / PRETRAINED_MODEL_DIR


@contextmanager
def _root_logging_preserved() -> Iterator[None]:
    """lerobot_train.train() replaces the root logger's handlers (init_logging); put them back."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        yield
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)


PAN_STEP = 0.05  # rad per unit action of the tiny PPO
LAYOUT = {
    "observation": [{"feature": "observation.state", "dims": len(JOINT_NAMES)}],
    "action": {"mode": "delta", "joints": [0], "scale": PAN_STEP},
}


class PanReachEnv(gym.Env):
    """Gymnasium env on the sim core. Observation: the SO-101 joint positions. Action: a
    shoulder_pan target delta (x PAN_STEP rad); other joints hold. Reward: pan close to GOAL."""

    GOAL = 0.4
    observation_space = gym.spaces.Box(-np.pi, np.pi, (len(JOINT_NAMES),), np.float32)
    action_space = gym.spaces.Box(-1.0, 1.0, (1,), np.float32)

    def __init__(self, horizon: int = 32) -> None:
        from sim2real_sim.sim import Sim, SimConfig

        self.sim = Sim(SimConfig(scene="so101_pick_place"))
        self.horizon = horizon
        self._t = 0

    def _obs(self) -> np.ndarray:
        return self.sim.joint_positions().astype(np.float32)

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        self.sim.reset(seed)
        self._t = 0
        return self._obs(), {}

    def step(self, action):
        targets = self.sim.joint_positions()
        targets[0] += PAN_STEP * float(action[0])
        self.sim.step(targets)
        self._t += 1
        obs = self._obs()
        return obs, -abs(float(obs[0]) - self.GOAL), False, self._t >= self.horizon, {}


def train_tiny_ppo(path: Path, *, steps: int = 256, sidecar: bool = True):
    """A tiny PPO on the pan-reach env, saved to ``path`` (.zip); with ``sidecar`` also the
    layout YAML next to it so ``load_policy(path)`` needs no options. Returns (path, model)."""
    import yaml
    from stable_baselines3 import PPO

    model = PPO("MlpPolicy", PanReachEnv(), n_steps=128, batch_size=64, n_epochs=2, seed=0,
                device="cpu", policy_kwargs={"net_arch": [16]})
    model.learn(total_timesteps=steps)
    path.parent.mkdir(parents=True, exist_ok=True)
    model.save(path)
    if sidecar:
        path.with_suffix(".yaml").write_text(yaml.safe_dump(LAYOUT))
    return path, model
