"""The walking env's settings (config/walk/walk.yaml): episode, observation set, reward weights,
servo randomization. Unknown keys are one error naming the file and the key."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from humanoid.paths import data_dir
from humanoid.walk.servos import ServoConfig
from sim2real_common.config_files import check_keys, load_yaml
from sim2real_common.errors import ConfigError

OBSERVATION_SETS = ("deployable", "notebook")
DEFAULT_FILE = "walk/walk.yaml"


@dataclass(frozen=True)
class RewardConfig:
    """The notebook's v7 terms (the defaults), and shaping terms that are off unless weighted."""

    upright: float = 2.0
    forward_velocity: float = 0.5
    max_forward_velocity: float = 1.0
    height: float = 0.5
    target_height: float = 0.305
    foot_switch: float = 8.0
    ground_contact: float = 0.3
    forward_tracking: float = 0.0  # x exp(-((vx - target_velocity) / tracking_sigma)^2): standing earns ~0
    target_velocity: float = 0.15  # m/s
    tracking_sigma: float = 0.1  # m/s
    feet_phase: float = 0.0  # while the gait clock's stance foot is down and its swing foot is up
    pose: float = 0.0  # x -mean((q - home)^2) over the joints (rad^2)
    action_rate: float = 0.0  # x -mean((a - last a)^2)


@dataclass(frozen=True)
class FallConfig:
    height_fraction: float = 0.6
    tilt_deg: float = 60.0


@dataclass(frozen=True)
class WalkEnvConfig:
    episode_s: float = 20.0
    observation: str = "deployable"
    legs_only: bool = False
    gait_hz: float = 2.0
    joint_noise: float = 0.02
    fall: FallConfig = field(default_factory=FallConfig)
    reward: RewardConfig = field(default_factory=RewardConfig)
    servos: ServoConfig = field(default_factory=ServoConfig)

    def __post_init__(self) -> None:
        if self.observation not in OBSERVATION_SETS:
            raise ValueError(f"observation: expected one of {OBSERVATION_SETS}, found {self.observation!r}")


def _section(kind: type, raw: Any, path: Path, where: str) -> Any:
    if not isinstance(raw, dict):
        raise ConfigError(path, where, f"expected a mapping, found {raw!r}")
    check_keys(path, where, raw, [f.name for f in fields(kind)], where)
    return kind(**{k: tuple(v) if isinstance(v, list) else v for k, v in raw.items()})


def load_walk_config(path: str | Path | None = None, **overrides: Any) -> WalkEnvConfig:
    """The YAML file (default: the package's walk/walk.yaml), then ``overrides`` on top."""
    path = Path(path) if path else data_dir("config") / DEFAULT_FILE
    data = {**load_yaml(path), **overrides}
    check_keys(path, "", data, [f.name for f in fields(WalkEnvConfig)], "the walking env")
    sections = {"fall": FallConfig, "reward": RewardConfig, "servos": ServoConfig}
    values = {k: _section(sections[k], v, path, k) if k in sections and isinstance(v, dict) else v
              for k, v in data.items()}
    try:
        return WalkEnvConfig(**values)
    except (TypeError, ValueError) as err:
        raise ConfigError(path, "<file>", str(err)) from None
