"""Prediction analysis of a checkpoint: how well, and whether at all, each joint is learnt.

For the train and validation episodes: per-joint time series (ground truth vs prediction),
scatter plots with R², error histograms, ``statistics.json`` (mean/max absolute error, RMSE, R²,
prediction std vs ground-truth std per joint) and ``predictions.npz``. A joint is in *mode
collapse* when its predictions barely vary compared with the recorded actions:
``pred_std < collapse_ratio * gt_std`` -- the policy outputs (nearly) a constant for it.

Validation episodes default to the dataset's episodes the run did not train on (its
train_config.json lists them when it trained on a selection).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from sim2real_trainer import plots
from sim2real_trainer.errors import TrainerError
from sim2real_trainer.local_dataset import LocalDataset
from sim2real_trainer.predictions import Predictions

STATISTICS_JSON = "statistics.json"
PREDICTIONS_NPZ = "predictions.npz"


@dataclass(frozen=True)
class PredictionAnalysisConfig:
    collapse_ratio: float = 0.1  # pred std below this fraction of the GT std: mode collapse
    stride: int = 1  # analyse every stride-th frame

    def __post_init__(self) -> None:
        if not 0 < self.collapse_ratio < 1:
            raise ValueError(f"collapse ratio must be in (0, 1), got {self.collapse_ratio}")
        if self.stride < 1:
            raise ValueError(f"stride must be >= 1, got {self.stride}")


def r_squared(gt: np.ndarray, pred: np.ndarray) -> float | None:
    """Coefficient of determination of ``pred`` for ``gt``; None when the ground truth is constant."""
    total = float(np.sum((gt - gt.mean()) ** 2))
    return None if total == 0 else 1.0 - float(np.sum((gt - pred) ** 2)) / total


def joint_statistics(gt: np.ndarray, pred: np.ndarray, names: Sequence[str], collapse_ratio: float) -> dict[str, Any]:
    """Per-joint error and spread statistics, and the joints in mode collapse."""
    joints = {}
    for j, name in enumerate(names):
        error = pred[:, j] - gt[:, j]
        gt_std, pred_std = float(gt[:, j].std()), float(pred[:, j].std())
        joints[name] = {
            "mean_abs_error": float(np.abs(error).mean()), "max_abs_error": float(np.abs(error).max()),
            "rmse": float(np.sqrt(np.mean(error**2))), "r2": r_squared(gt[:, j], pred[:, j]),
            "gt_std": gt_std, "pred_std": pred_std, "std_ratio": pred_std / gt_std if gt_std > 0 else None,
            "collapsed": bool(gt_std > 0 and pred_std < collapse_ratio * gt_std),
        }
    errors = np.abs(pred - gt)
    return {
        "n_frames": int(len(gt)), "mean_abs_error": float(errors.mean()), "max_abs_error": float(errors.max()),
        "joints": joints, "collapsed_joints": [name for name, s in joints.items() if s["collapsed"]],
    }


def default_splits(dataset: LocalDataset, trained_on: list[int] | None, val: list[int] | None,
                   train: list[int] | None) -> dict[str, list[int]]:
    """``{"train": [...], "val": [...]}``; val is what the run did not train on unless given."""
    everything = list(range(dataset.total_episodes))
    for name, episodes in (("val", val), ("train", train)):
        bad = [e for e in episodes or [] if e not in everything]
        if bad:
            raise TrainerError(f"{name} episodes {bad}: {dataset.root} has episodes 0..{len(everything) - 1}")
    train = train if train is not None else [e for e in (trained_on or everything) if e not in (val or [])]
    val = val if val is not None else [e for e in everything if e not in train]
    splits = {name: episodes for name, episodes in (("train", train), ("val", val)) if episodes}
    if not splits:
        raise TrainerError("no episodes to analyse")
    return splits


def write_analysis(results: dict[str, Predictions], names: list[str], config: PredictionAnalysisConfig,
                   output_dir: Path, meta: dict[str, Any]) -> dict[str, Any]:
    """Figures, predictions.npz and statistics.json for each split; returns the statistics."""
    output_dir.mkdir(parents=True, exist_ok=True)
    statistics: dict[str, Any] = {**meta, "joint_names": names, "collapse_ratio": config.collapse_ratio,
                                  "stride": config.stride, "splits": {}}
    arrays = {}
    for split, result in results.items():
        stats = joint_statistics(result.ground_truth, result.predicted, names, config.collapse_ratio)
        statistics["splits"][split] = {"episodes": result.episodes, **stats}
        r2 = [stats["joints"][n]["r2"] for n in names]
        plots.prediction_timeseries(result.ground_truth, result.predicted, result.starts, names,
                                    output_dir / f"{split}_timeseries.png", f"{split}: ground truth vs prediction")
        plots.prediction_scatter(result.ground_truth, result.predicted, r2, names,
                                 output_dir / f"{split}_scatter.png", f"{split}: prediction vs ground truth")
        arrays |= {f"{split}_gt": result.ground_truth, f"{split}_pred": result.predicted,
                   f"{split}_episodes": np.array(result.episodes), f"{split}_starts": np.array(result.starts)}
    plots.error_histograms({s: r.predicted - r.ground_truth for s, r in results.items()}, names,
                           output_dir / "error_histograms.png")
    np.savez(output_dir / PREDICTIONS_NPZ, **arrays)
    collapsed = {j for split in statistics["splits"].values() for j in split["collapsed_joints"]}
    statistics["collapsed_joints"] = [n for n in names if n in collapsed]
    (output_dir / STATISTICS_JSON).write_text(json.dumps(statistics, indent=2))
    return statistics


def print_statistics(statistics: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(width=max(Console().width, 110))
    for split, stats in statistics["splits"].items():
        table = Table(title=f"{split}: {len(stats['episodes'])} episodes, {stats['n_frames']} frames")
        for col in ("joint", "mean |err|", "max |err|", "R²", "GT std", "pred std", "ratio", "collapse"):
            table.add_column(col, justify="left" if col == "joint" else "right")
        for name, s in stats["joints"].items():
            r2 = "-" if s["r2"] is None else f"{s['r2']:.3f}"
            ratio = "-" if s["std_ratio"] is None else f"{s['std_ratio']:.3f}"
            table.add_row(name, f"{s['mean_abs_error']:.4f}", f"{s['max_abs_error']:.4f}", r2,
                          f"{s['gt_std']:.4f}", f"{s['pred_std']:.4f}", ratio,
                          "[red]yes[/]" if s["collapsed"] else "no")
        console.print(table)
    collapsed = statistics["collapsed_joints"]
    console.print(f"mode collapse (pred std < {statistics['collapse_ratio']} x GT std): "
                  f"{', '.join(collapsed) if collapsed else 'none'}")


def trained_episodes(pretrained_dir: Path) -> list[int] | None:
    """The episodes a lerobot-train run trained on (None: all, or no train_config.json)."""
    path = pretrained_dir / "train_config.json"
    if not path.is_file():
        return None
    return json.loads(path.read_text()).get("dataset", {}).get("episodes")


def analyze_checkpoint(checkpoint: Path, dataset: LocalDataset, output_dir: Path | None,
                       config: PredictionAnalysisConfig, *, val: list[int] | None = None,
                       train: list[int] | None = None, device: str = "cpu") -> tuple[dict[str, Any], Path]:
    """Analyse ``checkpoint`` (or a run's latest) into ``output_dir`` (default: ``analysis/`` next
    to its pretrained_model, i.e. in the checkpoint step folder); returns (statistics, folder)."""
    from tqdm import tqdm

    from sim2real_policy.loaders import load_policy
    from sim2real_policy.loaders.lerobot_checkpoint import find_pretrained_dir
    from sim2real_trainer.predictions import predict_episodes

    pretrained = find_pretrained_dir(checkpoint)
    policy = load_policy(str(pretrained), device=device)
    splits = default_splits(dataset, trained_episodes(pretrained), val, train)
    results = {}
    for split, episodes in splits.items():
        with tqdm(desc=f"predicting {split}", unit="frame") as bar:
            results[split] = predict_episodes(policy, dataset, episodes, stride=config.stride,
                                              progress=lambda n: bar.update(n - bar.n))
    meta = {"checkpoint": str(pretrained.resolve()), "dataset": str(dataset.root)}
    output_dir = output_dir or pretrained.resolve().parent / "analysis"
    return write_analysis(results, dataset.names("action"), config, output_dir, meta), output_dir
