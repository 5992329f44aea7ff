"""Reinforcement-learning speed on one env, printed side by side in one run (asserts nothing):

1. raw batched physics: mujoco.batch steps/s of the env's model over N sims (random controls),
   and the env-step limit it implies (physics steps/s / substeps per control tick);
2. the batched VecEnv alone (random actions): env-steps/s and its share of that limit;
3. PPO end to end on the batched VecEnv with the env's preset (default ``tuned``: its n_envs,
   PPO settings and env keywords; torch 1 thread): env-steps/s;
4. SB3's default pipeline: PPO with its defaults on a DummyVecEnv of one env;
5. SB3's DummyVecEnv over N single envs with the same PPO settings as 3.
The last line compares 3 with 4 and 5.

Run: source scripts/env.sh && python tests/bench/bench_rl.py [--env HumanoidWalkLegs-v0] [--preset tuned]
     [--steps 16384]
"""

from __future__ import annotations

import argparse
import time

import gymnasium
import mujoco
import mujoco.batch
import numpy as np
import torch
from stable_baselines3 import PPO
from stable_baselines3.common.env_util import make_vec_env

from sim2real_common.registry import load_object, register_envs
from sim2real_trainer.rl.hyperparams import load_preset, preset_file


def physics_rate(model: mujoco.MjModel, n: int, substeps: int, seconds: float = 3.0) -> float:
    batch = mujoco.batch.Batch(model, n, persistent=True)
    ctrl = batch.bind("ctrl")
    low, high = model.actuator_ctrlrange.T
    rng = np.random.default_rng(0)
    steps, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        ctrl[:] = rng.uniform(low, high, ctrl.shape)
        batch.step(nstep=substeps)
        steps += substeps * n
        if steps % (100 * substeps * n) == 0:
            batch.reset(keyframe=np.zeros(n, dtype=int))
    return steps / (time.perf_counter() - start)


def vec_rate(venv, seconds: float = 3.0) -> float:
    venv.reset()
    steps, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        venv.step(np.random.uniform(-1, 1, (venv.num_envs, *venv.action_space.shape)))
        steps += venv.num_envs
    return steps / (time.perf_counter() - start)


def ppo_rate(venv, steps: int, **settings) -> float:
    model = PPO("MlpPolicy", venv, seed=0, device="cpu", **settings)
    start = time.perf_counter()
    model.learn(steps)
    return model.num_timesteps / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", default="HumanoidWalkLegs-v0")
    parser.add_argument("--preset", default="tuned", help="preset of the env's presets file (rl/<env>.yaml)")
    parser.add_argument("--steps", type=int, default=16384, help="PPO env-steps per measured run")
    args = parser.parse_args()
    torch.set_num_threads(1)
    register_envs()
    preset = load_preset(preset_file(args.env, None), args.preset)
    single = gymnasium.make(args.env, **preset.env_kwargs).unwrapped
    make_batched = load_object(preset.vec_env)
    n, settings = preset.n_envs, preset.ppo_arguments()
    shown = {k: v for k, v in preset.ppo.items() if k in ("n_steps", "batch_size", "n_epochs")}

    physics = physics_rate(single.model, n, single.substeps)
    limit = physics / single.substeps
    batched = make_batched(args.env, n, 0, **preset.env_kwargs)
    vec = vec_rate(batched)
    tuned = ppo_rate(batched, args.steps, **settings)
    default = ppo_rate(make_vec_env(args.env, n_envs=1, seed=0, env_kwargs=preset.env_kwargs), args.steps)
    dummy = ppo_rate(make_vec_env(args.env, n_envs=n, seed=0, env_kwargs=preset.env_kwargs), args.steps, **settings)

    print(f"env {args.env}, preset {args.preset!r}: {n} envs, {single.substeps} physics steps per control tick")
    print(f"raw batched physics      {physics:10.0f} steps/s  -> env-step limit {limit:8.0f}/s")
    print(f"batched VecEnv           {vec:10.0f} env-steps/s ({vec / limit:.2f}x the limit)")
    print(f"PPO end to end (batched) {tuned:10.0f} env-steps/s ({tuned / vec:.2f}x the VecEnv alone)  {shown}")
    print(f"SB3 default pipeline     {default:10.0f} env-steps/s (PPO defaults, DummyVecEnv of 1 env)")
    print(f"DummyVecEnv, same PPO    {dummy:10.0f} env-steps/s ({n} single envs)")
    print(f"PPO end-to-end vs SB3 default pipeline: {tuned / default:.1f}x; "
          f"vs DummyVecEnv with the same settings: {tuned / dummy:.1f}x")


if __name__ == "__main__":
    main()
