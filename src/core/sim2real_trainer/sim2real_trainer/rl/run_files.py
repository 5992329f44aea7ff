"""The names of a `sim2real train-rl` run folder, and the checkpoints in it.

    <run>/model.zip, vecnormalize.pkl, model.yaml      final model, its VecNormalize, the node's sidecar
    <run>/best_model.zip, best_vecnormalize.pkl, best_model.yaml   best evaluation so far
    <run>/checkpoints/rl_model_<N>_steps.zip (+ rl_model_vecnormalize_<N>_steps.pkl)   CheckpointCallback's
    <run>/eval/evaluations.npz                          EvalCallback's log (timesteps, results, ep_lengths)
    <run>/monitor/<start step>/*.monitor.csv            training episodes, one folder per run or resume
    <run>/tensorboard/PPO_1/                            TensorBoard events (when tensorboard is installed)
    <run>/train_config.yaml, reward_curve.png           what was run; episode returns over steps

The policy node reads ``model.zip`` with ``model.yaml`` and ``vecnormalize.pkl`` beside it
(sim2real_policy.loaders.sb3_policy); ``best_model.yaml`` names its own pickle. ``--test``
finds each model's pickle with ``vecnormalize_beside``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import NamedTuple

CHECKPOINT_PREFIX = "rl_model"
_CHECKPOINT = re.compile(rf"{CHECKPOINT_PREFIX}_(\d+)_steps\.zip")


class RunFiles(NamedTuple):
    root: Path

    @property
    def model(self) -> Path:
        return self.root / "model.zip"

    @property
    def vecnormalize(self) -> Path:
        return self.root / "vecnormalize.pkl"

    @property
    def sidecar(self) -> Path:
        return self.model.with_suffix(".yaml")

    @property
    def best_model(self) -> Path:
        return self.root / "best_model.zip"

    @property
    def best_vecnormalize(self) -> Path:
        return self.root / "best_vecnormalize.pkl"

    @property
    def best_sidecar(self) -> Path:
        return self.best_model.with_suffix(".yaml")

    @property
    def checkpoints(self) -> Path:
        return self.root / "checkpoints"

    @property
    def eval_dir(self) -> Path:
        return self.root / "eval"

    @property
    def evaluations(self) -> Path:
        return self.eval_dir / "evaluations.npz"

    @property
    def monitor(self) -> Path:
        return self.root / "monitor"

    @property
    def tensorboard(self) -> Path:
        return self.root / "tensorboard"

    @property
    def config(self) -> Path:
        return self.root / "train_config.yaml"

    @property
    def curve(self) -> Path:
        return self.root / "reward_curve.png"

    def monitor_segment(self, start_step: int) -> Path:
        """Monitor files of the run (or resume) that starts at ``start_step``."""
        return self.monitor / f"{start_step:09d}"

    def checkpoint_steps(self) -> list[int]:
        """Steps of the complete checkpoints (model zip present), oldest first."""
        if not self.checkpoints.is_dir():
            return []
        found = (_CHECKPOINT.fullmatch(p.name) for p in self.checkpoints.iterdir())
        return sorted(int(m.group(1)) for m in found if m)

    def checkpoint(self, steps: int) -> tuple[Path, Path]:
        """The model zip and VecNormalize pickle CheckpointCallback writes at ``steps``."""
        return (self.checkpoints / f"{CHECKPOINT_PREFIX}_{steps}_steps.zip",
                self.checkpoints / f"{CHECKPOINT_PREFIX}_vecnormalize_{steps}_steps.pkl")

    def has_progress(self) -> bool:
        """Whether a run got far enough to resume (a final model or a checkpoint)."""
        return self.model.is_file() or bool(self.checkpoint_steps())


def vecnormalize_beside(model: Path) -> Path | None:
    """The VecNormalize pickle saved with ``model`` (final, best or checkpoint), if there."""
    checkpoint = _CHECKPOINT.fullmatch(model.name)
    if checkpoint:
        candidate = model.with_name(f"{CHECKPOINT_PREFIX}_vecnormalize_{checkpoint.group(1)}_steps.pkl")
    elif model.name == "best_model.zip":
        candidate = model.with_name("best_vecnormalize.pkl")
    else:
        candidate = model.with_name("vecnormalize.pkl")
    return candidate if candidate.is_file() else None
