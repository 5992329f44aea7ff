"""Gymnasium env of the toy reach task (registered as ``ToyReach-v0`` through ``sim2real.envs``):
the sim core stepped at the robot's control rate; observation = joint positions + target xyz,
action = joint target changes in units of the max step per tick, reward = -distance to the target."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

from sim2real_common.robot_config import load_robot_config
from sim2real_sim.sim import Sim, SimConfig

SCENE = "toy_reach"


class ReachEnv(gym.Env):
    metadata = {"render_modes": []}

    def __init__(self, max_steps: int | None = None) -> None:
        self.robot = load_robot_config("toy_arm.yaml")
        self.sim = Sim(SimConfig(scene=SCENE, max_steps=max_steps))  # at the robot config's control rate
        n = len(self.robot.joints)
        self.action_space = gym.spaces.Box(-1.0, 1.0, (n,), np.float32)
        self.observation_space = gym.spaces.Box(-np.inf, np.inf, (n + 3,), np.float32)

    def _observation(self) -> np.ndarray:
        return np.concatenate([self.sim.joint_positions(), self.sim.environment_state()]).astype(np.float32)

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        super().reset(seed=seed)
        self.sim.reset(int(self.np_random.integers(2**31)))
        return self._observation(), {}

    def step(self, action: np.ndarray):
        current = self.sim.joint_positions()
        target = self.robot.clamp(current + np.asarray(action, dtype=float) * self.robot.max_step, current)
        status = self.sim.step(target)
        terminated = bool(status.done and status.outcome == "reached")
        truncated = bool(status.done and not terminated)
        info = {"outcome": status.to_dict()["outcome"] or "", "distance": status.distance}
        return self._observation(), -float(status.distance), terminated, truncated, info

    def close(self) -> None:
        self.sim.close()
