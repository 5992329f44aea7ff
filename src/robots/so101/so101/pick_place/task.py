"""SO-101 pick-place: seeded block placement, the monitor, and the figures of its report
(the task protocol of ``sim2real_sim.task``)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import mujoco
import numpy as np

from so101.pick_place.monitor import FAILURE_CLASSES, MonitorConfig, Outcome, PickPlaceMonitor, PickPlaceStatus


@dataclass(frozen=True)
class PickPlaceConfig:
    block_x: tuple[float, float] = (0.16, 0.28)  # m, in front of the base
    block_y: tuple[float, float] = (0.03, 0.15)  # m, left of the arm (bowl is on the right)
    block_yaw: tuple[float, float] = (-np.pi / 4, np.pi / 4)  # rad
    monitor: MonitorConfig = MonitorConfig()


class PickPlaceTask:
    """Binds the task to a compiled model: randomizes the block and feeds the monitor."""

    OUTCOMES = (Outcome.SUCCESS.value, *(o.value for o in FAILURE_CLASSES))
    EPISODE_COLUMNS = ("max_height",)
    objects = ("block", "bowl")

    def __init__(self, model: mujoco.MjModel, max_steps: int | None = None,
                 config: PickPlaceConfig | None = None) -> None:
        config = config or PickPlaceConfig()
        if max_steps is not None:
            config = replace(config, monitor=replace(config.monitor, max_steps=max_steps))
        self.config = config
        self._block_body = model.body("block").id
        joint = model.joint("block_joint")
        self._qpos = int(joint.qposadr[0])
        self._qvel = int(joint.dofadr[0])
        bowl_xy = model.body("bowl").pos[:2].copy()
        self.monitor = PickPlaceMonitor(self.config.monitor, bowl_xy)

    def randomize(self, data: mujoco.MjData, rng: np.random.Generator) -> None:
        c = self.config
        yaw = rng.uniform(*c.block_yaw)
        data.qpos[self._qpos : self._qpos + 3] = (
            rng.uniform(*c.block_x),
            rng.uniform(*c.block_y),
            c.monitor.table_z + c.monitor.block_half_size,
        )
        data.qpos[self._qpos + 3 : self._qpos + 7] = (np.cos(yaw / 2), 0.0, 0.0, np.sin(yaw / 2))
        data.qvel[self._qvel : self._qvel + 6] = 0.0

    def block_position(self, data: mujoco.MjData) -> np.ndarray:
        return data.qpos[self._qpos : self._qpos + 3].copy()

    def block_speed(self, data: mujoco.MjData) -> float:
        return float(np.linalg.norm(data.qvel[self._qvel : self._qvel + 3]))

    def set_block_pose(self, data: mujoco.MjData, pos, quat=(1.0, 0.0, 0.0, 0.0)) -> None:
        """Teleport the block (used by tests and scripted scenarios)."""
        data.qpos[self._qpos : self._qpos + 3] = pos
        data.qpos[self._qpos + 3 : self._qpos + 7] = quat
        data.qvel[self._qvel : self._qvel + 6] = 0.0

    @property
    def status(self) -> PickPlaceStatus:
        return self.monitor.status

    def reset_monitor(self, episode: int, seed: int | None) -> PickPlaceStatus:
        return self.monitor.reset(episode, seed)

    def update_monitor(self, data: mujoco.MjData) -> PickPlaceStatus:
        return self.monitor.update(self.block_position(data), self.block_speed(data))

    def environment_state(self, data: mujoco.MjData) -> np.ndarray:
        """Block xyz, block quaternion wxyz, bowl xyz (the contract's environment_state)."""
        block, bowl = data.body("block"), data.body("bowl")
        return np.concatenate([block.xpos, block.xquat, bowl.xpos]).copy()

    @staticmethod
    def report_metrics(episodes: list[dict[str, Any]]) -> dict[str, Any]:
        """Pick rate, drop rate (of the episodes that picked the block), mean highest lift."""
        n = len(episodes)
        picked = sum(1 for e in episodes if e.get("picked"))
        dropped = sum(1 for e in episodes if e["outcome"] == Outcome.DROPPED_DURING_TRANSPORT.value)
        heights = [e["max_height"] for e in episodes]
        return {"pick_rate": picked / n if n else 0.0, "drop_rate": dropped / picked if picked else 0.0,
                "avg_max_height": sum(heights) / len(heights) if heights else None}
