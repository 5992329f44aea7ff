"""The batched VecEnv steps every env in one mujoco.batch call and gives the single env's
episodes exactly; done envs reset themselves as SB3 expects; SB3's PPO trains on it."""

import numpy as np
import pytest

from humanoid.walk.batched_env import BatchedWalkEnv, make_batched
from humanoid.walk.gym_env import WalkEnv

FIXED = dict(observation="deployable", legs_only=True, joint_noise=0.0,
             servos=dict(deadband=[0.1, 0.1], gain=[1.0, 1.0], latency_ticks=[1, 1]),
             reward=dict(forward_tracking=1.0, feet_phase=0.5, pose=2.0, action_rate=0.1))  # every term weighted


def test_each_env_of_the_batch_runs_the_single_envs_episode():
    batched, single = BatchedWalkEnv(3, seed=0, **FIXED), WalkEnv(**FIXED)
    obs = batched.reset()
    first, _ = single.reset(seed=0)
    assert np.array_equal(obs[0], first)
    rng = np.random.default_rng(1)
    for _ in range(60):
        actions = rng.uniform(-1, 1, (3, 10))
        obs, rewards, dones, infos = batched.step(actions)
        expected, reward, terminated, truncated, _ = single.step(actions[0])
        got = infos[0]["terminal_observation"] if dones[0] else obs[0]
        assert np.array_equal(got, expected) and rewards[0] == pytest.approx(reward, abs=1e-6)
        assert dones[0] == (terminated or truncated)
        if dones[0]:
            assert infos[0]["TimeLimit.truncated"] == truncated
            assert obs[0][:17].tolist() == pytest.approx(single.robot.home)  # the next episode's start
            break
    else:
        pytest.fail("random full-speed commands never ended an episode in 60 ticks")


def test_ppo_trains_on_it():
    from stable_baselines3 import PPO

    venv = make_batched("HumanoidWalkLegs-v0", 4, seed=0)
    model = PPO("MlpPolicy", venv, n_steps=16, batch_size=32, n_epochs=1, seed=0, device="cpu")
    model.learn(64)
    assert model.num_timesteps >= 64
    with pytest.raises(ValueError, match="not a humanoid walking env"):
        make_batched("Pendulum-v1", 2)
