"""The evaluation reward curve of a run (EvalCallback's evaluations.npz) as a PNG."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def plot_rewards(evaluations: Path, png: Path, title: str) -> Path | None:
    if not evaluations.exists():
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    data = np.load(evaluations)
    steps, returns = data["timesteps"], data["results"]
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.plot(steps, returns.mean(axis=1), label="mean return")
    ax.fill_between(steps, returns.min(axis=1), returns.max(axis=1), alpha=0.25, label="min-max")
    ax.set_xlabel("env-steps")
    ax.set_ylabel("evaluation return")
    ax.set_title(title)
    ax.legend()
    fig.tight_layout()
    fig.savefig(png, dpi=100)
    plt.close(fig)
    return png
