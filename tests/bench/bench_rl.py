"""Reinforcement-learning speed on one env, printed side by side in one run (asserts nothing):

1. raw batched physics: mujoco.batch steps/s of the env's model over N sims (random controls),
   and the env-step limit it implies (physics steps/s / substeps per control tick);
2. the batched VecEnv alone (random actions): env-steps/s and its share of that limit;
3. PPO end to end on the batched VecEnv (tuned settings, torch 1 thread): env-steps/s;
4. SB3's default pipeline: PPO with its defaults on a DummyVecEnv of one env;
5. SB3's DummyVecEnv over N single envs with the same PPO settings as 3.
The last line compares 3 with 4 and 5.

Run: source scripts/env.sh && python tests/bench/bench_rl.py [--env HumanoidWalkLegs-v0] [--envs 16] [--steps 8192]
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

TUNED = {"n_steps": 128, "batch_size": 256, "n_epochs": 5, "learning_rate": 3e-4}


def physics_rate(model: mujoco.MjModel, n: int, seconds: float = 3.0) -> float:
    batch = mujoco.batch.Batch(model, n, persistent=True)
    ctrl = batch.bind("ctrl")
    low, high = model.actuator_ctrlrange.T
    rng = np.random.default_rng(0)
    steps, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        ctrl[:] = rng.uniform(low, high, ctrl.shape)
        batch.step(nstep=20)
        steps += 20 * n
        if steps % (2000 * n) == 0:
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
    parser.add_argument("--vec-env", default="humanoid.walk.batched_env:make_batched",
                        help="factory(env_id, n_envs, seed) -> the batched VecEnv")
    parser.add_argument("--envs", type=int, default=16)
    parser.add_argument("--steps", type=int, default=8192, help="PPO env-steps per measured run")
    args = parser.parse_args()
    torch.set_num_threads(1)
    register_envs()
    single = gymnasium.make(args.env).unwrapped
    make_batched = load_object(args.vec_env)

    physics = physics_rate(single.model, args.envs)
    limit = physics / single.substeps
    batched = make_batched(args.env, args.envs, 0)
    vec = vec_rate(batched)
    tuned = ppo_rate(batched, args.steps, **TUNED)
    default = ppo_rate(make_vec_env(args.env, n_envs=1, seed=0), args.steps)
    dummy = ppo_rate(make_vec_env(args.env, n_envs=args.envs, seed=0), args.steps, **TUNED)

    print(f"env {args.env}: {args.envs} envs, {single.substeps} physics steps per control tick")
    print(f"raw batched physics      {physics:10.0f} steps/s  -> env-step limit {limit:8.0f}/s")
    print(f"batched VecEnv           {vec:10.0f} env-steps/s ({vec / limit:.2f}x the limit)")
    print(f"PPO end to end (batched) {tuned:10.0f} env-steps/s ({tuned / vec:.2f}x the VecEnv alone)  {TUNED}")
    print(f"SB3 default pipeline     {default:10.0f} env-steps/s (PPO defaults, DummyVecEnv of 1 env)")
    print(f"DummyVecEnv, same PPO    {dummy:10.0f} env-steps/s ({args.envs} single envs)")
    print(f"PPO end-to-end vs SB3 default pipeline: {tuned / default:.1f}x; "
          f"vs DummyVecEnv with the same settings: {tuned / dummy:.1f}x")


if __name__ == "__main__":
    main()
