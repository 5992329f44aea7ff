"""One config per robot (config/<robot>.yaml): joints, limits, step limits, home, cameras, and what
the hardware provides: how joints are commanded (position or velocity), which joints read back
their position, a floating base and its IMU."""

from __future__ import annotations

from dataclasses import MISSING, dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np

from sim2real_common.config_files import check_keys, load_yaml, resolve_config
from sim2real_common.errors import ConfigError


@dataclass(frozen=True)
class JointSpec:
    name: str
    lower: float  # rad
    upper: float  # rad
    max_step: float  # largest target change per control tick (rad)
    feedback: bool = True  # False: the hardware reads nothing back (PWM servos): its positions are estimates


COMMAND_INTERFACES = ("position", "velocity")  # the JointState field joint_commands carry


@dataclass(frozen=True)
class FloatingBase:
    """A robot standing free (no fixed mount): the sim publishes this body's world pose on ``base/pose``."""

    body: str  # MJCF body with the free joint


@dataclass(frozen=True)
class ImuSpec:
    """The IMU the robot carries, published as sensor_msgs/Imu on ``imu``; each reading is an MJCF
    sensor of the scene (framequat, gyro, accelerometer), so the sim measures what the chip does
    (the accelerometer includes gravity). An empty name: the IMU does not provide it."""

    frame_id: str
    orientation: str = ""
    angular_velocity: str = ""
    linear_acceleration: str = ""

    def sensors(self) -> dict[str, str]:
        """Imu field -> MJCF sensor name, for the readings the IMU provides."""
        fields = {"orientation": self.orientation, "angular_velocity": self.angular_velocity,
                  "linear_acceleration": self.linear_acceleration}
        return {name: sensor for name, sensor in fields.items() if sensor}


@dataclass(frozen=True)
class RobotConfig:
    robot_type: str
    namespace: str
    control_hz: float
    joints: tuple[JointSpec, ...]
    home: tuple[float, ...]
    camera_frames: dict[str, str]  # camera name -> frame_id
    groups: dict[str, tuple[str, ...]] = field(default_factory=dict)  # named joint groups, e.g. arm, gripper
    command: str = "position"  # one of COMMAND_INTERFACES
    floating_base: FloatingBase | None = None
    imu: ImuSpec | None = None
    tool_site: str = ""  # MJCF site of the tool (whiskers draw its predicted path)

    @property
    def estimated_joints(self) -> list[str]:
        """Joints whose positions are estimates (no feedback), in joint order."""
        return [j.name for j in self.joints if not j.feedback]

    @property
    def joint_names(self) -> list[str]:
        return [j.name for j in self.joints]

    @property
    def lower(self) -> np.ndarray:
        return np.array([j.lower for j in self.joints])

    @property
    def upper(self) -> np.ndarray:
        return np.array([j.upper for j in self.joints])

    @property
    def max_step(self) -> np.ndarray:
        return np.array([j.max_step for j in self.joints])

    def clamp(self, target: np.ndarray, current: np.ndarray | None = None) -> np.ndarray:
        """Clip a target to the joint limits and, given the current position, the max step."""
        target = np.clip(np.asarray(target, dtype=float), self.lower, self.upper)
        if current is not None:
            current = np.asarray(current, dtype=float)
            target = np.clip(target, current - self.max_step, current + self.max_step)
        return target


def _field(data: dict[str, Any], key: str, kind: type, path: Path, where: str = "") -> Any:
    name = f"{where}{key}"
    if key not in data:
        raise ConfigError(path, name, "missing")
    value = data[key]
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if not isinstance(value, kind):
        raise ConfigError(path, name, f"expected {kind.__name__}, found {value!r}")
    return value


def _groups(data: dict[str, Any], path: Path, names: list[str]) -> dict[str, tuple[str, ...]]:
    raw = _field(data, "groups", dict, path) if "groups" in data else {}
    groups = {}
    for group, members in raw.items():
        if not isinstance(members, list) or not members:
            raise ConfigError(path, f"groups.{group}", f"expected a list of joint names, found {members!r}")
        unknown = [m for m in members if m not in names]
        if unknown:
            raise ConfigError(path, f"groups.{group}", f"unknown joints {unknown}; the joints are {names}")
        groups[str(group)] = tuple(members)
    return groups


def _optional(data: dict[str, Any], key: str, path: Path, kind: type, keys: tuple[str, ...]) -> Any:
    """An optional sub-mapping as ``kind(**fields)``: string fields, unknown keys rejected."""
    if key not in data:
        return None
    raw = _field(data, key, dict, path)
    check_keys(path, key, raw, keys, key)
    required = [f.name for f in fields(kind) if f.default is MISSING]
    return kind(**{name: _field(raw, name, str, path, f"{key}.") for name in {*required, *raw}})


def load_robot_config(path_or_name: str | Path) -> RobotConfig:
    path = resolve_config(path_or_name)
    data = load_yaml(path)
    default_feedback = _field(data, "feedback", bool, path) if "feedback" in data else True
    joints = []
    for i, raw in enumerate(_field(data, "joints", list, path)):
        where = f"joints[{i}]."
        if not isinstance(raw, dict):
            raise ConfigError(path, f"joints[{i}]", f"expected a mapping, found {raw!r}")
        joint = JointSpec(
            name=_field(raw, "name", str, path, where),
            lower=_field(raw, "lower", float, path, where),
            upper=_field(raw, "upper", float, path, where),
            max_step=_field(raw, "max_step", float, path, where),
            feedback=_field(raw, "feedback", bool, path, where) if "feedback" in raw else default_feedback,
        )
        if joint.lower >= joint.upper:
            raise ConfigError(path, f"{where}lower", f"expected < upper {joint.upper}, found {joint.lower}")
        if joint.max_step <= 0:
            raise ConfigError(path, f"{where}max_step", f"expected > 0, found {joint.max_step}")
        joints.append(joint)
    home = [float(v) for v in _field(data, "home", list, path)]
    if len(home) != len(joints):
        raise ConfigError(path, "home", f"expected {len(joints)} values (one per joint), found {len(home)}")
    cameras = _field(data, "cameras", dict, path) if "cameras" in data else {}
    command = _field(data, "command", str, path) if "command" in data else "position"
    if command not in COMMAND_INTERFACES:
        raise ConfigError(path, "command", f"expected one of {', '.join(COMMAND_INTERFACES)}, found {command!r}")
    floating_base = _optional(data, "floating_base", path, FloatingBase, ("body",))
    imu = _optional(data, "imu", path, ImuSpec, ("frame_id", "orientation", "angular_velocity", "linear_acceleration"))
    return RobotConfig(
        robot_type=_field(data, "robot_type", str, path),
        namespace=_field(data, "namespace", str, path),
        control_hz=_field(data, "control_hz", float, path),
        joints=tuple(joints),
        home=tuple(home),
        camera_frames={name: str(c.get("frame_id", name)) for name, c in cameras.items()},
        groups=_groups(data, path, [j.name for j in joints]),
        command=command,
        floating_base=floating_base,
        imu=imu,
        tool_site=_field(data, "tool_site", str, path) if "tool_site" in data else "",
    )
