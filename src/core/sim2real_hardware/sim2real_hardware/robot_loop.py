"""The control loop behind every robot's hardware node (ROS-free): one ``tick`` per control period
drives a RobotInterface (see robot_interface.py); what is robot-specific stays in the adapter.

| situation | what the loop does | report |
|---|---|---|
| device missing at start (connect fails) | retries every ``reconnect_period_s`` | device ERROR |
| device lost while in use (DeviceLostError) | closes it, retries every ``reconnect_period_s`` | device ERROR |
| a write failed (any other HardwareError) | tries again at the next tick | device WARN |
| no joint commands yet | holds where the robot stands | commands OK |
| joint commands silent > ``watchdog_timeout_s`` | holds the pose it had when the watchdog tripped | commands WARN |
| the robot's ``protect`` asks for a hold | holds (again from the present pose on a new fault) | the robot's |
| ``close`` (the node ends) | ``stop_safe``, then closes the device | - |

A command names joints; a joint it does not name keeps its target, and after a hold every joint
read targets the hold pose. Names the robot does not have are ignored and listed on the commands
report. A robot commanded by speed (``command="velocity"``, continuous-rotation servos) holds by
stopping: a joint never commanded, or commanded before a hold, gets speed 0.

Joints that read nothing back (``estimate``, a JointEstimate of the robot config's joints without
feedback) are reported at the positions estimated from what the loop told them: every command and
every hold goes to the estimate too.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Callable, TypeVar

from sim2real_common.errors import HardwareError
from sim2real_common.joint_estimate import JointEstimate
from sim2real_common.robot_config import COMMAND_INTERFACES
from sim2real_hardware.connection import Connection
from sim2real_hardware.errors import DeviceLostError
from sim2real_hardware.reports import Level, Report
from sim2real_hardware.robot_interface import Hold, JointReading, RobotInterface
from sim2real_hardware.watchdog import CommandWatchdog

T = TypeVar("T")


@dataclass(frozen=True)
class LoopConfig:
    control_hz: float  # tick rate: the node's timer (an adapter may scale its per-tick limits to it)
    watchdog_timeout_s: float = 0.5  # joint commands silent this long -> hold
    reconnect_period_s: float = 2.0  # retry period while the device is missing
    device_report: str = "device"  # name of the device's status report ("bus" for a servo bus)
    command: str = "position"  # what joint commands carry: positions or speeds (robot config ``command``)

    def __post_init__(self) -> None:
        if not self.control_hz > 0:
            raise ValueError(f"control_hz: expected > 0, got {self.control_hz}")
        if self.command not in COMMAND_INTERFACES:
            raise ValueError(f"command: expected one of {COMMAND_INTERFACES}, got {self.command!r}")


class RobotLoop:
    """Follows joint commands safely through ``robot`` (see the module docstring)."""

    def __init__(self, robot: RobotInterface, config: LoopConfig, estimate: JointEstimate | None = None) -> None:
        self.robot, self.config, self.estimate = robot, config, estimate
        self.names = frozenset(robot.joint_names)
        self.connection = Connection(self._connect, robot.close, config.reconnect_period_s)
        self.watchdog = CommandWatchdog(config.watchdog_timeout_s)
        self.unknown_joints: set[str] = set()
        self.write_problem = ""  # a write that did not go out (the next tick tries again)
        self.reset()

    @property
    def connected(self) -> bool:
        return self.connection.connected

    def reset(self) -> None:
        """Forget the targets: the next tick starts from where the robot stands (holds, or follows
        from there)."""
        self.targets: dict[str, float] = {}
        self._holding = False
        self._robot_hold: Hold | None = None  # what the robot's protect() said at the last tick

    def command(self, targets: Mapping[str, float], now: float) -> None:
        """A joint command: positions (or speeds) by joint name."""
        for name, position in targets.items():
            if name in self.names:
                self.targets[name] = float(position)
            else:
                self.unknown_joints.add(name)
        self.watchdog.feed(now)

    def tick(self, now: float) -> JointReading | None:
        """Connect when due, read, then hold or follow; returns the reading (None: there is none)."""
        if not self.connection.ensure(now):
            return None
        try:
            reading = self._with_estimates(self.robot.read(now), now)
        except DeviceLostError as err:
            self.connection.lost(err, now)
            return None
        try:
            self._act(reading, now)
            self.write_problem = ""
        except DeviceLostError as err:
            self.connection.lost(err, now)
        except HardwareError as err:
            self.write_problem = str(err)
        return reading

    def operate(self, action: Callable[[], T]) -> T:
        """Run ``action`` on the robot between ticks (a service request that changes what the robot
        does, e.g. switching torque): refused while not connected; afterwards the loop starts
        from where the robot stands."""
        if not self.connected:
            raise HardwareError(f"not connected: {self.connection.problem}")
        result = action()
        self.reset()
        return result

    def reports(self, now: float) -> list[Report]:
        """The device report, the commands report (while connected), then the robot's own."""
        reports = [self.connection.report(self.config.device_report, dict(self.robot.device_values),
                                          self.write_problem)]
        if self.connected:
            reports.append(self._commands_report(now))
        return reports + self.robot.reports(now)

    def close(self) -> None:
        """The node ends: stop the robot safely, then close the device (nothing when not connected)."""
        self.connection.disconnect(stop=self.robot.stop_safe)

    def _connect(self) -> str:
        status = self.robot.connect()
        self.reset()
        return status

    def _with_estimates(self, reading: JointReading, now: float) -> JointReading:
        if self.estimate is None:
            return reading
        estimated = self.estimate.positions(now)
        position = {name: estimated[name] if name in estimated else reading.position[name]
                    for name in self.robot.joint_names if name in estimated or name in reading.position}
        return JointReading(position=position, velocity={} if estimated else reading.velocity)

    def _act(self, reading: JointReading, now: float) -> None:
        self._robot_hold = self.robot.protect(now)
        hold = self._robot_hold or self._watchdog_hold(now)
        by_speed = self.config.command == "velocity"
        if hold is None:
            self._holding = False
            rest = dict.fromkeys(reading.position, 0.0) if by_speed else reading.position
            values = {**rest, **self.targets}
            self.robot.command(values)
            if self.estimate is not None:
                self.estimate.command(values, now)
        elif not self._holding or hold.renew:
            self.robot.hold()
            if self.estimate is not None:
                self.estimate.stop(now)
            if by_speed:
                self.targets.clear()
            else:
                self.targets.update(reading.position)
            self._holding = True

    def _watchdog_hold(self, now: float) -> Hold | None:
        silence = self.watchdog.silence(now)
        if silence is None:
            return Hold(Level.OK, "holding position: no joint_commands yet")
        if self.watchdog.expired(now):
            return Hold(Level.WARN, f"no joint_commands for {silence:.1f} s (timeout {self.watchdog.timeout_s:g} s): "
                                    f"holding position")
        return None

    def _commands_report(self, now: float) -> Report:
        hold = self._robot_hold or self._watchdog_hold(now)
        values = {"watchdog_timeout_s": f"{self.watchdog.timeout_s:g}"}
        if self.unknown_joints:
            values["ignored_joint_names"] = ", ".join(sorted(self.unknown_joints))
        if hold is None:
            return Report("commands", Level.OK, "following joint_commands", values)
        return Report("commands", hold.level, hold.message, values)
