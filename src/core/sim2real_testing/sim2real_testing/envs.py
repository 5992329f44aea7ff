"""Toy Gymnasium env on the sim core, for tiny RL policies in tests."""

from __future__ import annotations

import gymnasium as gym
import numpy as np

from sim2real_testing.datasets import JOINT_NAMES

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
