"""Continuous-rotation hobby servos between the commanded speeds and the MuJoCo actuators, for a
batch of envs at once (arrays of shape (n_envs, n_joints)): a stop-point deadband, a speed gain
that differs per servo, and a command latency in control ticks, each drawn per episode."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class ServoConfig:
    deadband: tuple[float, float] = (0.0, 0.0)  # rad/s, drawn per servo
    gain: tuple[float, float] = (1.0, 1.0)  # drawn per servo
    latency_ticks: tuple[int, int] = (0, 0)  # drawn per env, inclusive

    def __post_init__(self) -> None:
        for name in ("deadband", "gain", "latency_ticks"):
            low, high = getattr(self, name)
            if not 0 <= low <= high:
                raise ValueError(f"servos.{name}: expected 0 <= low <= high, found [{low}, {high}]")


class ServoBank:
    def __init__(self, config: ServoConfig, n_envs: int, n_joints: int, speed_limit: np.ndarray) -> None:
        self.config, self.speed_limit = config, np.asarray(speed_limit, dtype=float)
        self.deadband = np.zeros((n_envs, n_joints))
        self.gain = np.ones((n_envs, n_joints))
        self.latency = np.zeros(n_envs, dtype=int)
        self._queue = np.zeros((n_envs, config.latency_ticks[1] + 1, n_joints))  # [:, k]: sent k ticks ago

    def randomize(self, rng: np.random.Generator, envs: np.ndarray | slice = slice(None)) -> None:
        """New servos for ``envs`` (a new episode): drawn imperfections, nothing in flight."""
        c, shape = self.config, self.gain[envs].shape
        self.deadband[envs] = rng.uniform(*c.deadband, size=shape)
        self.gain[envs] = rng.uniform(*c.gain, size=shape)
        self.latency[envs] = rng.integers(c.latency_ticks[0], c.latency_ticks[1] + 1, size=shape[0])
        self._queue[envs] = 0.0

    def actuate(self, commanded: np.ndarray) -> np.ndarray:
        """One control tick: the commands of each env (n_envs, n_joints) -> actuator speeds."""
        self._queue = np.roll(self._queue, 1, axis=1)
        self._queue[:, 0] = commanded
        acting = self._queue[np.arange(len(self.latency)), self.latency]
        speed = np.where(np.abs(acting) < self.deadband, 0.0, acting * self.gain)
        return np.clip(speed, -self.speed_limit, self.speed_limit)
