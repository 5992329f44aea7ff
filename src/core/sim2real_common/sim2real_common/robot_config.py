"""One config per robot (config/<robot>.yaml): joints, limits, step limits, home, cameras."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from sim2real_common.config_files import load_yaml, resolve_config
from sim2real_common.errors import ConfigError


@dataclass(frozen=True)
class JointSpec:
    name: str
    lower: float  # rad
    upper: float  # rad
    max_step: float  # largest target change per control tick (rad)


@dataclass(frozen=True)
class RobotConfig:
    robot_type: str
    namespace: str
    control_hz: float
    joints: tuple[JointSpec, ...]
    home: tuple[float, ...]
    camera_frames: dict[str, str]  # camera name -> frame_id
    groups: dict[str, tuple[str, ...]] = field(default_factory=dict)  # named joint groups, e.g. arm, gripper

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


def load_robot_config(path_or_name: str | Path) -> RobotConfig:
    path = resolve_config(path_or_name)
    data = load_yaml(path)
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
    return RobotConfig(
        robot_type=_field(data, "robot_type", str, path),
        namespace=_field(data, "namespace", str, path),
        control_hz=_field(data, "control_hz", float, path),
        joints=tuple(joints),
        home=tuple(home),
        camera_frames={name: str(c.get("frame_id", name)) for name, c in cameras.items()},
        groups=_groups(data, path, [j.name for j in joints]),
    )
