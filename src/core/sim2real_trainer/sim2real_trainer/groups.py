"""Action groups and what the trainer does with them (config/trainer/*.yaml).

One file names contiguous index ranges of the action (and state) vector, the loss weighting
strategy and the episode filters::

    groups:                       # name: [start, end) -- together they cover 0..action_dim
      arm: [0, 3]
      wrist: [3, 5]
      gripper: [5, 6]
    loss_weighting:
      strategy: per_group         # uniform | per_group | per_dimension
      group_weights: {arm: 3.0, wrist: 2.0, gripper: 1.0}   # per_group: one per group
      dimension_weights: [3, 3, 3, 2, 2, 1]                 # per_dimension: one per dimension
    filters:
      arm_heavy: {group: arm, min_share: 0.45}

Weights are relative: the trainer normalises them to mean 1 over the action dimensions.

Without a file, the groups are those of the dataset's robot (the installed robot whose robot
config has the dataset's ``robot_type``): the groups file it registers (``Robot.trainer_groups``),
else the ``groups:`` of its robot config, by joint name, as index ranges of the dataset's action,
with uniform loss weighting and no filters.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sim2real_common.config_files import load_yaml, resolve_config
from sim2real_common.errors import ConfigError
from sim2real_trainer.errors import TrainerError
from sim2real_trainer.local_dataset import LocalDataset

STRATEGIES = ("uniform", "per_group", "per_dimension")


@dataclass(frozen=True)
class ActionGroups:
    ranges: dict[str, tuple[int, int]]  # name -> [start, end), in index order, contiguous from 0

    @property
    def dim(self) -> int:
        return max(end for _, end in self.ranges.values())

    @property
    def names(self) -> list[str]:
        return list(self.ranges)

    def dims(self, name: str) -> range:
        return range(*self.ranges[name])

    def group_of(self, index: int) -> str:
        return next(name for name, (start, end) in self.ranges.items() if start <= index < end)


@dataclass(frozen=True)
class LossWeightingConfig:
    strategy: str = "uniform"
    group_weights: dict[str, float] = field(default_factory=dict)
    dimension_weights: tuple[float, ...] = ()


@dataclass(frozen=True)
class EpisodeFilterConfig:
    """Keep the episodes where ``group`` makes up at least ``min_share`` of the action activity."""

    group: str
    min_share: float


@dataclass(frozen=True)
class GroupsConfig:
    path: Path
    groups: ActionGroups
    loss_weighting: LossWeightingConfig
    filters: dict[str, EpisodeFilterConfig]

    def check_dim(self, action_dim: int, what: str) -> None:
        """The groups must cover exactly the ``action_dim`` dimensions of ``what``."""
        if self.groups.dim != action_dim:
            raise ConfigError(self.path, "groups", f"cover {self.groups.dim} dimensions, but {what} has {action_dim}")

    def with_strategy(self, strategy: str | None) -> GroupsConfig:
        """This config with another loss weighting strategy (checked against the file's weights)."""
        if strategy is None or strategy == self.loss_weighting.strategy:
            return self
        weighting = LossWeightingConfig(strategy, self.loss_weighting.group_weights,
                                        self.loss_weighting.dimension_weights)
        _check_weighting(weighting, self.groups, self.path)
        return GroupsConfig(self.path, self.groups, weighting, self.filters)


def load_groups_config(path_or_name: str | Path) -> GroupsConfig:
    """Read and validate a groups file (a path, or a name under a robot package's config/)."""
    path = resolve_config(path_or_name)
    data = load_yaml(path)
    groups = _groups(data.get("groups"), path)
    weighting = _weighting(data.get("loss_weighting") or {}, groups, path)
    filters = _filters(data.get("filters") or {}, groups, path)
    return GroupsConfig(path, groups, weighting, filters)


def dataset_groups(dataset: LocalDataset, path_or_name: str | Path | None = None) -> GroupsConfig:
    """The groups file ``path_or_name``; without one, the groups of the dataset's robot config."""
    if path_or_name is not None:
        return load_groups_config(path_or_name)
    path, robot_groups, groups_file = _dataset_robot(dataset)
    if groups_file is not None:
        return load_groups_config(groups_file)
    return robot_config_groups(dataset, path, robot_groups)


def robot_config_groups(dataset: LocalDataset, path: Path, robot_groups: dict[str, tuple[str, ...]]) -> GroupsConfig:
    """A robot config's joint groups (``path``: the file, for errors) as index ranges of the
    dataset's action: uniform loss weighting, no filters."""
    if not robot_groups:
        raise ConfigError(path, "groups", "none: name the action groups with a groups file (--action-groups)")
    joints = dataset.names("action")
    raw = {}
    for name, members in robot_groups.items():
        missing = [j for j in members if j not in joints]
        if missing:
            raise ConfigError(path, f"groups.{name}", f"joints {missing} are no action dimensions of {dataset.root} "
                                                      f"({joints}); name the groups with a file (--action-groups)")
        dims = sorted(joints.index(j) for j in members)
        if dims != list(range(dims[0], dims[-1] + 1)):
            raise ConfigError(path, f"groups.{name}", f"joints {list(members)} are not side by side in the action of "
                                                      f"{dataset.root}; name the groups with a file (--action-groups)")
        raw[name] = [dims[0], dims[-1] + 1]
    groups = _groups(raw, path)
    if groups.dim != len(joints):
        raise ConfigError(path, "groups", f"cover {groups.dim} of the {len(joints)} action dimensions of "
                                          f"{dataset.root}; name the groups with a file (--action-groups)")
    return GroupsConfig(path, groups, LossWeightingConfig(), {})


def registered_groups_file(dataset: LocalDataset) -> Path | None:
    """The groups file the dataset's robot registers (None: an unknown robot, or none registered)."""
    try:
        return _dataset_robot(dataset)[2]
    except TrainerError:
        return None


def _dataset_robot(dataset: LocalDataset) -> tuple[Path, dict[str, tuple[str, ...]], Path | None]:
    """The robot config (path, joint groups) of the installed robot with the dataset's robot_type,
    and the groups file that robot registers (None: it registers none)."""
    from sim2real_common.registry import robots
    from sim2real_common.robot_config import load_robot_config

    robot_type = dataset.info.get("robot_type")
    found = {}
    for owner in robots().values():
        if owner.robot_config:
            path = owner.config_dir / owner.robot_config
            config = load_robot_config(path)
            groups_file = owner.config_dir / owner.trainer_groups if owner.trainer_groups else None
            found[config.robot_type] = (path, config.groups, groups_file)
    if robot_type not in found:
        raise TrainerError(f"dataset {dataset.root} has robot_type {robot_type!r}, the robot of no installed robot "
                           f"package ({', '.join(sorted(found)) or 'none'}); name the action groups with a groups "
                           "file (--action-groups)")
    return found[robot_type]


def _groups(raw: Any, path: Path) -> ActionGroups:
    if not isinstance(raw, dict) or not raw:
        raise ConfigError(path, "groups", f"expected a mapping name: [start, end), found {raw!r}")
    ranges: dict[str, tuple[int, int]] = {}
    for name, value in raw.items():
        ok = isinstance(value, list) and len(value) == 2 and all(type(v) is int for v in value)
        if not ok or not 0 <= value[0] < value[1]:
            raise ConfigError(path, f"groups.{name}", f"expected [start, end) with 0 <= start < end, found {value!r}")
        ranges[str(name)] = (value[0], value[1])
    ordered = dict(sorted(ranges.items(), key=lambda item: item[1]))
    end = 0
    for name, (start, stop) in ordered.items():
        if start < end:
            raise ConfigError(path, f"groups.{name}", f"[{start}, {stop}) overlaps the previous group")
        if start > end:
            raise ConfigError(path, f"groups.{name}",
                              f"[{start}, {stop}) leaves dimensions {end}..{start - 1} ungrouped")
        end = stop
    return ActionGroups(ordered)


def _positive(value: Any, path: Path, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise ConfigError(path, where, f"expected a number > 0, found {value!r}")
    return float(value)


def _weighting(raw: Any, groups: ActionGroups, path: Path) -> LossWeightingConfig:
    if not isinstance(raw, dict):
        raise ConfigError(path, "loss_weighting", f"expected a mapping, found {raw!r}")
    group_weights = raw.get("group_weights") or {}
    if not isinstance(group_weights, dict):
        raise ConfigError(path, "loss_weighting.group_weights", f"expected a mapping, found {group_weights!r}")
    unknown = sorted(set(group_weights) - set(groups.names))
    if unknown:
        raise ConfigError(path, f"loss_weighting.group_weights.{unknown[0]}",
                          f"no such group; groups: {', '.join(groups.names)}")
    dimension_weights = raw.get("dimension_weights") or []
    if not isinstance(dimension_weights, list):
        raise ConfigError(path, "loss_weighting.dimension_weights", f"expected a list, found {dimension_weights!r}")
    weighting = LossWeightingConfig(
        strategy=raw.get("strategy", "uniform"),
        group_weights={k: _positive(v, path, f"loss_weighting.group_weights.{k}") for k, v in group_weights.items()},
        dimension_weights=tuple(_positive(v, path, f"loss_weighting.dimension_weights[{i}]")
                                for i, v in enumerate(dimension_weights)),
    )
    _check_weighting(weighting, groups, path)
    return weighting


def _check_weighting(weighting: LossWeightingConfig, groups: ActionGroups, path: Path) -> None:
    if weighting.strategy not in STRATEGIES:
        raise ConfigError(path, "loss_weighting.strategy",
                          f"expected one of {', '.join(STRATEGIES)}, found {weighting.strategy!r}")
    if weighting.strategy == "per_group":
        missing = [name for name in groups.names if name not in weighting.group_weights]
        if missing:
            raise ConfigError(path, "loss_weighting.group_weights",
                              f"per_group needs a weight for {', '.join(missing)}")
    if weighting.strategy == "per_dimension" and len(weighting.dimension_weights) != groups.dim:
        raise ConfigError(path, "loss_weighting.dimension_weights",
                          f"per_dimension needs {groups.dim} weights, found {len(weighting.dimension_weights)}")


def _filters(raw: Any, groups: ActionGroups, path: Path) -> dict[str, EpisodeFilterConfig]:
    if not isinstance(raw, dict):
        raise ConfigError(path, "filters", f"expected a mapping name: {{group, min_share}}, found {raw!r}")
    filters = {}
    for name, spec in raw.items():
        where = f"filters.{name}"
        if not isinstance(spec, dict) or set(spec) != {"group", "min_share"}:
            raise ConfigError(path, where, f"expected {{group: <name>, min_share: <0..1>}}, found {spec!r}")
        if spec["group"] not in groups.names:
            raise ConfigError(path, f"{where}.group", f"no group {spec['group']!r}; groups: {', '.join(groups.names)}")
        share = spec["min_share"]
        if isinstance(share, bool) or not isinstance(share, int | float) or not 0 <= share <= 1:
            raise ConfigError(path, f"{where}.min_share", f"expected a number in [0, 1], found {share!r}")
        filters[str(name)] = EpisodeFilterConfig(spec["group"], float(share))
    return filters
