"""One SO-101 arm (follower or leader) on a Feetech bus, in the joint names, order and radians of
config/so101.yaml, calibrated with a LeRobot calibration file (see calibration.py)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from sim2real_common.robot_config import RobotConfig
from so101.hardware.calibration import GRIPPER, ROLES, JointMapping, find_calibration, load_calibration
from feetech.errors import ServoCommError, describe_failures
from so101.hardware.errors import CalibrationError
from feetech.bus import BAUDRATES, FeetechBus, ServoReading
from feetech.transport import DEFAULT_TIMEOUT_MS, SerialTransport, Transport

# LeRobot 0.4.4 SOFollower.configure(): position mode, softer P gain, and a gripper that cannot
# burn itself out (50 % torque and current, 25 % torque once overloaded).
FOLLOWER_SETTINGS = {"Operating_Mode": 0, "P_Coefficient": 16, "I_Coefficient": 0, "D_Coefficient": 32}
FOLLOWER_GRIPPER_SETTINGS = {"Max_Torque_Limit": 500, "Protection_Current": 250, "Overload_Torque": 25}


@dataclass(frozen=True)
class ArmConfig:
    port: str  # /dev/ttyUSB0, the emulator's pty or link, socket://host:port
    role: str = "follower"  # follower (driven, torque on) | leader (read only, torque off)
    arm_id: str = "my_follower"  # LeRobot robot/teleoperator id: names the calibration file
    ids: tuple[int, ...] = (1, 2, 3, 4, 5, 6)  # servo id per joint, in config/so101.yaml order
    baudrate: int = 1_000_000
    calibration_file: str = ""  # '' = LeRobot's calibration folder for arm_id
    packet_timeout_ms: float = DEFAULT_TIMEOUT_MS  # reply timeout on top of the transmission time

    def __post_init__(self) -> None:
        if self.role not in ROLES:
            raise ValueError(f"role: expected one of {ROLES}, got {self.role!r}")
        if not self.port:
            raise ValueError("port: empty; give the serial port of the arm, e.g. /dev/ttyUSB0")
        if len(set(self.ids)) != len(self.ids) or not all(0 <= i <= 252 for i in self.ids):
            raise ValueError(f"ids: expected distinct servo ids in 0..252, got {list(self.ids)}")
        if self.baudrate not in BAUDRATES:
            raise ValueError(f"baudrate: expected one of {BAUDRATES}, got {self.baudrate}")

    def calibration_path(self) -> Path:
        return Path(self.calibration_file).expanduser() if self.calibration_file \
            else find_calibration(self.arm_id, self.role)


@dataclass(frozen=True)
class ArmState:
    """One read of the arm; joints whose servo failed are NaN and listed in ``failures``."""

    position: np.ndarray  # rad
    velocity: np.ndarray  # rad/s
    load: np.ndarray  # fraction of max torque, signed
    readings: dict[str, ServoReading] = field(repr=False)
    failures: dict[str, str]  # joint -> what went wrong

    def errors(self) -> dict[str, int]:
        """Joint -> error bits from the status packet and the Status register (non-zero only)."""
        return {name: r.error | r.status for name, r in self.readings.items() if r.error | r.status}


class So101Arm:
    def __init__(self, config: ArmConfig, robot: RobotConfig, transport: Transport | None = None) -> None:
        self.config = config
        self.robot = robot
        self.joint_names = robot.joint_names
        if len(config.ids) != len(self.joint_names):
            raise ValueError(f"ids: expected {len(self.joint_names)} servo ids (one per joint "
                             f"{self.joint_names}), got {list(config.ids)}")
        self.calibration_file = config.calibration_path()
        self.calibration = load_calibration(self.calibration_file, self.joint_names, arm_id=config.arm_id,
                                            role=config.role)
        for name, servo_id in zip(self.joint_names, config.ids):
            if self.calibration[name].id != servo_id:
                raise CalibrationError(self.calibration_file, f"{name} is servo id {self.calibration[name].id} "
                                                              f"there but id {servo_id} in the ids parameter")
        self.mappings = [JointMapping(self.calibration[j.name], (j.lower, j.upper) if j.name == GRIPPER else None)
                         for j in robot.joints]
        self.bus = FeetechBus(transport or SerialTransport(config.port), dict(zip(self.joint_names, config.ids)),
                              baudrate=config.baudrate, timeout_ms=config.packet_timeout_ms)

    @property
    def is_follower(self) -> bool:
        return self.config.role == "follower"

    def connect(self) -> bool:
        """Open, check the servos, make their EEPROM match the calibration file, configure them as
        LeRobot does; a follower then holds where it stands with torque on. Returns whether the
        servos' calibration registers had to be rewritten from the file."""
        self.bus.connect()
        try:
            self.bus.set_torque(self.joint_names, False)
            on_servos = self.bus.read_calibration()
            rewritten = any((on_servos[n].homing_offset, on_servos[n].range_min, on_servos[n].range_max)
                            != (c.homing_offset, c.range_min, c.range_max) for n, c in self.calibration.items())
            if rewritten:  # LeRobot's default answer (ENTER) when servos and file disagree
                self.bus.write_calibration(self.calibration)
            self._configure()
            if self.is_follower:
                state = self.read()
                if state.failures:
                    raise ServoCommError(self.bus.port, describe_failures(
                        {self.bus.motors[n]: why for n, why in state.failures.items()}))
                self.hold(state)
                self.bus.set_torque(self.joint_names, True)
        except BaseException:
            self.bus.close()
            raise
        return rewritten

    def _configure(self) -> None:
        bus = self.bus.lerobot
        with self.bus.lerobot_errors():
            bus.configure_motors()
            for name in self.joint_names:
                settings = FOLLOWER_SETTINGS if self.is_follower else {"Operating_Mode": 0}
                if self.is_follower and name == GRIPPER:
                    settings = {**settings, **FOLLOWER_GRIPPER_SETTINGS}
                for register, value in settings.items():
                    bus.write(register, name, value)

    def read(self) -> ArmState:
        readings, failures = self.bus.read_state()
        n = len(self.joint_names)
        position, velocity, load = np.full(n, np.nan), np.full(n, np.nan), np.full(n, np.nan)
        for k, (name, mapping) in enumerate(zip(self.joint_names, self.mappings)):
            if name in readings:
                r = readings[name]
                position[k] = mapping.to_radians(r.position)
                velocity[k] = r.velocity * mapping.rad_per_step
                load[k] = r.load
        return ArmState(position, velocity, load, readings, failures)

    def send(self, targets: np.ndarray, present: np.ndarray | None = None,
             max_step: np.ndarray | None = None) -> np.ndarray:
        """Clamp to the joint limits, to ``present +- max_step`` (default: config/so101.yaml's) and to
        the calibrated range, write the goals; returns what was sent (rad), like LeRobot's send_action."""
        targets = np.clip(np.asarray(targets, dtype=float), self.robot.lower, self.robot.upper)
        if present is not None:
            step = self.robot.max_step if max_step is None else max_step
            targets = np.clip(targets, present - step, present + step)
        steps = {name: m.to_steps(t) for name, m, t in zip(self.joint_names, self.mappings, targets)}
        self.bus.write_goals(steps)
        return np.array([m.to_radians(steps[name]) for name, m in zip(self.joint_names, self.mappings)])

    def hold(self, state: ArmState, joints: list[str] | None = None) -> None:
        """Goal := present position (steps, no round trip through radians) for the readable joints."""
        names = [n for n in (joints or self.joint_names) if n in state.readings]
        if names:
            self.bus.write_goals({n: state.readings[n].position for n in names})

    def set_torque(self, enabled: bool, joints: list[str] | None = None) -> None:
        self.bus.set_torque(list(joints or self.joint_names), enabled)

    def torque_off(self) -> None:
        """Torque off on every servo (when the port is open). A transaction cut short on the way here
        (Ctrl-C in the middle of a read) is abandoned first, so that the torque-off still goes out."""
        if self.bus.is_connected:
            self.bus.abandon_transaction()
            self.set_torque(False)

    def close(self, torque_off: bool = True) -> None:
        """Torque off, then close the port (also when switching torque off fails: the bus may be gone)."""
        try:
            if torque_off:
                self.torque_off()
        finally:
            self.bus.close()
