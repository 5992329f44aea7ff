"""Stall guard of the follower, free of ROS and of the bus (the command watchdog is core's:
sim2real_hardware.watchdog)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import Enum

import numpy as np


@dataclass(frozen=True)
class StallConfig:
    load: tuple[float, ...]  # per joint: |Present_Load| (fraction of max torque) that counts as straining
    current_ma: tuple[float, ...]  # per joint: Present_Current (mA) that counts as straining
    time_s: float = 0.5  # straining this long -> back the goal off to the present position
    hold_margin: float = 0.02  # rad the backed-off goal stays beyond the present position (keeps a grip)
    release_s: float = 1.0  # still straining this long after backing off -> release the torque

    def __post_init__(self) -> None:
        if len(self.load) != len(self.current_ma):
            raise ValueError(f"stall thresholds: {len(self.load)} load values but {len(self.current_ma)} "
                             f"current values; give one of each per joint")
        if not all(0 < v <= 1 for v in self.load):
            raise ValueError(f"stall load thresholds: expected fractions in (0, 1], got {list(self.load)}")
        if not all(v > 0 for v in self.current_ma):
            raise ValueError(f"stall current thresholds: expected > 0 mA, got {list(self.current_ma)}")
        if self.time_s < 0 or self.release_s < 0 or self.hold_margin < 0:
            raise ValueError("stall time_s, release_s and hold_margin must be >= 0")


class Stall(Enum):
    FREE = "free"
    BACKED_OFF = "backed off"  # goal capped just beyond where the joint stopped
    RELEASED = "released"  # still straining after backing off: torque must go off


@dataclass
class _Joint:
    state: Stall = Stall.FREE
    straining_since: float | None = None
    backed_off_at: float = 0.0
    cap: float = math.nan
    direction: float = 0.0


class StallGuard:
    """Per joint: sustained high load or current backs the goal off, then releases the joint.

    A backed-off joint keeps its goal at ``cap`` = where it stopped + ``hold_margin`` toward the
    obstacle (a gripper keeps holding the block, gently) until a command retreats past where it
    stopped; if it keeps straining for ``release_s`` anyway it is RELEASED until ``reset``.
    """

    def __init__(self, config: StallConfig, joint_names: list[str]) -> None:
        if len(config.load) != len(joint_names):
            raise ValueError(f"stall thresholds: expected {len(joint_names)} values (one per joint "
                             f"{joint_names}), got {len(config.load)}")
        self.config = config
        self.joint_names = list(joint_names)
        self._joints = [_Joint() for _ in joint_names]

    def state(self, joint: str) -> Stall:
        return self._joints[self.joint_names.index(joint)].state

    def update(self, now: float, present: np.ndarray, load: np.ndarray, current_ma: np.ndarray,
               goal: np.ndarray) -> list[tuple[str, Stall]]:
        """Feed one reading (NaN = joint not read); returns the joints whose state changed."""
        changes = []
        for k, joint in enumerate(self._joints):
            if math.isnan(present[k]) or joint.state is Stall.RELEASED:
                continue
            straining = abs(load[k]) >= self.config.load[k] or current_ma[k] >= self.config.current_ma[k]
            if not straining:
                joint.straining_since = None
                continue
            if joint.straining_since is None:
                joint.straining_since = now
            if joint.state is Stall.FREE and now - joint.straining_since >= self.config.time_s:
                push = goal[k] - present[k] if not math.isnan(goal[k]) else 0.0
                joint.direction = float(np.sign(push) or np.sign(load[k]) or 1.0)
                joint.cap = present[k] + joint.direction * self.config.hold_margin
                joint.state, joint.backed_off_at = Stall.BACKED_OFF, now
                changes.append((self.joint_names[k], joint.state))
            elif (joint.state is Stall.BACKED_OFF
                  and now - max(joint.straining_since, joint.backed_off_at) >= self.config.release_s):
                joint.state = Stall.RELEASED
                changes.append((self.joint_names[k], joint.state))
        return changes

    def limit(self, targets: np.ndarray) -> np.ndarray:
        """Cap the targets of backed-off joints; a target retreating past the stop frees the joint."""
        targets = np.array(targets, dtype=float)
        for k, joint in enumerate(self._joints):
            if joint.state is not Stall.BACKED_OFF:
                continue
            beyond = (targets[k] - joint.cap) * joint.direction
            if beyond > 0:
                targets[k] = joint.cap
            elif beyond < -self.config.hold_margin:
                self._joints[k] = _Joint()
        return targets

    def reset(self) -> None:
        self._joints = [_Joint() for _ in self.joint_names]
