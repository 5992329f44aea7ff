"""One contract per robot/task: which ROS topic and field feeds each LeRobot feature, in what
joint order, shape and unit, and by which time-alignment rule (config/contracts/<task>.yaml).

Features come from JointState (a field, in a joint order), Image, PoseStamped and Imu messages
(poses and IMU readings concatenated in a ``layout``). Joints whose hardware reads nothing back
(robot config ``feedback: false``) are listed under ``estimated`` in every observation feature that
carries them, so whoever records or serves them knows those values are commanded or integrated,
not measured; an IMU feature may only lay out what the robot's IMU provides.

The policy node, the recorder and the bag replay all load it, so what is served, recorded and
replayed cannot drift. ``check_policy`` is the start-up gate of the policy node.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sim2real_common.config_files import check_keys, load_yaml, resolve_config
from sim2real_common.errors import ConfigError, did_you_mean
from sim2real_common.robot_config import RobotConfig, load_robot_config

ALIGN_RULES = ("latest_before",)
MESSAGE_TYPES = ("sensor_msgs/msg/JointState", "sensor_msgs/msg/Image", "geometry_msgs/msg/PoseStamped",
                 "sensor_msgs/msg/Imu")
IMAGE_PREFIX = "observation.images."


@dataclass(frozen=True)
class FeatureBinding:
    name: str  # LeRobot feature name
    type: str  # ROS message type
    shape: tuple[int, ...]
    unit: str
    align: str
    max_age_s: float
    topic: str = ""  # one topic ...
    topics: dict[str, str] = field(default_factory=dict)  # ... or several (poses), by object name
    field: str = ""  # JointState field
    joints: tuple[str, ...] = ()
    encoding: str = ""  # images
    layout: tuple[str, ...] = ()  # poses: "<object>.position" / "<object>.orientation"; IMU: its readings
    sim_only: bool = False
    estimated: tuple[str, ...] = ()  # joints of this feature without feedback: values are estimates

    @property
    def is_image(self) -> bool:
        return self.name.startswith(IMAGE_PREFIX)

    @property
    def camera(self) -> str:
        return self.name[len(IMAGE_PREFIX):] if self.is_image else ""


@dataclass(frozen=True)
class Contract:
    path: Path
    robot: str
    fps: float
    task: str
    features: dict[str, FeatureBinding]

    def observation_features(self) -> list[str]:
        return [n for n in self.features if n.startswith("observation.")]

    def check_policy(self, inputs: dict[str, tuple[int, ...]], outputs: dict[str, tuple[int, ...]],
                     stats_present: dict[str, bool] | None = None) -> None:
        """Raise ContractMismatch listing every input/output this contract cannot serve."""
        problems = []
        for kind, wanted in (("input", inputs), ("output", outputs)):
            for name, shape in wanted.items():
                binding = self.features.get(name)
                if binding is None:
                    problems.append(f"{kind} {name} {list(shape)}: not in the contract")
                elif tuple(shape) != binding.shape:
                    what = "image size (H, W, C)" if binding.is_image else "shape"
                    problems.append(f"{kind} {name}: policy expects {what} {list(shape)}, "
                                    f"contract serves {list(binding.shape)}")
                if stats_present is not None and name in stats_present and not stats_present[name]:
                    problems.append(f"{kind} {name}: no normalisation stats in the checkpoint")
        if problems:
            available = ", ".join(f"{n} {list(b.shape)}" for n, b in self.features.items())
            raise ContractMismatch(
                f"policy does not fit contract {self.path.name}:\n  - " + "\n  - ".join(problems)
                + f"\n  contract serves: {available}"
            )


class ContractMismatch(ValueError):
    """A policy needs features the contract cannot serve."""


# Keys of a feature: those of every feature, plus those of its message type.
COMMON_KEYS = ("type", "topic", "topics", "shape", "unit", "align", "max_age_s", "sim_only")
TYPE_KEYS = {
    "sensor_msgs/msg/JointState": ("field", "joints", "estimated"),
    "sensor_msgs/msg/Image": ("encoding",),
    "geometry_msgs/msg/PoseStamped": ("layout",),
    "sensor_msgs/msg/Imu": ("layout",),
}
TOP_LEVEL_KEYS = ("robot", "fps", "task", "features")
IMAGE_ENCODINGS = ("rgb8", "bgr8", "mono8")  # what features.image_rgb converts
POSE_PARTS = {"position": 3, "orientation": 4}
IMU_PARTS = {"orientation": 4, "angular_velocity": 3, "linear_acceleration": 3}  # quaternion wxyz, rad/s, m/s^2


def message_fields(msgtype: str, element_type: str | None = None) -> list[str]:
    """Field names of a ROS message type, from the rosbags type store (no ROS needed); with
    ``element_type`` (e.g. ``float64``) only the sequences of that element type."""
    from rosbags.typesys import Stores, get_typestore

    fields = get_typestore(Stores.LATEST).fielddefs[msgtype][1]
    if element_type is None:
        return [name for name, _ in fields]
    return [name for name, (kind, spec) in fields
            if kind.name in ("SEQUENCE", "ARRAY") and spec[0][0].name == "BASE" and spec[0][1][0] == element_type]


def _binding(path: Path, name: str, raw: Any, robot: str, config: RobotConfig) -> FeatureBinding:
    where = f"features.{name}"
    if not isinstance(raw, dict):
        raise ConfigError(path, where, f"expected a mapping, found {raw!r}")
    for key in ("type", "shape", "align"):
        if key not in raw:
            raise ConfigError(path, f"{where}.{key}", "missing")
    if raw["type"] not in MESSAGE_TYPES:
        raise ConfigError(path, f"{where}.type", f"expected one of {MESSAGE_TYPES}, found {raw['type']!r}"
                                                 f"{did_you_mean(raw['type'], MESSAGE_TYPES)}")
    msgtype = raw["type"]
    check_keys(path, where, raw, COMMON_KEYS + TYPE_KEYS[msgtype], f"{msgtype} features")
    if raw["align"] not in ALIGN_RULES:
        raise ConfigError(path, f"{where}.align", f"expected one of {ALIGN_RULES}, found {raw['align']!r}")
    shape = raw["shape"]
    if not (isinstance(shape, list) and shape and all(isinstance(d, int) and d > 0 for d in shape)):
        raise ConfigError(path, f"{where}.shape", f"expected a list of positive ints, found {shape!r}")
    if not raw.get("topic") and not raw.get("topics"):
        raise ConfigError(path, f"{where}.topic", "missing (give `topic` or `topics`)")
    topics = raw.get("topics", {})
    if not isinstance(topics, dict) or not all(isinstance(t, str) and t for t in topics.values()):
        raise ConfigError(path, f"{where}.topics", f"expected a mapping object name -> topic, found {topics!r}")
    joints = _joints(path, where, msgtype, raw, shape, robot, config.joint_names)
    estimated = _estimated(path, name, raw, joints, config.robot_type, config) if msgtype == "sensor_msgs/msg/JointState" else ()
    if msgtype == "sensor_msgs/msg/JointState":
        valid = message_fields(msgtype, "float64")
        if raw.get("field", "position") not in valid:
            raise ConfigError(path, f"{where}.field",
                              f"{raw['field']!r} is not a float64[] field of {msgtype}"
                              f"{did_you_mean(raw['field'], valid)}; valid fields: {', '.join(valid)}")
    if msgtype == "sensor_msgs/msg/Image":
        if len(shape) != 3 or shape[2] != 3:
            raise ConfigError(path, f"{where}.shape", f"expected [height, width, 3] for images, found {shape}")
        if raw.get("encoding", "rgb8") not in IMAGE_ENCODINGS:
            raise ConfigError(path, f"{where}.encoding", f"expected one of {', '.join(IMAGE_ENCODINGS)}, "
                                                         f"found {raw['encoding']!r}")
    layout = tuple(raw.get("layout", ()))
    if msgtype == "geometry_msgs/msg/PoseStamped":
        _check_layout(path, where, layout, topics, shape)
    if msgtype == "sensor_msgs/msg/Imu":
        _check_imu_layout(path, where, layout, shape, config.robot_type, config)
    return FeatureBinding(
        name=name, type=msgtype, shape=tuple(shape), unit=str(raw.get("unit", "")),
        align=raw["align"], max_age_s=float(raw.get("max_age_s", 0.1)), topic=str(raw.get("topic", "")),
        topics=dict(topics), field=str(raw.get("field", "")), joints=joints,
        encoding=str(raw.get("encoding", "")), layout=layout,
        sim_only=bool(raw.get("sim_only", False)), estimated=estimated,
    )


def _joints(path: Path, where: str, msgtype: str, raw: dict[str, Any], shape: list[int], robot: str,
            robot_joints: list[str]) -> tuple[str, ...]:
    """A JointState feature's joint order: required, one per vector element, joints of the robot."""
    if msgtype != "sensor_msgs/msg/JointState":
        return ()
    if "joints" not in raw:
        raise ConfigError(path, f"{where}.joints", f"missing (the joint of each of the {shape[0]} values, "
                                                   f"e.g. the robot's {robot_joints})")
    joints = raw["joints"]
    if not isinstance(joints, list) or not all(isinstance(j, str) for j in joints):
        raise ConfigError(path, f"{where}.joints", f"expected a list of joint names, found {joints!r}")
    if len(shape) != 1 or len(joints) != shape[0]:
        raise ConfigError(path, f"{where}.joints", f"expected {shape[0]} joints (shape {shape}), found {len(joints)}")
    for joint in joints:
        if joint not in robot_joints:
            raise ConfigError(path, f"{where}.joints", f"{joint!r} is not a joint of robot {robot}"
                                                       f"{did_you_mean(joint, robot_joints)}; its joints: "
                                                       f"{', '.join(robot_joints)}")
    twice = sorted({j for j in joints if joints.count(j) > 1})
    if twice:
        raise ConfigError(path, f"{where}.joints", f"{twice} listed more than once")
    return tuple(joints)


def _estimated(path: Path, name: str, raw: dict[str, Any], joints: tuple[str, ...], robot: str,
               config: RobotConfig) -> tuple[str, ...]:
    """An observation's ``estimated`` list must be exactly its joints without feedback."""
    where = f"features.{name}.estimated"
    listed = raw.get("estimated", [])
    if not isinstance(listed, list) or not all(isinstance(j, str) for j in listed):
        raise ConfigError(path, where, f"expected a list of joint names, found {listed!r}")
    strays = [j for j in listed if j not in joints]
    if strays:
        raise ConfigError(path, where, f"{strays} are not joints of this feature ({', '.join(joints)})")
    without_feedback = [j for j in joints if j in config.estimated_joints] if name.startswith("observation.") else []
    unmarked = [j for j in without_feedback if j not in listed]
    if unmarked:
        raise ConfigError(path, where, f"missing {unmarked}: robot {robot} reads back no position for them "
                                       f"(robot config feedback: false), so their values are estimates")
    measured = [j for j in listed if j not in without_feedback]
    if measured:
        raise ConfigError(path, where, f"{measured} are not estimates: "
                                       + ("robot " + robot + " measures them" if name.startswith("observation.")
                                          else "only observation features carry estimates"))
    return tuple(j for j in joints if j in listed)


def _check_imu_layout(path: Path, where: str, layout: tuple[str, ...], shape: list[int], robot: str,
                      config: RobotConfig) -> None:
    if not layout:
        raise ConfigError(path, f"{where}.layout", f"missing (IMU readings in order, of {list(IMU_PARTS)})")
    provided = config.imu.sensors() if config.imu is not None else {}
    for item in layout:
        if item not in IMU_PARTS:
            raise ConfigError(path, f"{where}.layout", f"{item!r}: expected one of {list(IMU_PARTS)}"
                                                       f"{did_you_mean(str(item), list(IMU_PARTS))}")
        if item not in provided:
            raise ConfigError(path, f"{where}.layout", f"{item!r}: robot {robot}'s IMU does not provide it "
                                                       f"(robot config imu provides: {', '.join(provided) or 'no IMU'})")
    size = sum(IMU_PARTS[item] for item in layout)
    if size != shape[0]:
        raise ConfigError(path, f"{where}.layout", f"lays out {size} values, shape says {shape[0]}")


def _check_layout(path: Path, where: str, layout: tuple[str, ...], topics: dict[str, str], shape: list[int]) -> None:
    size = 0
    for item in layout:
        obj, _, part = str(item).partition(".")
        if part not in POSE_PARTS or (topics and obj not in topics):
            raise ConfigError(path, f"{where}.layout", f"{item!r}: expected <object>.position or "
                                                       f"<object>.orientation with <object> one of {list(topics)}")
        size += POSE_PARTS[part]
    if size != shape[0]:
        raise ConfigError(path, f"{where}.layout", f"lays out {size} values, shape says {shape[0]}")


def load_contract(path_or_name: str | Path) -> Contract:
    """Load ``config/contracts/<name>.yaml`` (or an explicit path) and validate every field."""
    name = str(path_or_name)
    if not name.endswith(".yaml") and not Path(name).exists():
        name = f"contracts/{name}.yaml"
    path = resolve_config(name)
    data = load_yaml(path)
    check_keys(path, "", data, TOP_LEVEL_KEYS, "a contract")
    for key in ("robot", "fps", "features"):
        if key not in data:
            raise ConfigError(path, key, "missing")
    if not isinstance(data["features"], dict) or not data["features"]:
        raise ConfigError(path, "features", "expected a non-empty mapping of LeRobot feature names")
    fps = data["fps"]
    if not isinstance(fps, (int, float)) or fps <= 0:
        raise ConfigError(path, "fps", f"expected a positive number, found {fps!r}")
    config = _robot_config(path, data["robot"])
    features = {n: _binding(path, n, raw, str(data["robot"]), config) for n, raw in data["features"].items()}
    return Contract(path=path, robot=str(data["robot"]), fps=float(fps), task=str(data.get("task", "")),
                    features=features)


def _robot_config(path: Path, robot: Any) -> RobotConfig:
    """The contract's robot config (joints, feedback and IMU are checked against it)."""
    try:
        return load_robot_config(str(robot))
    except FileNotFoundError as err:
        raise ConfigError(path, "robot", f"{err} (expected a robot config like so101.yaml)") from None
