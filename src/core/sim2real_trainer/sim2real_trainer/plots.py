"""The trainer's figures (PNG), drawn with matplotlib's object API (no pyplot state, no display)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure

GROUP_COLORS = ("tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple", "tab:brown")


def _save(fig: Figure, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.stem + ".tmp.png")
    fig.savefig(tmp, dpi=100)
    tmp.replace(path)  # a viewer never sees a half-written file
    return path


def _grid(n: int, width: float = 4.0, height: float = 2.6) -> tuple[Figure, np.ndarray]:
    cols = min(3, n)
    rows = -(-n // cols)
    fig = Figure(figsize=(width * cols, height * rows), layout="constrained")
    return fig, np.atleast_1d(fig.subplots(rows, cols, squeeze=False).ravel())


def loss_curve(rows: Sequence[dict[str, Any]], path: Path, window: int = 50) -> Path:
    """Training loss per step (thin) and its moving average over ``window`` steps."""
    steps = np.array([r["step"] for r in rows])
    loss = np.array([r["loss"] for r in rows])
    fig = Figure(figsize=(8, 4), layout="constrained")
    ax = fig.subplots()
    ax.plot(steps, loss, lw=0.6, alpha=0.4, label="loss")
    if len(loss) >= window:
        smooth = np.convolve(loss, np.ones(window) / window, mode="valid")
        ax.plot(steps[window - 1 :], smooth, lw=1.6, label=f"mean of {window}")
    if len(loss) and loss.min() > 0:
        ax.set_yscale("log")
    ax.set(xlabel="step", ylabel="training loss", title="Training loss")
    ax.grid(alpha=0.3)
    ax.legend()
    return _save(fig, path)


def eval_curve(rows: Sequence[dict[str, Any]], path: Path) -> Path:
    """Success rate in sim per evaluated checkpoint, with the 95% Wilson interval."""
    steps = np.array([r["step"] for r in rows])
    rate = np.array([r["success_rate"] for r in rows])
    low = rate - np.array([r["success_rate_ci95"][0] for r in rows])
    high = np.array([r["success_rate_ci95"][1] for r in rows]) - rate
    fig = Figure(figsize=(8, 4), layout="constrained")
    ax = fig.subplots()
    ax.errorbar(steps, rate, yerr=np.clip(np.vstack([low, high]), 0, None), marker="o", capsize=4)
    n = rows[-1]["n_episodes"] if rows else 0
    ax.set(xlabel="step", ylabel="success rate", ylim=(-0.02, 1.02),
           title=f"Sim evaluation ({n} episodes per checkpoint, 95% Wilson interval)")
    ax.grid(alpha=0.3)
    return _save(fig, path)


def action_magnitudes(analysis: dict[str, Any], path: Path) -> Path:
    """Per-dimension std and per-step motion (raw and normalised), coloured by group; group weights."""
    dims = analysis["dimensions"]
    groups = list(analysis["groups"])
    colors = [GROUP_COLORS[groups.index(d["group"]) % len(GROUP_COLORS)] for d in dims]
    labels = [d["name"] for d in dims]
    panels = (("std", "std (raw units)"), ("motion", "mean |Δa| per step (raw units)"),
              ("norm_motion", f"mean |Δa| per step ({analysis['normalization']})"))
    fig = Figure(figsize=(14, 7), layout="constrained")
    axes = fig.subplots(2, 2).ravel()
    for ax, (key, title) in zip(axes, panels, strict=False):
        ax.bar(labels, [d[key] for d in dims], color=colors)
        ax.set_title(title)
        ax.tick_params(axis="x", rotation=30)
    weights = [analysis["groups"][g]["suggested_weight"] for g in groups]
    axes[3].bar(groups, weights, color=GROUP_COLORS[: len(groups)])
    axes[3].axhline(1.0, color="k", lw=0.8, ls="--")
    axes[3].set_title("suggested per-group loss weight (mean 1 over dimensions)")
    return _save(fig, path)


def prediction_timeseries(gt: np.ndarray, pred: np.ndarray, episode_starts: Sequence[int],
                          names: Sequence[str], path: Path, title: str) -> Path:
    """Ground truth vs prediction per joint over the frames of the analysed episodes."""
    fig, axes = _grid(len(names), width=5.0)
    for j, ax in enumerate(axes[: len(names)]):
        ax.plot(gt[:, j], lw=1.0, label="ground truth")
        ax.plot(pred[:, j], lw=1.0, label="prediction")
        for start in episode_starts[1:]:
            ax.axvline(start, color="grey", lw=0.5, ls=":")
        ax.set_title(names[j])
        ax.set_xlabel("frame")
    axes[0].legend(fontsize=8)
    for ax in axes[len(names) :]:
        ax.set_visible(False)
    fig.suptitle(title)
    return _save(fig, path)


def prediction_scatter(gt: np.ndarray, pred: np.ndarray, r2: Sequence[float | None],
                       names: Sequence[str], path: Path, title: str) -> Path:
    """Prediction against ground truth per joint, with the identity line and R²."""
    fig, axes = _grid(len(names), width=3.6, height=3.4)
    for j, ax in enumerate(axes[: len(names)]):
        ax.scatter(gt[:, j], pred[:, j], s=4, alpha=0.5)
        lo, hi = float(min(gt[:, j].min(), pred[:, j].min())), float(max(gt[:, j].max(), pred[:, j].max()))
        ax.plot([lo, hi], [lo, hi], "k--", lw=0.8)
        score = "n/a" if r2[j] is None else f"{r2[j]:.3f}"
        ax.set_title(f"{names[j]}  R²={score}")
        ax.set(xlabel="ground truth", ylabel="prediction")
    for ax in axes[len(names) :]:
        ax.set_visible(False)
    fig.suptitle(title)
    return _save(fig, path)


def error_histograms(errors: dict[str, np.ndarray], names: Sequence[str], path: Path) -> Path:
    """Histogram of prediction - ground truth per joint, one colour per split."""
    fig, axes = _grid(len(names))
    for j, ax in enumerate(axes[: len(names)]):
        for split, err in errors.items():
            ax.hist(err[:, j], bins=40, alpha=0.5, label=split)
        ax.axvline(0.0, color="k", lw=0.8)
        ax.set_title(names[j])
        ax.set_xlabel("prediction - ground truth")
    axes[0].legend(fontsize=8)
    for ax in axes[len(names) :]:
        ax.set_visible(False)
    fig.suptitle("Prediction errors")
    return _save(fig, path)
