"""What RobotLoop needs of a robot (ROS-free): the protocol a robot's hardware adapter implements,
and the values that cross it. Joints are addressed by name, in the units of the robot config
(rad, m)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from sim2real_hardware.reports import Level, Report


@dataclass(frozen=True)
class JointReading:
    """One read of the robot: the joints that answered, in the robot's joint order."""

    position: dict[str, float]
    velocity: dict[str, float] = field(default_factory=dict)  # the same joints, or empty: not measured


@dataclass(frozen=True)
class Hold:
    """Why the robot holds instead of following: the commands report while it does."""

    level: Level
    message: str
    renew: bool = False  # a new fault this tick: hold again from the present pose, though already holding


class RobotInterface(Protocol):
    """A robot's hardware as RobotLoop drives it, one tick per control period: ``read``, ``protect``,
    then ``hold`` (on entering a hold) or ``command``. Methods that talk to the device raise
    ``sim2real_hardware.errors.DeviceLostError`` when it went away (the loop closes it and
    reconnects every reconnect period); any other HardwareError of ``protect``/``command``/``hold``
    is a failed write (reported, retried next tick). What "safe" means is the robot's: torque off,
    stay where it is, leave servo mode."""

    joint_names: Sequence[str]
    device_values: Mapping[str, str]  # the device report's values: port, address, calibration file

    def connect(self) -> str:
        """Open the device and make it hold where it stands; returns the device report's message
        while it stays up (``connected, 6 servos``). Raises HardwareError when it cannot (retried)."""

    def close(self) -> None:
        """Release the device (port, socket) without touching the robot: also called once it is lost."""

    def stop_safe(self) -> None:
        """Make the robot safe before a deliberate close (the node ends)."""

    def read(self, now: float) -> JointReading:
        """The present joint state (a robot without feedback: what it was last told)."""

    def protect(self, now: float) -> Hold | None:
        """React to the faults of the last read (switching off what must go off); why the robot must
        hold now, or None: free to follow."""

    def command(self, targets: Mapping[str, float]) -> None:
        """Go toward ``targets`` within the robot's own limits; a joint that was not commanded
        targets its last hold pose or, never held, where it was read."""

    def hold(self) -> None:
        """Stay at the pose of the last read."""

    def reports(self, now: float) -> list[Report]:
        """The robot's own status reports (per joint, per servo), after the loop's device and commands."""
