"""Action magnitude analysis: how much each dimension and group moves, and weights.

Per dimension, over all frames: mean, std, variance, min, max, mean |a|, and the per-step motion
``mean |a[t+1] - a[t]|`` within episodes; the same in the normalised space the policy's loss sees
(``mean_std``: divided by the dataset std as ACT does, ``min_max``: by half the range as
Diffusion does). Groups average their dimensions.

Suggested weights: a group whose normalised actions move less per step contributes less to a
chunked L1/MSE loss (the policy sees the current state; what it must predict is the motion), so
its weight is ``1 / normalised motion`` -- capped at ``MAX_RATIO`` times the smallest -- and the
weights are normalised to mean 1 over dimensions, like the trainer does.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from sim2real_trainer.groups import ActionGroups, GroupsConfig
from sim2real_trainer.local_dataset import LocalDataset, episode_arrays, load_stats

NORMALIZATIONS = ("mean_std", "min_max", "identity")
MAX_RATIO = 10.0
EPS = 1e-8  # LeRobot's normaliser adds the same to the denominator
ANALYSIS_JSON = "action_analysis.json"
ANALYSIS_PNG = "action_analysis.png"


def normalization_scale(stats: dict[str, np.ndarray], mode: str) -> np.ndarray:
    """What the policy's normaliser divides each dimension by (after centring)."""
    if mode == "mean_std":
        return np.asarray(stats["std"], dtype=float) + EPS
    if mode == "min_max":
        return (np.asarray(stats["max"], dtype=float) - np.asarray(stats["min"], dtype=float)) / 2 + EPS
    if mode == "identity":
        return np.ones_like(np.asarray(stats["mean"], dtype=float))
    raise ValueError(f"unknown normalization {mode!r}; accepted: {', '.join(NORMALIZATIONS)}")


def step_motion(episodes: list[np.ndarray]) -> np.ndarray:
    """Mean |a[t+1] - a[t]| per dimension over the steps inside the episodes."""
    steps = [np.abs(np.diff(e, axis=0)) for e in episodes if len(e) > 1]
    if not steps:
        return np.zeros(episodes[0].shape[1])
    return np.concatenate(steps).mean(axis=0)


def group_means(values: np.ndarray, groups: ActionGroups) -> dict[str, float]:
    return {name: float(values[list(groups.dims(name))].mean()) for name in groups.names}


def suggest_weights(norm_motion: dict[str, float], groups: ActionGroups) -> dict[str, float]:
    """``1 / motion`` per group, capped at MAX_RATIO x the smallest, mean 1 over dimensions."""
    motion = np.array([norm_motion[g] for g in groups.names])
    motion = np.maximum(motion, motion.max() / MAX_RATIO) if motion.max() > 0 else np.ones_like(motion)
    raw = 1.0 / motion
    sizes = np.array([len(groups.dims(g)) for g in groups.names])
    raw /= (raw * sizes).sum() / sizes.sum()
    return {g: round(float(w), 3) for g, w in zip(groups.names, raw, strict=True)}


def analyze_actions(dataset: LocalDataset, config: GroupsConfig, *, feature: str = "action",
                    normalization: str = "mean_std") -> dict[str, Any]:
    config.check_dim(dataset.dim(feature), f"{feature} of {dataset.root}")
    episodes = list(episode_arrays(dataset, feature).values())
    frames = np.concatenate(episodes)
    scale = normalization_scale(load_stats(dataset)[feature], normalization)
    groups, names = config.groups, dataset.names(feature)
    per_dim = {
        "mean": frames.mean(axis=0), "std": frames.std(axis=0), "var": frames.var(axis=0),
        "min": frames.min(axis=0), "max": frames.max(axis=0), "mean_abs": np.abs(frames).mean(axis=0),
        "motion": step_motion(episodes),
    }
    per_dim["norm_std"] = per_dim["std"] / scale
    per_dim["norm_motion"] = per_dim["motion"] / scale
    dimensions = [{"index": d, "name": names[d], "group": groups.group_of(d),
                   **{key: float(values[d]) for key, values in per_dim.items()}} for d in range(groups.dim)]
    group_rows = {g: {"dims": list(groups.ranges[g])} for g in groups.names}
    for key in ("std", "var", "motion", "norm_std", "norm_motion"):
        for g, value in group_means(per_dim[key], groups).items():
            group_rows[g][key] = value
    weights = suggest_weights({g: group_rows[g]["norm_motion"] for g in groups.names}, groups)
    for g in groups.names:
        group_rows[g]["suggested_weight"] = weights[g]
    return {
        "dataset": str(dataset.root), "feature": feature, "normalization": normalization,
        "groups_config": str(config.path), "n_episodes": len(episodes), "n_frames": int(len(frames)),
        "dimensions": dimensions, "groups": group_rows,
        "suggested_loss_weighting": {"strategy": "per_group", "group_weights": weights},
    }


def write_analysis(analysis: dict[str, Any], output_dir: Path) -> list[Path]:
    from sim2real_trainer import plots

    output_dir.mkdir(parents=True, exist_ok=True)
    json_path = output_dir / ANALYSIS_JSON
    json_path.write_text(json.dumps(analysis, indent=2))
    return [json_path, plots.action_magnitudes(analysis, output_dir / ANALYSIS_PNG)]


def print_analysis(analysis: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(width=max(Console().width, 120))  # the tables need ~115 columns
    dims = Table(title=f"{analysis['feature']} per dimension ({analysis['n_episodes']} episodes, "
                       f"{analysis['n_frames']} frames; normalised: {analysis['normalization']})")
    for col in ("dim", "name", "group", "mean", "std", "min", "max", "|Δ|/step", "norm std", "norm |Δ|/step"):
        dims.add_column(col, justify="right" if col not in ("name", "group") else "left", no_wrap=True)
    for d in analysis["dimensions"]:
        dims.add_row(str(d["index"]), d["name"], d["group"], *(f"{d[k]:.3f}" for k in
                     ("mean", "std", "min", "max", "motion", "norm_std", "norm_motion")))
    console.print(dims)
    groups = Table(title="per group (mean over its dimensions)")
    for col in ("group", "dims", "std", "|Δ|/step", "norm |Δ|/step", "suggested weight"):
        groups.add_column(col, justify="left" if col in ("group", "dims") else "right")
    for name, g in analysis["groups"].items():
        groups.add_row(name, f"[{g['dims'][0]}, {g['dims'][1]})", f"{g['std']:.4f}", f"{g['motion']:.4f}",
                       f"{g['norm_motion']:.4f}", f"{g['suggested_weight']:.3f}")
    console.print(groups)
    weights = ", ".join(f"{g}: {w}" for g, w in analysis["suggested_loss_weighting"]["group_weights"].items())
    console.print("suggested loss_weighting (for config/trainer/*.yaml):\n"
                  f"  strategy: per_group\n  group_weights: {{{weights}}}")
