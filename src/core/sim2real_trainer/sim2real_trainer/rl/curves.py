"""A run's reward curve (``reward_curve.png``): the training episodes' returns (Monitor files,
one folder per run or resume) and the evaluations (EvalCallback's evaluations.npz), over env-steps."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from sim2real_trainer.rl.run_files import RunFiles


def training_episodes(files: RunFiles) -> tuple[np.ndarray, np.ndarray]:
    """(env-steps at each episode's end, its return), by step. The envs of a VecEnv step together:
    an episode of one of n per-env Monitor files ends at the segment's first step + n x the steps
    its env made; a VecMonitor's single file counts the episodes of all envs (finished steps)."""
    ends = []
    for segment in sorted(files.monitor.glob("[0-9]*")):
        monitors = sorted(segment.glob("*.monitor.csv"))
        for path in monitors:
            rows = _monitor_rows(path)
            lengths = np.cumsum([length for _, length, _ in rows]) * len(monitors)
            ends.extend((int(segment.name) + int(step), ret) for step, (ret, _, _) in zip(lengths, rows))
    ends.sort(key=lambda end: end[0])
    return np.array([step for step, _ in ends], dtype=int), np.array([ret for _, ret in ends], dtype=float)


def _monitor_rows(path: Path) -> list[tuple[float, int, float]]:
    """(return r, length l, time t) of each episode in a Monitor csv (a JSON line, a header, rows)."""
    lines = path.read_text().splitlines()
    if len(lines) < 2 or not lines[0].startswith("#"):
        return []
    names = lines[1].split(",")
    if not {"r", "l", "t"} <= set(names):
        return []
    rows = [dict(zip(names, line.split(","))) for line in lines[2:]]
    return [(float(row["r"]), int(row["l"]), float(row["t"])) for row in rows if len(row) == len(names)]


def plot_rewards(files: RunFiles, title: str, window: int = 20) -> Path | None:
    """The PNG, or None while there is nothing to draw."""
    steps, returns = training_episodes(files)
    evaluations = np.load(files.evaluations) if files.evaluations.is_file() else None
    if not len(returns) and evaluations is None:
        return None
    fig = Figure(figsize=(8, 4), layout="constrained")
    ax = fig.subplots()
    if len(returns):
        ax.plot(steps, returns, lw=0.6, alpha=0.35, color="tab:blue", label="training episodes")
        if len(returns) >= window:
            mean = np.convolve(returns, np.ones(window) / window, mode="valid")
            ax.plot(steps[window - 1:], mean, lw=1.5, color="tab:blue", label=f"mean of {window}")
    if evaluations is not None:
        timesteps, results = evaluations["timesteps"], evaluations["results"]
        ax.plot(timesteps, results.mean(axis=1), marker="o", color="tab:orange", label="evaluation (deterministic)")
        ax.fill_between(timesteps, results.min(axis=1), results.max(axis=1), color="tab:orange", alpha=0.2)
    ax.set(xlabel="env-steps", ylabel="episode return", title=title)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.savefig(files.curve, dpi=100)
    return files.curve
