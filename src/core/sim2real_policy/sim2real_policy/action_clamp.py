"""Clamp a policy action to the robot, joint by joint and by name (no ROS here).

The action's joints (the contract's ``action.joints``) need not be the state's
(``observation.state.joints``), nor in robot-config order: each action joint is clipped to its own
limits from the robot config, then to within its max step of its current position, read by name
from the latest state. A joint the state lacks (commanded only) gets its limits alone.

A robot commanded by velocity (robot config ``command: velocity``) has each action joint clipped to
the speed that covers its max step in one control period, both ways.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from sim2real_common.robot_config import RobotConfig
from sim2real_policy.errors import PolicyError


@dataclass(frozen=True)
class ActionClamp:
    joints: tuple[str, ...]  # action joints, in action order
    lower: np.ndarray
    upper: np.ndarray
    max_step: np.ndarray
    state_index: np.ndarray  # index in the state vector of each tracked action joint
    tracked: np.ndarray  # bool per action joint: the state carries it

    @classmethod
    def for_joints(cls, robot: RobotConfig, action_joints: Sequence[str],
                   state_joints: Sequence[str] = ()) -> ActionClamp:
        specs = {j.name: j for j in robot.joints}
        unknown = [j for j in action_joints if j not in specs]
        if unknown:
            raise PolicyError(f"action joints {unknown} are not joints of robot config {robot.robot_type}; "
                              f"its joints: {robot.joint_names}")
        state = list(state_joints)
        chosen = [specs[j] for j in action_joints]
        if robot.command == "velocity":
            speed = np.array([j.max_step * robot.control_hz for j in chosen])
            return cls(joints=tuple(action_joints), lower=-speed, upper=speed, max_step=speed,
                       state_index=np.zeros(0, dtype=int), tracked=np.zeros(len(chosen), dtype=bool))
        return cls(
            joints=tuple(action_joints),
            lower=np.array([j.lower for j in chosen]),
            upper=np.array([j.upper for j in chosen]),
            max_step=np.array([j.max_step for j in chosen]),
            state_index=np.array([state.index(j) for j in action_joints if j in state], dtype=int),
            tracked=np.array([j in state for j in action_joints], dtype=bool),
        )

    def __call__(self, action: np.ndarray, state: np.ndarray | None = None) -> np.ndarray:
        """Targets for ``action`` (one value per action joint); ``state`` in state-joint order,
        None before any state arrived (limits only)."""
        target = np.asarray(action, dtype=float)
        if target.shape != (len(self.joints),):
            raise PolicyError(f"action: expected {len(self.joints)} values (joints {list(self.joints)}), "
                              f"found shape {target.shape}")
        target = np.clip(target, self.lower, self.upper)
        if state is not None:
            current = np.asarray(state, dtype=float)[self.state_index]
            step = self.max_step[self.tracked]
            target[self.tracked] = np.clip(target[self.tracked], current - step, current + step)
        return target
