"""Joint positions of a robot that reads nothing back (PWM servos): estimated from what each joint
was told. Its hardware node publishes these as ``joint_states``, and so does the sim bridge (the
truth goes to ``ground_truth/joint_states``), so a policy sees in sim what it will see on the robot;
the contract marks them estimated.

A speed command is integrated from a known start pose (the robot config's home, where the robot is
put before it is switched on); a position command is followed at the joint's top speed. Either
way the estimate stays inside the joint limits, as the mechanism does. ROS-free.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from sim2real_common.robot_config import COMMAND_INTERFACES, RobotConfig


class JointEstimate:
    def __init__(self, robot: RobotConfig, joints: Sequence[str] | None = None) -> None:
        if robot.command not in COMMAND_INTERFACES:
            raise ValueError(f"command: expected one of {COMMAND_INTERFACES}, found {robot.command!r}")
        self.command_interface = robot.command
        names = list(joints) if joints is not None else robot.joint_names
        specs = {j.name: j for j in robot.joints}
        self.names = names
        self._lower = np.array([specs[n].lower for n in names])
        self._upper = np.array([specs[n].upper for n in names])
        self._top_speed = np.array([specs[n].max_step * robot.control_hz for n in names])
        home = dict(zip(robot.joint_names, robot.home))
        self._start = np.array([home[n] for n in names])
        self.reset(None)

    def reset(self, now: float | None) -> None:
        """Back at the start pose, standing still (the robot was just put there)."""
        self._position = self._start.copy()
        self._speed = np.zeros(len(self.names))
        self._target = self._start.copy()
        self._time = now

    def command(self, values: Mapping[str, float], now: float) -> None:
        """What the joints were told at ``now``: speeds or positions (the robot's command interface);
        joints not named keep their last command."""
        self.advance(now)
        for i, name in enumerate(self.names):
            if name in values:
                if self.command_interface == "velocity":
                    self._speed[i] = np.clip(values[name], -self._top_speed[i], self._top_speed[i])
                else:
                    self._target[i] = np.clip(values[name], self._lower[i], self._upper[i])

    def stop(self, now: float) -> None:
        """Every joint told to stop where it is."""
        self.advance(now)
        self._speed[:] = 0.0
        self._target = self._position.copy()

    def advance(self, now: float) -> None:
        if self._time is not None and now > self._time:
            dt = now - self._time
            if self.command_interface == "velocity":
                step = self._speed * dt
            else:
                step = np.clip(self._target - self._position, -self._top_speed * dt, self._top_speed * dt)
            self._position = np.clip(self._position + step, self._lower, self._upper)
        self._time = now if self._time is None else max(self._time, now)

    def positions(self, now: float) -> dict[str, float]:
        self.advance(now)
        return dict(zip(self.names, self._position.tolist()))
