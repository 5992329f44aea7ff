"""Evaluate a policy in the sim core (no ROS): N seeded episodes of a registered scene -> the
evaluator's report.

The policy is loaded with ``sim2real_policy.loaders.load_policy``, exactly as the policy node loads
it, and its actions go through the same processing as the policy node's (the robot config's
joint limits and max step per tick), so a seeded episode ends exactly as it does through
eval_sim.launch.py; the cameras it reads (``observation.images.<name>``, H x W) are rendered
at its own size. The report is ``sim2real_sim.evaluation.summarize``'s: success rate, 95% Wilson
interval, outcomes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sim2real_common.registry import default_scene, scene as registered_scene
from sim2real_common.robot_config import RobotConfig, load_robot_config
from sim2real_policy.interface import Policy
from sim2real_policy.loaders.observations import camera_name
from sim2real_sim.evaluation import summarize
from sim2real_sim.sim import Sim, SimConfig


@dataclass(frozen=True)
class SimEvalConfig:
    n_episodes: int = 10
    seed: int = 10_000  # episode k uses seed + k; far from the demo seeds (0, 1, ...)
    max_steps: int | None = None  # control ticks per episode (None: the task's own)
    device: str = "cpu"
    scene: str = ""  # a registered scene ('' = the only one)
    robot_config: str = ""  # joint limits and max step per tick, as the policy node's ('' = the scene's robot's)

    def __post_init__(self) -> None:
        if self.n_episodes < 1:
            raise ValueError(f"n_episodes must be >= 1, got {self.n_episodes}")
        if self.max_steps is not None and self.max_steps < 1:
            raise ValueError(f"max_steps must be >= 1, got {self.max_steps}")


def policy_cameras(policy: Policy) -> dict[str, tuple[int, int]]:
    """``{camera: (H, W)}`` of the images the policy reads."""
    return {camera_name(f.name): f.shape[:2] for f in policy.input_features if camera_name(f.name)}


def run_episode(sim: Sim, policy: Policy, seed: int, cameras: dict[str, tuple[int, int]],
                robot: RobotConfig) -> dict[str, Any]:
    """One episode; each action clamped as the policy node clamps it (``RobotConfig.clamp``)."""
    status = sim.reset(seed)
    policy.reset()
    while not status.done:
        observation = sim.observation(cameras)
        action = policy.select_action(observation)
        status = sim.step(robot.clamp(action, current=observation["observation.state"]))
    return status.to_dict()


EpisodeDone = Callable[[dict[str, Any]], None]  # called with each episode's status dict


def evaluate_policy(policy: Policy, config: SimEvalConfig, meta: dict[str, Any] | None = None,
                    on_episode: EpisodeDone | None = None) -> dict[str, Any]:
    scene = config.scene or default_scene()
    sim = Sim(SimConfig(scene=scene, max_steps=config.max_steps))
    robot_config = config.robot_config or registered_scene(scene)[0].robot_config
    robot = load_robot_config(robot_config)
    if list(robot.joint_names) != sim.joint_names:
        raise ValueError(f"robot config {robot_config}: joints {robot.joint_names} are not the "
                         f"scene's actuators {sim.joint_names} in order")
    try:
        cameras = policy_cameras(policy)
        episodes = []
        for k in range(config.n_episodes):
            episodes.append(run_episode(sim, policy, config.seed + k, cameras, robot))
            if on_episode is not None:
                on_episode(episodes[-1])
    finally:
        sim.close()
    return summarize(episodes, type(sim.task), meta=meta)


def evaluate_checkpoint(checkpoint: str | Path, config: SimEvalConfig,
                        on_episode: EpisodeDone | None = None) -> dict[str, Any]:
    """Load a checkpoint (or training output folder: its latest) and evaluate it."""
    from sim2real_policy.loaders import load_policy

    scene = config.scene or default_scene()
    options = {"scene": scene} if str(checkpoint) == "expert" else {"device": config.device}  # the expert has no device
    policy = load_policy(str(checkpoint), **options)
    return evaluate_policy(policy, config, meta={"policy": str(checkpoint), "scene": scene, "seed": config.seed,
                                                  "max_steps": config.max_steps}, on_episode=on_episode)
