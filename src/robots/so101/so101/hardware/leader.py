"""The leader arm's loop (ROS-free): read it, turn its pose into the follower's command."""

from __future__ import annotations

import numpy as np

from feetech.errors import BusLostError
from sim2real_hardware.connection import Connection
from sim2real_hardware.reports import Level, Report
from so101.hardware import arm_reports
from so101.hardware.arm import ArmState, So101Arm


class Leader:
    """Reads the leader arm (torque off) for teleoperation. Its pose, clamped to the joint limits of
    the robot config (the follower's: a leader swung past them must not command, nor record as the
    action, what the follower cannot reach), is the follower's command; clamping is a WARN for
    ``clamp_report_s`` after the last clamped tick (a hand resting at a limit does not flicker).
    The bus is connected, retried and reconnected as the follower's is (core's Connection)."""

    def __init__(self, arm: So101Arm, reconnect_period_s: float, clamp_report_s: float = 1.0) -> None:
        self.arm = arm
        self.connection = Connection(lambda: arm_reports.connect(arm), self._close, reconnect_period_s)
        self.state: ArmState | None = None
        self.lower, self.upper = arm.robot.lower, arm.robot.upper
        self.clamp_report_s = clamp_report_s
        self.clamped_ticks = 0  # ticks whose command was clamped, since the start
        self._clamped: dict[str, tuple[float, float]] = {}  # joint -> (when, leader reading in rad)

    def tick(self, now: float) -> np.ndarray | None:
        """The command (rad, robot config order): the leader's pose clamped to the joint limits; None
        when the leader is not (completely) readable."""
        if not self.connection.ensure(now):
            return None
        try:
            self.state = self.arm.read()
        except BusLostError as err:
            self.connection.lost(err, now)
            return None
        if self.state.failures:
            return None
        command = np.clip(self.state.position, self.lower, self.upper)
        beyond = np.flatnonzero(command != self.state.position)
        for k in beyond:
            self._clamped[self.arm.joint_names[k]] = (now, float(self.state.position[k]))
        self.clamped_ticks += bool(beyond.size)
        return command

    def reports(self, now: float) -> list[Report]:
        reports = [self.connection.report("bus", arm_reports.bus_values(self.arm))]
        if self.connection.connected:
            reports.append(self._commands_report(now))
        return reports + [arm_reports.joint_report(self.arm, self.state, k,
                                                   arm_reports.joint_problem(self.arm, self.state, name))
                          for k, name in enumerate(self.arm.joint_names)]

    def close(self) -> None:
        """Close the bus; the leader's torque is off already and stays untouched."""
        self.connection.disconnect()

    def _close(self) -> None:
        self.state = None
        self.arm.close(torque_off=False)

    def _commands_report(self, now: float) -> Report:
        self._clamped = {n: c for n, c in self._clamped.items() if now - c[0] <= self.clamp_report_s}
        values = {"clamped_ticks": str(self.clamped_ticks)}
        failures = self.state.failures if self.state is not None else {}
        if failures:
            return Report("commands", Level.ERROR, f"servos not answering ({', '.join(sorted(failures))}): "
                                                   f"no joint_commands published", values)
        if not self._clamped:
            return Report("commands", Level.OK, "publishing the leader's pose", values)
        beyond = []
        for k, name in enumerate(self.arm.joint_names):
            if name in self._clamped:
                reading = self._clamped[name][1]
                values[f"{name}_read_rad"] = f"{reading:.4f}"
                beyond.append(f"{name} > {self.upper[k]:.4f}" if reading > self.upper[k]
                              else f"{name} < {self.lower[k]:.4f}")
        return Report("commands", Level.WARN, f"leader beyond the joint limits ({', '.join(beyond)} rad): "
                                              f"commands clamped to them", values)
