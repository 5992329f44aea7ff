"""The control loops of the hardware nodes, free of ROS: one ``tick`` per control period.

Follower safety, as specified (and tested through the emulator):

| situation | what the follower does | report |
|---|---|---|
| no joint_commands yet | holds where it stands, torque on | OK |
| joint_commands silent > watchdog timeout | holds the pose it had when the watchdog tripped | WARN |
| a joint strains (load/current over threshold) for ``time_s`` | that goal backs off to the stop + margin | WARN |
| ... and still strains ``release_s`` later | that joint's torque off, the others hold | ERROR |
| overload / over-current / overheat / angle-sensor error bits | that joint's torque off, the others hold | ERROR |
| input-voltage error bit | all hold (torque stays on) while the bit is set | ERROR |
| servos not answering (no reply, bad checksum, missing id) | no new goals: every servo keeps its last one | ERROR |
| port gone | close it, retry every ``reconnect_period_s`` | ERROR |
| shutdown (SIGINT, node destroyed) | torque off on every servo | - |

Released joints stay off until torque is switched back on (``set_torque(True)``, the node's
``~/torque`` service), which starts from a hold at the present pose.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from so101_common.robot_config import RobotConfig
from so101_hardware.errors import BusLostError, HardwareError
from so101_hardware.feetech_protocol import ErrorBit, describe_error
from so101_hardware.reports import Level, Report
from so101_hardware.safety import CommandWatchdog, Stall, StallConfig, StallGuard
from so101_hardware.so101_arm import ArmState, So101Arm

UNLOADING_ERRORS = ErrorBit.OVERLOAD | ErrorBit.OVERCURRENT | ErrorBit.OVERHEAT | ErrorBit.ANGLE_SENSOR


class _ArmLoop:
    """Connection handling shared by follower and leader: connect, retry, notice a lost port."""

    def __init__(self, arm: So101Arm, reconnect_period_s: float) -> None:
        if not reconnect_period_s > 0:
            raise ValueError(f"reconnect period: expected > 0 s, got {reconnect_period_s}")
        self.arm = arm
        self.reconnect_period_s = reconnect_period_s
        self.connected = False
        self.state: ArmState | None = None
        self._bus_problem = "not connected yet"
        self._bus_note = ""
        self._write_problem = ""  # a write that did not go out (the next tick tries again)
        self._next_attempt = -math.inf

    def _connect(self, now: float) -> bool:
        if self.connected:
            return True
        if now < self._next_attempt:
            return False
        try:
            rewritten = self.arm.connect()
        except HardwareError as err:
            self._bus_problem = f"{err} (retrying every {self.reconnect_period_s:g} s)"
            self._next_attempt = now + self.reconnect_period_s
            return False
        self.connected, self._bus_problem = True, ""
        self._bus_note = " (servo calibration registers rewritten from the file)" if rewritten else ""
        self._on_connected()
        return True

    def _on_connected(self) -> None:
        """Hook: reset per-connection state."""

    def _lost(self, err: BusLostError, now: float) -> None:
        self.arm.bus.close()
        self.connected, self.state = False, None
        self._bus_problem = f"{err} (retrying every {self.reconnect_period_s:g} s)"
        self._next_attempt = now + self.reconnect_period_s

    def _read(self, now: float) -> ArmState | None:
        if not self._connect(now):
            return None
        try:
            self.state = self.arm.read()
        except BusLostError as err:
            self._lost(err, now)
            return None
        return self.state

    def _bus_report(self) -> Report:
        cfg = self.arm.config
        values = {"port": cfg.port, "baudrate": str(cfg.baudrate), "calibration": str(self.arm.calibration_file)}
        if not self.connected:
            return Report("bus", Level.ERROR, self._bus_problem, values)
        if self._write_problem:
            return Report("bus", Level.WARN, f"last write failed: {self._write_problem}", values)
        return Report("bus", Level.OK, f"connected, {len(cfg.ids)} servos{self._bus_note}", values)

    def _joint_report(self, k: int, problem: tuple[Level, str] | None) -> Report:
        name, servo_id = self.arm.joint_names[k], self.arm.config.ids[k]
        values = {}
        reading = self.state.readings.get(name) if self.state else None
        if reading is not None:
            values = {"position_rad": f"{self.state.position[k]:.4f}", "position_steps": str(reading.position),
                      "goal_steps": str(reading.goal), "load_percent": f"{reading.load * 100:.1f}",
                      "current_ma": f"{reading.current_ma:.0f}", "voltage_v": f"{reading.voltage:.1f}",
                      "temperature_c": str(reading.temperature), "torque": "on" if reading.torque_enabled else "off",
                      "error_bits": str(reading.error | reading.status)}
        level, message = problem or (Level.OK, "ok")
        return Report(f"joint {name} (id {servo_id})", level, message, values)

    def _joint_problem(self, name: str) -> tuple[Level, str] | None:
        if not self.connected or self.state is None:
            return Level.ERROR, "not connected"
        if name in self.state.failures:
            return Level.ERROR, f"{self.state.failures[name]} from servo id {self.arm.bus.motors[name]}"
        bits = self.state.errors().get(name, 0)
        if bits:
            return Level.ERROR, f"servo reports {describe_error(bits)} error"
        return None

    def close(self, torque_off: bool = True) -> None:
        if self.connected:
            self.connected = False
            self.arm.close(torque_off=torque_off)


@dataclass(frozen=True)
class FollowerConfig:
    control_hz: float  # tick rate; max_step of config/so101.yaml is scaled to keep its speed
    stall: StallConfig
    watchdog_timeout_s: float = 0.5
    reconnect_period_s: float = 2.0

    def __post_init__(self) -> None:
        if not self.control_hz > 0:
            raise ValueError(f"control_hz: expected > 0, got {self.control_hz}")


class Follower(_ArmLoop):
    """Follows joint position commands safely (see the module docstring)."""

    def __init__(self, arm: So101Arm, robot: RobotConfig, config: FollowerConfig) -> None:
        super().__init__(arm, config.reconnect_period_s)
        self.robot, self.config = robot, config
        self.names = robot.joint_names
        self.watchdog = CommandWatchdog(config.watchdog_timeout_s)
        self.stall = StallGuard(config.stall, self.names)
        self.max_step = robot.max_step * robot.control_hz / config.control_hz
        self.unknown_joints: set[str] = set()
        self._on_connected()

    def _on_connected(self) -> None:
        self.targets = np.full(len(self.names), np.nan)  # rad; NaN = not commanded since the last hold
        self.sent = np.full(len(self.names), np.nan)
        self.released: dict[str, str] = {}  # joint -> why its torque is off
        self.holding = False
        self.torque_off_requested = False
        self.stall.reset()

    def command(self, names: list[str], positions: list[float], now: float) -> None:
        """A joint_commands message: joints by name; joints it does not name keep their target."""
        for name, position in zip(names, positions):
            if name in self.names:
                self.targets[self.names.index(name)] = position
            else:
                self.unknown_joints.add(name)
        self.watchdog.feed(now)

    def tick(self, now: float) -> ArmState | None:
        state = self._read(now)
        if state is None:
            return None
        try:
            if self._new_faults(state, now):
                self.holding = False  # hold the other joints from the pose of this tick
            self._enforce_releases(state)
            if self._hold_reason(now)[1]:
                if not self.holding:
                    self.arm.hold(state, [n for n in self.names if n not in self.released])
                    valid = ~np.isnan(state.position)
                    self.targets[valid] = state.position[valid]
                    self.sent = state.position.copy()
                    self.holding = True
            else:
                self.holding = False
                targets = np.where(np.isnan(self.targets), state.position, self.targets)
                self.sent = self.arm.send(self.stall.limit(targets), state.position, self.max_step)
            self._write_problem = ""
        except BusLostError as err:
            self._lost(err, now)
        except HardwareError as err:
            self._write_problem = str(err)
        return state

    def _new_faults(self, state: ArmState, now: float) -> list[str]:
        """Joints that must lose torque now: unloading error bits, or a stall that did not ease."""
        fresh = []
        for name, bits in state.errors().items():
            if bits & UNLOADING_ERRORS and name not in self.released:
                self.released[name] = f"servo reports {describe_error(bits)} error: torque released"
                fresh.append(name)
        current = np.array([state.readings[n].current_ma if n in state.readings else np.nan for n in self.names])
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

    def _hold_reason(self, now: float) -> tuple[Level, str]:
        """Why the arm holds instead of following ('' = it follows)."""
        state = self.state
        if self.torque_off_requested:
            return Level.WARN, "torque off on request (~/torque false)"
        if state is not None and state.failures:
            return Level.ERROR, f"servos not answering ({', '.join(sorted(state.failures))}): no new goals"
        voltage = [n for n, bits in (state.errors() if state else {}).items() if bits & ErrorBit.VOLTAGE]
        if voltage:
            return Level.ERROR, f"input voltage error on {', '.join(voltage)}: holding position"
        if self.released:
            return Level.ERROR, (f"{', '.join(self.released)} released: holding the other joints until torque "
                                 f"is switched back on (~/torque true)")
        silence = self.watchdog.silence(now)
        if silence is None:
            return Level.OK, "holding position: no joint_commands yet"
        if self.watchdog.expired(now):
            return Level.WARN, (f"no joint_commands for {silence:.1f} s (timeout {self.watchdog.timeout_s:g} s): "
                                f"holding position")
        return Level.OK, ""

    def set_torque(self, enabled: bool) -> str:
        """The ~/torque service: on = clear releases and hold the present pose with torque; off = limp."""
        if not self.connected:
            raise HardwareError(f"not connected: {self._bus_problem}")
        if enabled:
            state = self.arm.read()
            if state.failures:
                raise HardwareError(f"cannot switch torque on: servos not answering ({state.failures})")
            self._on_connected()
            self.arm.hold(state)
            self.arm.set_torque(True)
            return "torque on, holding the present pose"
        self.arm.set_torque(False)
        self.torque_off_requested = True
        return "torque off"

    def reports(self, now: float) -> list[Report]:
        reports = [self._bus_report()]
        if self.connected:
            level, reason = self._hold_reason(now)
            values = {"watchdog_timeout_s": f"{self.watchdog.timeout_s:g}"}
            if self.unknown_joints:
                values["ignored_joint_names"] = ", ".join(sorted(self.unknown_joints))
            reports.append(Report("commands", level, reason or "following joint_commands", values))
        for k, name in enumerate(self.names):
            reports.append(self._joint_report(k, self._follower_joint_problem(name)))
        return reports

    def _follower_joint_problem(self, name: str) -> tuple[Level, str] | None:
        if self.connected and name in self.released:
            return Level.ERROR, self.released[name]
        problem = self._joint_problem(name)
        if problem is not None or not self.connected:
            return problem
        if self.stall.state(name) is Stall.BACKED_OFF:
            return Level.WARN, (f"straining for {self.config.stall.time_s:g} s: goal backed off to where it "
                                f"stopped + {self.config.stall.hold_margin:g} rad")
        return None


class Leader(_ArmLoop):
    """Reads the leader arm (torque off) for teleoperation. Its pose, clamped to the joint limits of
    the robot config (the follower's: a leader swung past them must not command, nor record as the
    action, what the follower cannot reach), is the follower's command; clamping is a WARN for
    ``clamp_report_s`` after the last clamped tick (a hand resting at a limit does not flicker)."""

    def __init__(self, arm: So101Arm, reconnect_period_s: float, clamp_report_s: float = 1.0) -> None:
        super().__init__(arm, reconnect_period_s)
        self.lower, self.upper = arm.robot.lower, arm.robot.upper
        self.clamp_report_s = clamp_report_s
        self.clamped_ticks = 0  # ticks whose command was clamped, since the start
        self._clamped: dict[str, tuple[float, float]] = {}  # joint -> (when, leader reading in rad)

    def tick(self, now: float) -> np.ndarray | None:
        """The command (rad, robot config order): the leader's pose clamped to the joint limits; None
        when the leader is not (completely) readable."""
        state = self._read(now)
        if state is None or state.failures:
            return None
        command = np.clip(state.position, self.lower, self.upper)
        beyond = np.flatnonzero(command != state.position)
        for k in beyond:
            self._clamped[self.arm.joint_names[k]] = (now, float(state.position[k]))
        self.clamped_ticks += bool(beyond.size)
        return command

    def reports(self, now: float) -> list[Report]:
        reports = [self._bus_report()]
        if self.connected:
            reports.append(self._commands_report(now))
        return reports + [self._joint_report(k, self._joint_problem(name))
                          for k, name in enumerate(self.arm.joint_names)]

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
