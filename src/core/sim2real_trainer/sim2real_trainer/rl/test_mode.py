"""Deterministic episodes of a trained model (VecNormalize in evaluation mode), with an MP4
when the env renders rgb_array frames. Headless: frames are rendered offscreen, never shown."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from sim2real_trainer.errors import TrainerError
from sim2real_trainer.rl.vec import VECNORMALIZE


def run_episodes(env_id: str, model_path: Path, episodes: int, seed: int = 0,
                 video: Path | None = None) -> list[tuple[float, int]]:
    """(return, length) per episode; ``video``: every frame of every episode into one MP4."""
    import gymnasium
    from stable_baselines3 import PPO
    from stable_baselines3.common.vec_env import VecNormalize

    if not model_path.exists():
        raise TrainerError(f"model {model_path} does not exist")
    model = PPO.load(model_path, device="cpu")
    stats = model_path.with_name(VECNORMALIZE)
    normalizer = VecNormalize.load(str(stats), _dummy(env_id)) if stats.exists() else None
    env = gymnasium.make(env_id, render_mode="rgb_array" if video else None)
    frames, results = [], []
    for k in range(episodes):
        obs, _ = env.reset(seed=seed + k)
        total, length, done = 0.0, 0, False
        while not done:
            x = normalizer.normalize_obs(obs) if normalizer is not None else obs
            action, _ = model.predict(x, deterministic=True)
            obs, reward, terminated, truncated, _ = env.step(action)
            total, length, done = total + float(reward), length + 1, terminated or truncated
            if video:
                frames.append(env.render())
        results.append((total, length))
    env.close()
    if video:
        _write_mp4(video, frames, env.metadata.get("render_fps", 30))
    return results


def _dummy(env_id: str):
    from stable_baselines3.common.env_util import make_vec_env

    return make_vec_env(env_id, n_envs=1)


def _write_mp4(path: Path, frames: list[np.ndarray], fps: float) -> None:
    import imageio.v2 as imageio

    path.parent.mkdir(parents=True, exist_ok=True)
    with imageio.get_writer(path, fps=fps, codec="libx264", macro_block_size=1) as writer:
        for frame in frames:
            writer.append_data(frame)
