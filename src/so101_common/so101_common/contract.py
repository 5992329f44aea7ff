"""One contract per robot/task: which ROS topic and field feeds each LeRobot feature, in what
joint order, shape and unit, and by which time-alignment rule (config/contracts/<task>.yaml).

The policy node, the recorder and the bag replay all load it, so what is served, recorded and
replayed cannot drift. ``check_policy`` is the start-up gate of the policy node.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from so101_common.config_files import load_yaml, resolve_config
from so101_common.errors import ConfigError

ALIGN_RULES = ("latest_before",)
MESSAGE_TYPES = ("sensor_msgs/msg/JointState", "sensor_msgs/msg/Image", "geometry_msgs/msg/PoseStamped")
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
    layout: tuple[str, ...] = ()  # poses: "<object>.position" / "<object>.orientation"
    sim_only: bool = False

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


def _binding(path: Path, name: str, raw: Any) -> FeatureBinding:
    where = f"features.{name}"
    if not isinstance(raw, dict):
        raise ConfigError(path, where, f"expected a mapping, found {raw!r}")
    for key in ("type", "shape", "align"):
        if key not in raw:
            raise ConfigError(path, f"{where}.{key}", "missing")
    if raw["type"] not in MESSAGE_TYPES:
        raise ConfigError(path, f"{where}.type", f"expected one of {MESSAGE_TYPES}, found {raw['type']!r}")
    if raw["align"] not in ALIGN_RULES:
        raise ConfigError(path, f"{where}.align", f"expected one of {ALIGN_RULES}, found {raw['align']!r}")
    shape = raw["shape"]
    if not (isinstance(shape, list) and shape and all(isinstance(d, int) and d > 0 for d in shape)):
        raise ConfigError(path, f"{where}.shape", f"expected a list of positive ints, found {shape!r}")
    if not raw.get("topic") and not raw.get("topics"):
        raise ConfigError(path, f"{where}.topic", "missing (give `topic` or `topics`)")
    joints = tuple(raw.get("joints", ()))
    if joints and len(joints) != shape[0]:
        raise ConfigError(path, f"{where}.joints", f"expected {shape[0]} joints (shape), found {len(joints)}")
    return FeatureBinding(
        name=name, type=raw["type"], shape=tuple(shape), unit=str(raw.get("unit", "")),
        align=raw["align"], max_age_s=float(raw.get("max_age_s", 0.1)), topic=str(raw.get("topic", "")),
        topics=dict(raw.get("topics", {})), field=str(raw.get("field", "")), joints=joints,
        encoding=str(raw.get("encoding", "")), layout=tuple(raw.get("layout", ())),
        sim_only=bool(raw.get("sim_only", False)),
    )


def load_contract(path_or_name: str | Path) -> Contract:
    """Load ``config/contracts/<name>.yaml`` (or an explicit path) and validate every field."""
    name = str(path_or_name)
    if not name.endswith(".yaml") and not Path(name).exists():
        name = f"contracts/{name}.yaml"
    path = resolve_config(name)
    data = load_yaml(path)
    for key in ("robot", "fps", "features"):
        if key not in data:
            raise ConfigError(path, key, "missing")
    if not isinstance(data["features"], dict) or not data["features"]:
        raise ConfigError(path, "features", "expected a non-empty mapping of LeRobot feature names")
    fps = data["fps"]
    if not isinstance(fps, (int, float)) or fps <= 0:
        raise ConfigError(path, "fps", f"expected a positive number, found {fps!r}")
    features = {n: _binding(path, n, raw) for n, raw in data["features"].items()}
    return Contract(path=path, robot=str(data["robot"]), fps=float(fps), task=str(data.get("task", "")),
                    features=features)
