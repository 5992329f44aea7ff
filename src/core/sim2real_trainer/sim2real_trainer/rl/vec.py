"""The training envs: the preset's batched factory or SB3's DummyVecEnv, VecNormalize on top."""

from __future__ import annotations

from pathlib import Path

from sim2real_common.registry import load_object
from sim2real_trainer.rl.hyperparams import Preset

VECNORMALIZE = "vecnormalize.pkl"  # beside model.zip: the policy node's SB3 loader reads it there


def make_envs(env_id: str, preset: Preset, seed: int, *, resume_stats: Path | None = None, training: bool = True):
    from stable_baselines3.common.env_util import make_vec_env
    from stable_baselines3.common.vec_env import VecNormalize

    if preset.vec_env:
        venv = load_object(preset.vec_env)(env_id, preset.n_envs, seed)
    else:
        venv = make_vec_env(env_id, n_envs=preset.n_envs, seed=seed)
    if resume_stats is not None:
        venv = VecNormalize.load(str(resume_stats), venv)
        venv.training = training
        venv.norm_reward = training
    elif preset.normalize:
        venv = VecNormalize(venv, training=training, norm_reward=training)
    return venv
