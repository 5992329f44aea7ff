"""Expert demonstrations in the sim core, written as a LeRobot v3 dataset (no ROS).

Each frame is what the policy node would see and send at one 30 Hz tick: ``observation.state``
(joint positions, rad), one video per camera (uint8 RGB, H x W) and ``action`` (the scripted
expert's joint targets, rad), all in the sim's joint order. With ``environment_state`` the
privileged sim state the contract serves in sim (block xyz, block quat wxyz, bowl xyz) is
recorded too, as ``observation.environment_state`` (10,).

With ``action_noise`` the sim executes the expert's targets plus Gaussian noise on the arm
joints while the dataset keeps the clean targets as ``action`` (DART, Laskey et al. 2017): the
demos then show how the expert gets back from states slightly off its own path, which a cloned
policy reaches through its own small errors.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from so101_policy.expert import GRIPPER, PickPlaceExpert
from so101_sim.sim import Sim
from so101_sim.tasks.monitor import Outcome

DEFAULT_CAMERAS: dict[str, tuple[int, int]] = {"overhead_cam": (96, 128), "wrist_cam": (96, 128)}
TASK = "Pick up the red block and place it in the bowl."
REPO_ID = "so101/sim_pick_place"
ENVIRONMENT_STATE = "observation.environment_state"
ENVIRONMENT_STATE_NAMES = ["block_x", "block_y", "block_z", "block_qw", "block_qx", "block_qy", "block_qz",
                           "bowl_x", "bowl_y", "bowl_z"]


@dataclass(frozen=True)
class DemoSummary:
    root: Path
    seeds: list[int]  # seeds of the recorded episodes, in episode order
    skipped: list[int]  # seeds whose expert episode failed (not recorded)
    frames: int


def dataset_features(joint_names: list[str], cameras: dict[str, tuple[int, int]],
                     environment_state: bool = False) -> dict[str, dict]:
    joints = {"dtype": "float32", "shape": (len(joint_names),), "names": list(joint_names)}
    features = {"observation.state": dict(joints), "action": dict(joints)}
    if environment_state:
        features[ENVIRONMENT_STATE] = {"dtype": "float32", "shape": (len(ENVIRONMENT_STATE_NAMES),),
                                       "names": list(ENVIRONMENT_STATE_NAMES)}
    for camera, (height, width) in cameras.items():
        features[f"observation.images.{camera}"] = {
            "dtype": "video", "shape": (height, width, 3), "names": ["height", "width", "channels"]}
    return features


def expert_episode(sim: Sim, expert: PickPlaceExpert, seed: int, cameras: dict[str, tuple[int, int]],
                   max_frames: int | None, environment_state: bool = False, action_noise: float = 0.0
                   ) -> tuple[list[dict[str, np.ndarray]], Outcome | None]:
    """Frames of one expert episode and its outcome (None when cut at ``max_frames``);
    ``action_noise``: std (rad) of the noise added to the executed arm-joint targets."""
    status = sim.reset(seed)
    expert.reset()
    noise = np.random.default_rng(seed)
    frames = []
    while not status.done and (max_frames is None or len(frames) < max_frames):
        observation = sim.observation(cameras)
        action = expert.select_action(observation)
        frame = {"observation.state": observation["observation.state"].astype(np.float32),
                 "action": action.astype(np.float32)}
        if environment_state:
            frame[ENVIRONMENT_STATE] = observation[ENVIRONMENT_STATE].astype(np.float32)
        frame.update({f"observation.images.{c}": observation[f"observation.images.{c}"] for c in cameras})
        frames.append(frame)
        executed = action.copy()
        if action_noise > 0:
            executed[:GRIPPER] += noise.normal(0.0, action_noise, GRIPPER)  # the arm joints, not the gripper
        status = sim.step(executed)
    return frames, status.outcome if status.done else None


def record_expert_demos(
    root: str | Path,
    n_episodes: int,
    seed: int = 0,
    *,
    cameras: dict[str, tuple[int, int]] | None = None,
    max_frames: int | None = None,
    max_attempts: int | None = None,
    environment_state: bool = False,
    action_noise: float = 0.0,
    task: str = TASK,
    progress: Callable[[int, Outcome | None], None] | None = None,
) -> DemoSummary:
    """Record ``n_episodes`` expert episodes at ``root`` (must not exist) from seeds ``seed``, ``seed+1``, ...

    An episode the expert fails is skipped and the next seed tried (up to ``max_attempts`` seeds,
    default 2 * n_episodes + 5). With ``max_frames`` episodes are cut after that many frames
    and kept as they are (short prefixes for tests). ``cameras={}`` records no video.
    ``action_noise`` > 0 records DART demos (see the module docstring).
    ``progress(seed, outcome)`` is called after
    each episode.
    """
    from lerobot.datasets.lerobot_dataset import LeRobotDataset

    if n_episodes < 1:
        raise ValueError(f"n_episodes must be >= 1, got {n_episodes}")
    if action_noise < 0:
        raise ValueError(f"action_noise must be >= 0 rad, got {action_noise}")
    cameras = DEFAULT_CAMERAS if cameras is None else cameras
    max_attempts = 2 * n_episodes + 5 if max_attempts is None else max_attempts
    sim, expert = Sim(), PickPlaceExpert()
    dataset = LeRobotDataset.create(
        repo_id=REPO_ID, fps=round(sim.config.control_hz), root=Path(root), robot_type="so101",
        features=dataset_features(sim.joint_names, cameras, environment_state), use_videos=bool(cameras))
    seeds, skipped, total = [], [], 0
    try:
        for episode_seed in range(seed, seed + max_attempts):
            if len(seeds) == n_episodes:
                break
            frames, outcome = expert_episode(sim, expert, episode_seed, cameras, max_frames, environment_state,
                                             action_noise)
            if progress is not None:
                progress(episode_seed, outcome)
            if outcome not in (Outcome.SUCCESS, None):
                skipped.append(episode_seed)
                continue
            for frame in frames:
                dataset.add_frame({**frame, "task": task})
            dataset.save_episode(parallel_encoding=False)
            seeds.append(episode_seed)
            total += len(frames)
    finally:
        dataset.finalize()
        sim.close()
    if len(seeds) < n_episodes:
        raise RuntimeError(f"the expert succeeded in {len(seeds)} of {max_attempts} episodes "
                           f"(seeds {seed}..{seed + max_attempts - 1}); {n_episodes} were asked for")
    return DemoSummary(Path(root), seeds, skipped, total)
