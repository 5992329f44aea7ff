"""VecNormalize observation statistics of an SB3 model, applied when serving it.

A model trained inside ``VecNormalize`` only ever saw normalised observations; served raw ones it
acts differently. ``VecNormalize.save()`` pickles the wrapper with its statistics (SB3 scripts and
rl-zoo name the file ``vecnormalize.pkl``). The pickle carries no vectorized env and we attach
none: we read ``norm_obs``, ``obs_rms``, ``clip_obs`` and ``epsilon`` and normalise exactly as
``VecNormalize.normalize_obs`` does with training=False (frozen statistics). Reward statistics
do not matter for serving. Unpickling runs code from the file: trust it as you trust the zip.
"""

from __future__ import annotations

import pickle
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sim2real_common.errors import brief
from sim2real_policy.errors import CheckpointFileError, PolicyLoadError
from sim2real_policy.loaders.errors import SidecarError
from sim2real_policy.loaders.sb3_layout import Sb3Layout

DEFAULT_NAME = "vecnormalize.pkl"
PICKLE = "a VecNormalize.save() pickle"


@dataclass(frozen=True)
class ObservationNormalizer:
    source: Path  # the pickle
    mean: np.ndarray
    var: np.ndarray
    clip_obs: float
    epsilon: float

    def __call__(self, obs: np.ndarray) -> np.ndarray:
        """``VecNormalize.normalize_obs`` for a flat Box observation."""
        normalized = (obs - self.mean) / np.sqrt(self.var + self.epsilon)
        return np.clip(normalized, -self.clip_obs, self.clip_obs).astype(np.float32)


def vecnormalize_path(model: Path, layout: Sb3Layout) -> Path | None:
    """The pickle the layout names (relative to the model's folder), else ``vecnormalize.pkl``
    next to the model if there, else None (the model was trained on raw observations)."""
    if layout.vecnormalize is None:
        default = model.parent / DEFAULT_NAME
        return default if default.is_file() else None
    named = model.parent / layout.vecnormalize
    if not named.is_file():
        raise SidecarError(layout.source, "vecnormalize", f"{PICKLE} (relative to the model's folder)",
                           f"{named}: no such file")
    return named


def load_vecnormalize(path: Path, obs_shape: tuple[int, ...]) -> ObservationNormalizer | None:
    """The statistics of ``path`` for a model observing ``obs_shape``; None if saved with norm_obs=False."""
    from stable_baselines3.common.running_mean_std import RunningMeanStd
    from stable_baselines3.common.vec_env import VecNormalize

    try:
        with path.open("rb") as file:
            saved = pickle.load(file)
    except Exception as err:  # a corrupt pickle fails in any of a dozen ways (EOFError, KeyError, ...)
        raise CheckpointFileError(path, PICKLE, f"unpickling failed: {brief(err)}") from err
    if not isinstance(saved, VecNormalize):
        raise PolicyLoadError(f"{path}: expected {PICKLE}, found a pickled {type(saved).__name__}")
    if not saved.norm_obs:
        return None
    rms = getattr(saved, "obs_rms", None)
    if not isinstance(rms, RunningMeanStd):
        found = "per-key statistics (a Dict observation space)" if isinstance(rms, dict) else repr(rms)
        raise PolicyLoadError(f"{path}: obs_rms: expected the statistics of a flat Box observation, found {found}")
    mean, var = np.asarray(rms.mean, dtype=np.float64), np.asarray(rms.var, dtype=np.float64)
    if mean.shape != tuple(obs_shape) or var.shape != mean.shape:
        raise PolicyLoadError(f"{path}: obs_rms: expected observation shape {tuple(obs_shape)} (the model's "
                              f"observation space), found mean {mean.shape}, var {var.shape}")
    return ObservationNormalizer(source=path, mean=mean, var=var, clip_obs=float(saved.clip_obs),
                                 epsilon=float(saved.epsilon))
