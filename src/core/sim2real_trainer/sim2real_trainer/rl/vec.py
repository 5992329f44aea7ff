"""The training envs: the preset's batched factory or SB3's DummyVecEnv, monitored (episode
returns into ``monitor/``), VecNormalize on top."""

from __future__ import annotations

from pathlib import Path

from stable_baselines3.common.env_util import make_vec_env
from stable_baselines3.common.vec_env import DummyVecEnv, VecEnv, VecMonitor, VecNormalize

from sim2real_common.registry import load_object
from sim2real_trainer.errors import TrainerError
from sim2real_trainer.rl.hyperparams import Preset


def make_envs(env_id: str, preset: Preset, seed: int, *, resume_stats: Path | None = None, training: bool = True,
              monitor_dir: Path | None = None):
    """``preset.n_envs`` envs; ``resume_stats``: continue from saved VecNormalize statistics;
    ``training=False``: frozen statistics and raw rewards (the evaluation env)."""
    if monitor_dir is not None:
        monitor_dir.mkdir(parents=True, exist_ok=True)
    if preset.vec_env:
        venv = load_object(preset.vec_env)(env_id, preset.n_envs, seed, **preset.env_kwargs)
        if not isinstance(venv, VecEnv):
            raise TrainerError(f"{preset.source}: {preset.name}.vec_env: {preset.vec_env} returned "
                               f"{type(venv).__name__}, expected a stable_baselines3 VecEnv")
        venv = VecMonitor(venv, filename=str(monitor_dir / "vec") if monitor_dir is not None else None)
    else:
        venv = make_vec_env(env_id, n_envs=preset.n_envs, seed=seed, vec_env_cls=DummyVecEnv,
                            env_kwargs=preset.env_kwargs,
                            monitor_dir=str(monitor_dir) if monitor_dir is not None else None)
    if resume_stats is not None:
        venv = VecNormalize.load(str(resume_stats), venv)
        venv.training = training
    elif preset.normalize:
        keywords = preset.normalize if isinstance(preset.normalize, dict) else {}
        venv = VecNormalize(venv, training=training, **keywords)
    if not training and isinstance(venv, VecNormalize):
        venv.norm_reward = False  # evaluation returns in the env's own units
    return venv

