"""Expert demonstrations in the sim core, written as a LeRobot v3 dataset (no ROS), for any
registered scene whose task has a scripted expert.

Each frame is what the policy node would see and send at one control tick, laid out by the
scene's contract: ``observation.state`` (joint positions), one video per camera (uint8 RGB,
H x W, the contract's size unless given) and ``action`` (the expert's joint targets), in the
robot config's joint order. With ``environment_state`` the privileged sim state the contract
serves in sim is recorded too, as ``observation.environment_state``. The dataset's task text
and ``robot_type`` are the contract's and the robot config's.

With ``action_noise`` the sim executes the expert's targets plus Gaussian noise on the joints
of the robot config's ``arm`` group (all joints without one) while the dataset keeps the clean
targets as ``action`` (DART, Laskey et al. 2017): the demos then show how the expert gets back
from states slightly off its own path, which a cloned policy reaches through its own small errors.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from sim2real_common.contract import Contract, load_contract
from sim2real_common.registry import default_expert_scene, expert_for, scene as registered_scene
from sim2real_common.robot_config import RobotConfig, load_robot_config
from sim2real_policy.interface import Policy
from sim2real_recorder.writer import features_from_contract
from sim2real_sim.sim import Sim, SimConfig
from sim2real_sim.task import success_outcome

ENVIRONMENT_STATE = "observation.environment_state"


@dataclass(frozen=True)
class DemoSummary:
    root: Path
    seeds: list[int]  # seeds of the recorded episodes, in episode order
    skipped: list[int]  # seeds whose expert episode failed (not recorded)
    frames: int


def contract_cameras(contract: Contract) -> dict[str, tuple[int, int]]:
    """``{camera: (H, W)}`` of the contract's image features."""
    return {b.camera: tuple(b.shape[:2]) for b in contract.features.values() if b.is_image}


def dataset_features(contract: Contract, cameras: dict[str, tuple[int, int]],
                     environment_state: bool = False) -> dict[str, dict]:
    """The contract's features: state, action, ``cameras`` at their sizes, optionally the
    environment state."""
    features = features_from_contract(contract, cameras=list(cameras), include_sim_only=environment_state)
    for camera, (height, width) in cameras.items():
        features[f"observation.images.{camera}"]["shape"] = (height, width, 3)
    return {name: ft for name, ft in features.items()
            if name in ("observation.state", "action", ENVIRONMENT_STATE) or name.startswith("observation.images.")}


def noisy_joints(robot: RobotConfig) -> np.ndarray:
    """Indices of the joints DART noise perturbs: the robot config's ``arm`` group, else all."""
    arm = robot.groups.get("arm", robot.joint_names)
    return np.array([robot.joint_names.index(name) for name in arm])


def expert_episode(sim: Sim, expert: Policy, seed: int, cameras: dict[str, tuple[int, int]],
                   max_frames: int | None, environment_state: bool = False, action_noise: float = 0.0,
                   noisy: np.ndarray | None = None) -> tuple[list[dict[str, np.ndarray]], Any]:
    """Frames of one expert episode and its outcome (None when cut at ``max_frames``);
    ``action_noise``: std of the noise added to the executed targets of the ``noisy`` joints
    (indices; all joints when None)."""
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
            joints = np.arange(len(executed)) if noisy is None else noisy
            executed[joints] += noise.normal(0.0, action_noise, len(joints))
        status = sim.step(executed)
    return frames, status.outcome if status.done else None


def record_expert_demos(
    root: str | Path,
    n_episodes: int,
    seed: int = 0,
    *,
    scene: str | None = None,
    cameras: dict[str, tuple[int, int]] | None = None,
    max_frames: int | None = None,
    max_attempts: int | None = None,
    environment_state: bool = False,
    action_noise: float = 0.0,
    task: str | None = None,
    progress: Callable[[int, Any], None] | None = None,
) -> DemoSummary:
    """Record ``n_episodes`` expert episodes of ``scene`` (default: the only registered one) at
    ``root`` (must not exist) from seeds ``seed``, ``seed+1``, ...

    An episode the expert fails is skipped and the next seed tried (up to ``max_attempts`` seeds,
    default 2 * n_episodes + 5). With ``max_frames`` episodes are cut after that many frames
    and kept as they are (short prefixes for tests). ``cameras`` {name: (H, W)} defaults to the
    contract's cameras; ``cameras={}`` records no video. ``task`` defaults to the contract's text.
    ``action_noise`` > 0 records DART demos (see the module docstring).
    ``progress(seed, outcome)`` is called after
    each episode.
    """
    from lerobot.datasets.lerobot_dataset import LeRobotDataset

    if n_episodes < 1:
        raise ValueError(f"n_episodes must be >= 1, got {n_episodes}")
    if action_noise < 0:
        raise ValueError(f"action_noise must be >= 0 rad, got {action_noise}")
    scene = scene or default_expert_scene()
    owner, entry = registered_scene(scene)
    contract = load_contract(entry.contract)
    robot = load_robot_config(owner.robot_config)
    cameras = contract_cameras(contract) if cameras is None else cameras
    max_attempts = 2 * n_episodes + 5 if max_attempts is None else max_attempts
    expert = expert_for(scene)()
    sim = Sim(SimConfig(scene=scene, control_hz=contract.fps))
    success = success_outcome(type(sim.task))
    dataset = LeRobotDataset.create(
        repo_id=f"local/{scene}", fps=round(sim.config.control_hz), root=Path(root), robot_type=robot.robot_type,
        features=dataset_features(contract, cameras, environment_state), use_videos=bool(cameras))
    seeds, skipped, total = [], [], 0
    try:
        for episode_seed in range(seed, seed + max_attempts):
            if len(seeds) == n_episodes:
                break
            frames, outcome = expert_episode(sim, expert, episode_seed, cameras, max_frames, environment_state,
                                             action_noise, noisy_joints(robot))
            if progress is not None:
                progress(episode_seed, outcome)
            if outcome is not None and getattr(outcome, "value", outcome) != success:
                skipped.append(episode_seed)
                continue
            for frame in frames:
                dataset.add_frame({**frame, "task": task or contract.task})
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
