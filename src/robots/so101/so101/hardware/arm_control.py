"""The SO-101 follower arm as a robot of core's control loop (``sim2real_hardware.robot_loop``): the
loop reconnects, runs the command watchdog, holds or follows and stops safely at the end; this
adapter adds what is Feetech's and the SO-101's (stall guard, servo error bits, torque per joint,
calibration, the ~/torque service's operation).

Follower safety, as specified (and tested through the emulator; "loop" rows are core's):

| situation | what the follower does | report |
|---|---|---|
| no joint_commands yet (loop) | holds where it stands, torque on | OK |
| joint_commands silent > watchdog timeout (loop) | holds the pose it had when the watchdog tripped | WARN |
| a joint strains (load/current over threshold) for ``time_s`` | that goal backs off to the stop + margin | WARN |
| ... and still strains ``release_s`` later | that joint's torque off, the others hold | ERROR |
| overload / over-current / overheat / angle-sensor error bits | that joint's torque off, the others hold | ERROR |
| input-voltage error bit | all hold (torque stays on) while the bit is set | ERROR |
| servos not answering (no reply, bad checksum, missing id) | no new goals: every servo keeps its last one | ERROR |
| port gone (loop) | close it, retry every ``reconnect_period_s`` | ERROR |
| shutdown (loop: SIGINT, node destroyed) | torque off on every servo | - |

Released joints stay off until torque is switched back on (``set_torque(True)``, the node's
``~/torque`` service), which starts from a hold at the present pose.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np

from feetech.errors import BusLostError
from feetech.protocol import ErrorBit, describe_error
from sim2real_common.errors import HardwareError
from sim2real_hardware.errors import DeviceLostError
from sim2real_hardware.reports import Level, Report
from sim2real_hardware.robot_interface import Hold, JointReading
from so101.hardware import arm_reports
from so101.hardware.arm import ArmState, So101Arm
from so101.hardware.safety import Stall, StallConfig, StallGuard

UNLOADING_ERRORS = ErrorBit.OVERLOAD | ErrorBit.OVERCURRENT | ErrorBit.OVERHEAT | ErrorBit.ANGLE_SENSOR


@dataclass(frozen=True)
class FollowerConfig:
    control_hz: float  # the loop's tick rate; max_step of config/so101.yaml is scaled to keep its speed
    stall: StallConfig

    def __post_init__(self) -> None:
        if not self.control_hz > 0:
            raise ValueError(f"control_hz: expected > 0, got {self.control_hz}")


@contextmanager
def _bus_lost_is_device_lost() -> Iterator[None]:
    """The loop reconnects on DeviceLostError; the message stays the driver's."""
    try:
        yield
    except BusLostError as err:
        raise DeviceLostError(str(err)) from err


class Follower:
    """A ``sim2real_hardware.robot_interface.RobotInterface`` (see the module docstring)."""

    def __init__(self, arm: So101Arm, config: FollowerConfig) -> None:
        self.arm, self.config = arm, config
        self.joint_names = arm.joint_names
        self.device_values = arm_reports.bus_values(arm)
        self.stall = StallGuard(config.stall, self.joint_names)
        self.max_step = arm.robot.max_step * arm.robot.control_hz / config.control_hz
        self.state: ArmState | None = None  # the last read; None while not connected
        self._reset()

    def _reset(self) -> None:
        self.sent = np.full(len(self.joint_names), np.nan)  # rad: the goals of the last hold or command
        self.released: dict[str, str] = {}  # joint -> why its torque is off
        self.torque_off_requested = False
        self._fresh_fault = False  # a joint lost torque since the last hold: hold the others anew
        self.stall.reset()

    # -- RobotInterface ------------------------------------------------------------------------
    def connect(self) -> str:
        status = arm_reports.connect(self.arm)
        self._reset()
        return status

    def close(self) -> None:
        self.state = None
        self.arm.close(torque_off=False)

    def stop_safe(self) -> None:
        self.arm.torque_off()

    def read(self, now: float) -> JointReading:
        with _bus_lost_is_device_lost():
            self.state = state = self.arm.read()
        read = [k for k, name in enumerate(self.joint_names) if name in state.readings]
        return JointReading(position={self.joint_names[k]: float(state.position[k]) for k in read},
                            velocity={self.joint_names[k]: float(state.velocity[k]) for k in read})

    def protect(self, now: float) -> Hold | None:
        self._fresh_fault |= bool(self._new_faults(self.state, now))
        with _bus_lost_is_device_lost():
            self._enforce_releases(self.state)
        return self._hold_reason()

    def command(self, targets: Mapping[str, float]) -> None:
        goal = np.array([targets[name] for name in self.joint_names])
        with _bus_lost_is_device_lost():
            self.sent = self.arm.send(self.stall.limit(goal), self.state.position, self.max_step)

    def hold(self) -> None:
        with _bus_lost_is_device_lost():
            self.arm.hold(self.state, [n for n in self.joint_names if n not in self.released])
        self.sent = self.state.position.copy()
        self._fresh_fault = False

    def reports(self, now: float) -> list[Report]:
        return [arm_reports.joint_report(self.arm, self.state, k, self._joint_problem(name))
                for k, name in enumerate(self.joint_names)]

    # -- the ~/torque service (through RobotLoop.operate) ------------------------------------------
    def set_torque(self, enabled: bool) -> str:
        """On = clear releases and hold the present pose with torque; off = limp (joint_states go on)."""
        if enabled:
            state = self.arm.read()
            if state.failures:
                raise HardwareError(f"cannot switch torque on: servos not answering ({state.failures})")
            self._reset()
            self.arm.hold(state)
            self.arm.set_torque(True)
            return "torque on, holding the present pose"
        self.arm.set_torque(False)
        self.torque_off_requested = True
        return "torque off"

    # -- faults ----------------------------------------------------------------------------------
    def _new_faults(self, state: ArmState, now: float) -> list[str]:
        """Joints that must lose torque now: unloading error bits, or a stall that did not ease."""
        fresh = []
        for name, bits in state.errors().items():
            if bits & UNLOADING_ERRORS and name not in self.released:
                self.released[name] = f"servo reports {describe_error(bits)} error: torque released"
                fresh.append(name)
        current = np.array([state.readings[n].current_ma if n in state.readings else np.nan
                            for n in self.joint_names])
        for name, stall in self.stall.update(now, state.position, state.load, current, self.sent):
            if stall is Stall.RELEASED and name not in self.released:
                self.released[name] = (f"still straining {self.config.stall.release_s:g} s after backing off: "
                                       f"torque released")
                fresh.append(name)
        return fresh

    def _enforce_releases(self, state: ArmState) -> None:
        """Torque off for released joints that still report torque on (also retries a lost write)."""
        on = [n for n in self.released if n in state.readings and state.readings[n].torque_enabled]
        if on:
            self.arm.set_torque(False, on)

    def _hold_reason(self) -> Hold | None:
        state = self.state
        if self.torque_off_requested:
            return Hold(Level.WARN, "torque off on request (~/torque false)", self._fresh_fault)
        if state.failures:
            return Hold(Level.ERROR, f"servos not answering ({', '.join(sorted(state.failures))}): no new goals",
                        self._fresh_fault)
        voltage = [n for n, bits in state.errors().items() if bits & ErrorBit.VOLTAGE]
        if voltage:
            return Hold(Level.ERROR, f"input voltage error on {', '.join(voltage)}: holding position",
                        self._fresh_fault)
        if self.released:
            return Hold(Level.ERROR, f"{', '.join(self.released)} released: holding the other joints until "
                                     f"torque is switched back on (~/torque true)", self._fresh_fault)
        return None

    def _joint_problem(self, name: str) -> arm_reports.Problem | None:
        if self.state is not None and name in self.released:
            return Level.ERROR, self.released[name]
        problem = arm_reports.joint_problem(self.arm, self.state, name)
        if problem is None and self.stall.state(name) is Stall.BACKED_OFF:
            return Level.WARN, (f"straining for {self.config.stall.time_s:g} s: goal backed off to where it "
                                f"stopped + {self.config.stall.hold_margin:g} rad")
        return problem
