"""Reach task of the toy arm (the ``sim2real_sim.task`` protocol): a target marker placed from
the episode seed; the episode is ``reached`` once the fingertip has stayed within ``tolerance``
of it for ``hold_ticks`` ticks, ``timeout`` when ``max_steps`` run out first."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import mujoco
import numpy as np

from sim2real_sim.task import EpisodeStatus

REACHED, TIMEOUT = "reached", "timeout"


@dataclass(frozen=True)
class ReachConfig:
    radius: tuple[float, float] = (0.15, 0.32)  # m from the shoulder axis (links: 0.20 + 0.15)
    angle: tuple[float, float] = (-1.0, 1.0)  # rad about z, 0 = straight ahead (+x)
    tolerance: float = 0.015  # m, fingertip to target centre
    hold_ticks: int = 3
    max_steps: int = 60


@dataclass
class ReachStatus(EpisodeStatus):
    distance: float | None = None  # m, fingertip to target after the last tick
    min_distance: float | None = None  # m, closest so far this episode


class ReachTask:
    OUTCOMES = (REACHED, TIMEOUT)
    objects = ("target",)

    def __init__(self, model: mujoco.MjModel, max_steps: int | None = None, config: ReachConfig | None = None) -> None:
        config = config or ReachConfig()
        self.config = config if max_steps is None else replace(config, max_steps=max_steps)
        self._mocap = int(model.body("target").mocapid[0])
        self._height = float(model.body("target").pos[2])
        self._tip = model.site("tip").id
        self._status = ReachStatus()
        self._held = 0

    @property
    def status(self) -> ReachStatus:
        return self._status

    def randomize(self, data: mujoco.MjData, rng: np.random.Generator) -> None:
        radius, angle = rng.uniform(*self.config.radius), rng.uniform(*self.config.angle)
        data.mocap_pos[self._mocap] = (radius * np.cos(angle), radius * np.sin(angle), self._height)

    def reset_monitor(self, episode: int, seed: int | None) -> ReachStatus:
        self._status = ReachStatus(episode=episode, seed=seed)
        self._held = 0
        return self._status

    def update_monitor(self, data: mujoco.MjData) -> ReachStatus:
        s, c = self._status, self.config
        s.steps += 1
        s.distance = float(np.linalg.norm(data.site_xpos[self._tip] - data.mocap_pos[self._mocap]))
        s.min_distance = s.distance if s.min_distance is None else min(s.min_distance, s.distance)
        self._held = self._held + 1 if s.distance < c.tolerance else 0
        if self._held >= c.hold_ticks:
            s.done, s.outcome = True, REACHED
        elif s.steps >= c.max_steps:
            s.done, s.outcome = True, TIMEOUT
        return s

    def environment_state(self, data: mujoco.MjData) -> np.ndarray:
        """Target xyz (the contract's ``observation.environment_state``)."""
        return data.mocap_pos[self._mocap].copy()

    @staticmethod
    def report_metrics(episodes: list[dict[str, Any]]) -> dict[str, Any]:
        closest = [e["min_distance"] for e in episodes]
        return {"avg_min_distance": sum(closest) / len(closest) if closest else None}
