"""The walking env: registered through the workspace's entry points and valid for Gymnasium; the
deployable observation holds only what the robot provides; legs-only leaves head and arms
stopped; the servo model's latency and deadband act as configured; reward = sum of its terms."""

import gymnasium
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from humanoid.walk.gym_env import WalkEnv
from humanoid.walk.servos import ServoBank, ServoConfig
from humanoid.walk.walk_config import load_walk_config
from sim2real_common.errors import ConfigError
from sim2real_common.registry import register_envs

IDS = {"HumanoidWalk-v0": (48, 17), "HumanoidWalkDeploy-v0": (46, 17), "HumanoidWalkLegs-v0": (39, 10)}


@pytest.mark.parametrize("env_id", IDS)
def test_registered_ids_pass_gymnasiums_checks(env_id):
    assert env_id in register_envs()
    env = gymnasium.make(env_id)
    check_env(env.unwrapped, skip_render_check=True)
    assert (env.observation_space.shape[0], env.action_space.shape[0]) == IDS[env_id]


def test_the_deployable_observation_does_not_see_the_true_joints():
    env = WalkEnv(observation="deployable")
    obs, _ = env.reset(seed=3)
    assert np.allclose(obs[:17], env.robot.home)  # the estimate starts at home; the truth has noise
    env.data.qpos[env.layout.joint_qpos] += 0.3  # the joints move without being told to
    obs, *_ = env.step(np.zeros(17))
    assert np.allclose(obs[:17], env.robot.home)  # nothing commanded: the estimate stays
    action = np.zeros(17)
    action[6] = 0.5  # right knee at half its top speed
    obs, *_ = env.step(action)
    assert obs[6] == pytest.approx(env.robot.home[6] + 0.5 * env.top_speed[6] * env.period)
    assert np.allclose(obs[17:34], action)  # the last action follows


def test_legs_only_tells_head_and_arms_to_stop():
    env = WalkEnv(observation="deployable", legs_only=True, servos=dict(latency_ticks=[0, 0]))
    env.reset(seed=0)
    env.step(np.ones(10))
    arms = [env.robot.joint_names.index(n) for n in env.robot.groups["upper_body"]]
    assert np.all(env.data.ctrl[arms] == 0.0) and np.all(env.data.ctrl[env.driven] != 0.0)


def test_stopped_servos_stand_and_flailing_falls():
    env = WalkEnv()
    env.reset(seed=0)
    for _ in range(25):  # 2 s
        _, reward, terminated, truncated, info = env.step(np.zeros(17))
        assert not terminated
    assert reward == pytest.approx(sum(v for k, v in info.items() if k.startswith("reward_")))
    falls = 0
    for seed in range(3):
        env.reset(seed=seed)
        rng = np.random.default_rng(seed)
        for _ in range(60):
            if env.step(rng.choice([-1.0, 1.0], size=17))[2]:
                falls += 1
                break
    assert falls >= 1


def test_latency_delays_and_deadband_stops_commands():
    limit = np.full(2, 6.0)
    bank = ServoBank(ServoConfig(deadband=(0.5, 0.5), latency_ticks=(2, 2)), 1, 2, limit)
    bank.randomize(np.random.default_rng(0))
    sent = [np.array([[1.0, 0.2]]), np.zeros((1, 2)), np.zeros((1, 2))]
    acted = [bank.actuate(command) for command in sent]
    assert np.allclose(acted[0], 0) and np.allclose(acted[1], 0)  # still in flight
    assert np.allclose(acted[2], [[1.0, 0.0]])  # two ticks late; 0.2 rad/s is inside the deadband


def test_unknown_settings_are_named(tmp_path):
    path = tmp_path / "walk.yaml"
    path.write_text("episode_s: 5\nreward: {uprite: 1.0}\n")
    with pytest.raises(ConfigError, match=r"walk.yaml: reward.uprite: unknown key \(did you mean 'upright'"):
        load_walk_config(path)
