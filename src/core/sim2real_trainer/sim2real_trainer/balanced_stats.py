"""Balanced normalisation statistics, written as a stats override for training.

Per-dimension normalisation blows up dimensions that barely move (a tiny std turns noise into
unit-size targets) and hides how groups compare. The balanced statistics normalise every
dimension of a group with one shared scale, so groups end up with comparable scale while
dimensions keep their relative size within the group:

- ``std``: the group's RMS std (``sqrt(mean(std_d^2))``); ``mean`` unchanged;
- ``min``/``max``, ``q01``/``q99``, ``q10``/``q90``: each dimension keeps its centre, the
  half-width becomes the group's largest (no value leaves the normalised range).

The override file is ``{feature: {stat: list}}``; ``sim2real train --stats-override`` puts it into
the dataset stats before the processors are built, so the checkpoint carries it.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from sim2real_common.errors import ConfigError
from sim2real_trainer.groups import GroupsConfig
from sim2real_trainer.local_dataset import LocalDataset, load_stats

RANGE_PAIRS = (("min", "max"), ("q01", "q99"), ("q10", "q90"))
DEFAULT_FEATURES = ("action", "observation.state")

Stats = dict[str, dict[str, np.ndarray]]


def balance(stats: dict[str, np.ndarray], config: GroupsConfig) -> dict[str, np.ndarray]:
    """The balanced statistics of one feature (only the stats that change)."""
    out: dict[str, np.ndarray] = {}
    if "std" in stats:
        std = np.asarray(stats["std"], dtype=float).copy()
        for name in config.groups.names:
            dims = list(config.groups.dims(name))
            std[dims] = np.sqrt(np.mean(std[dims] ** 2))
        out["std"] = std
    for low_key, high_key in RANGE_PAIRS:
        if low_key in stats and high_key in stats:
            low, high = np.asarray(stats[low_key], dtype=float), np.asarray(stats[high_key], dtype=float)
            centre, half = (low + high) / 2, (high - low) / 2
            for name in config.groups.names:
                dims = list(config.groups.dims(name))
                half[dims] = half[dims].max()
            out[low_key], out[high_key] = centre - half, centre + half
    return out


def balanced_stats(dataset: LocalDataset, config: GroupsConfig,
                   features: tuple[str, ...] = DEFAULT_FEATURES) -> Stats:
    stats = load_stats(dataset)
    override = {}
    for feature in features:
        config.check_dim(dataset.dim(feature), f"{feature} of {dataset.root}")
        override[feature] = balance(stats[feature], config)
    return override


def write_override(override: Stats, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({f: {k: v.tolist() for k, v in s.items()} for f, s in override.items()}, indent=2))
    return path


def load_override(path: Path) -> Stats:
    try:
        raw = json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise FileNotFoundError(f"stats override {path} does not exist") from None
    except json.JSONDecodeError as err:
        raise ConfigError(path, "<file>", f"malformed JSON: {err}") from None
    if not isinstance(raw, dict):
        raise ConfigError(path, "<file>", "expected {feature: {stat: [values]}}")
    return {f: {k: np.asarray(v, dtype=float) for k, v in s.items()} for f, s in raw.items()}


def apply_override(stats: dict, override: Stats, path: Path) -> None:
    """Replace ``stats[feature][stat]`` in place (LeRobot dataset.meta.stats), shapes checked."""
    for feature, values in override.items():
        if feature not in stats:
            raise ConfigError(path, feature, f"the dataset has no stats for it; it has {', '.join(stats)}")
        for key, value in values.items():
            if key not in stats[feature]:
                raise ConfigError(path, f"{feature}.{key}", f"no such statistic; the dataset has "
                                                            f"{', '.join(stats[feature])}")
            current = np.asarray(stats[feature][key])
            if current.shape != value.shape:
                raise ConfigError(path, f"{feature}.{key}",
                                  f"expected shape {current.shape} like the dataset's, found {value.shape}")
            stats[feature][key] = value.astype(current.dtype)
