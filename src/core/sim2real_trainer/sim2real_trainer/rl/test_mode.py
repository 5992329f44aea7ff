"""Deterministic episodes of a trained model (its VecNormalize statistics frozen), with an MP4
when the env renders rgb_array frames. Headless: frames render offscreen (MuJoCo through EGL),
no window ever opens."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import nullcontext
from pathlib import Path

from sim2real_common.errors import brief
from sim2real_trainer.errors import TrainerError
from sim2real_trainer.rl.run_files import vecnormalize_beside


def run_episodes(env_id: str, model_path: Path, episodes: int, seed: int = 0, video: Path | None = None,
                 env_kwargs: dict | None = None) -> Iterator[tuple[float, int]]:
    """(return, length) of each episode as it ends, on ``gymnasium.make(env_id, **env_kwargs)``;
    ``video``: every frame of every episode in one MP4."""
    os.environ.setdefault("MUJOCO_GL", "egl")  # before any MuJoCo env imports mujoco
    import gymnasium
    from stable_baselines3 import PPO
    from stable_baselines3.common.env_util import make_vec_env
    from stable_baselines3.common.vec_env import VecNormalize

    from sim2real_trainer.rl.video import Mp4Writer

    if not model_path.is_file():
        raise TrainerError(f"model {model_path} does not exist")
    try:
        model = PPO.load(model_path, device="cpu")
    except Exception as err:  # not an SB3 zip, or a truncated one
        raise TrainerError(f"{model_path}: cannot load a Stable-Baselines3 PPO model ({brief(err)})") from err
    stats = vecnormalize_beside(model_path)
    normalizer = None
    if stats is not None:
        normalizer = VecNormalize.load(str(stats), make_vec_env(env_id, n_envs=1, env_kwargs=env_kwargs))
        normalizer.training, normalizer.norm_reward = False, False
    env = gymnasium.make(env_id, render_mode="rgb_array" if video else None, **(env_kwargs or {}))
    try:
        if video:
            _check_renders(env, env_id)
        with Mp4Writer(video, env.metadata.get("render_fps") or 30) if video else nullcontext() as writer:
            for k in range(episodes):
                obs, _ = env.reset(seed=seed + k)
                total, length, done = 0.0, 0, False
                if video:
                    writer.append(env.render())
                while not done:
                    x = normalizer.normalize_obs(obs) if normalizer is not None else obs
                    action, _ = model.predict(x, deterministic=True)
                    obs, reward, terminated, truncated, _ = env.step(action)
                    total, length, done = total + float(reward), length + 1, terminated or truncated
                    if video:
                        writer.append(env.render())
                yield total, length
    finally:
        env.close()


def _check_renders(env, env_id: str) -> None:
    """A clear error before any episode when the env cannot give rgb_array frames."""
    if "rgb_array" not in env.metadata.get("render_modes", []):
        raise TrainerError(f"{env_id} does not render rgb_array frames (its render modes: "
                           f"{', '.join(env.metadata.get('render_modes', [])) or 'none'}); drop --video")
    env.reset()
    try:
        frame = env.render()
    except Exception as err:  # e.g. gymnasium's DependencyNotInstalled: pygame for the classic-control envs
        raise TrainerError(f"{env_id} cannot render: {brief(err)}; drop --video") from err
    if frame is None:
        raise TrainerError(f"{env_id} rendered no rgb_array frame; drop --video")
