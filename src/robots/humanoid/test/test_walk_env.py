"""The walking env (gym_env.py) beyond test_walking_env.py: the servo model acts inside the env as
configured (a k-tick latency delays the joint's response by exactly k ticks while the estimate
integrates the command at once, as on the robot; the deadband leaves small commands stopped); the
env judges falls with the walking task's thresholds and reads the IMU the robot config declares;
the episode truncates at its length; servo draws come from the env's seeded RNG."""

import numpy as np
import pytest

from humanoid.walk.gym_env import WalkEnv
from humanoid.walk.task import WalkConfig

EXACT_SERVOS = dict(deadband=[0.0, 0.0], gain=[1.0, 1.0])
ELBOW = 3  # right_elbow: light, so one tick of speed moves it at once (bending it: -)


@pytest.mark.parametrize("latency", [0, 1, 2, 3])
def test_latency_delays_the_joints_response_by_exactly_k_ticks(latency):
    env = WalkEnv(joint_noise=0.0, servos=dict(EXACT_SERVOS, latency_ticks=[latency, latency]))
    env.reset(seed=0)
    ctrl, speed = [], []
    for tick in range(5):
        action = np.zeros(17)
        action[ELBOW] = -1.0 if tick == 0 else 0.0
        obs, *_ = env.step(action)
        ctrl.append(env.data.ctrl[ELBOW])
        speed.append(abs(env.data.qvel[env.layout.joint_qvel[ELBOW]]))
        if tick == 0:  # the estimate follows the command as sent, not as the servo acts on it
            assert obs[ELBOW] == pytest.approx(env.robot.home[ELBOW] - env.top_speed[ELBOW] * env.period)
    expected = np.zeros(5)
    expected[latency] = -env.top_speed[ELBOW]
    assert np.allclose(ctrl, expected)
    assert max(speed[:latency], default=0.0) < 0.05 < speed[latency]


def test_the_deadband_leaves_small_commands_stopped():
    env = WalkEnv(joint_noise=0.0, servos=dict(deadband=[0.5, 0.5], gain=[1.0, 1.0], latency_ticks=[0, 0]))
    env.reset(seed=0)
    action = np.zeros(17)
    action[ELBOW], action[0] = 0.05, 0.1  # 0.3 rad/s (inside the deadband), 0.6 rad/s (outside)
    env.step(action)
    assert env.data.ctrl[ELBOW] == 0.0 and env.data.ctrl[0] == pytest.approx(0.1 * env.top_speed[0])


def test_falls_are_judged_with_the_walking_tasks_thresholds():
    fall, task = WalkEnv().config.fall, WalkConfig()
    assert (fall.height_fraction, fall.tilt_deg) == (task.fall_height, task.fall_tilt_deg)


def test_the_deployable_imu_part_holds_the_sensors_the_robot_config_declares():
    env = WalkEnv(observation="deployable")
    env.reset(seed=1)
    obs, *_ = env.step(np.full(17, 0.5))
    declared = np.concatenate([env.data.sensor(name).data for name in env.robot.imu.sensors().values()])
    assert np.allclose(obs[-len(declared):], declared, atol=1e-6)


@pytest.mark.parametrize("settings", [dict(observation="notebook"), dict(legs_only=True)])
def test_the_reward_is_the_sum_of_its_terms_while_flailing(settings):
    env = WalkEnv(**settings)
    env.reset(seed=2)
    rng = np.random.default_rng(2)
    for _ in range(40):
        _, reward, terminated, truncated, info = env.step(rng.uniform(-1, 1, env.action_space.shape))
        assert reward == pytest.approx(sum(v for k, v in info.items() if k.startswith("reward_")))
        if terminated or truncated:
            break


def test_the_shaping_terms_are_off_in_the_notebooks_reward():
    env = WalkEnv()
    env.reset(seed=0)
    _, _, _, _, info = env.step(env.action_space.sample())
    assert [info[f"reward_{name}"] for name in ("forward_tracking", "feet_phase", "pose", "action_rate")] == [0.0] * 4


def test_each_shaping_term_pays_what_it_says():
    from humanoid.walk import batch_terms as terms
    from humanoid.walk.walk_config import RewardConfig

    env = WalkEnv(legs_only=True)
    env.reset(seed=0)
    layout, home = env.layout, env.home_pose
    qpos, qvel = np.tile(env.data.qpos, (4, 1)), np.zeros((4, env.model.nv))
    qpos[:, layout.joint_qpos] = home
    qpos[3, layout.joint_qpos[6]] += 0.2  # env 3: right knee off home
    qvel[:, layout.base_qvel] = [0.15, 0.0, 0.15, 0.15]  # forward speed: at the target, standing
    contacts = np.array([[False, True], [False, True], [True, False], [True, True]])  # (left, right) down
    clock = np.array([[1.0, 0.0], [1.0, 0.0], [1.0, 0.0], [-1.0, 0.0]])  # sin >= 0: right stance, left swing
    action = np.zeros((4, 10))
    action[2] = 1.0
    tick = terms.Tick(contacts, np.zeros(4, bool), clock, action, np.zeros((4, 10)), home)
    cfg = RewardConfig(forward_tracking=1.0, feet_phase=1.0, pose=1.0, action_rate=1.0)
    parts = terms.reward_terms(cfg, layout, qpos, qvel, tick)
    assert parts["forward_tracking"] == pytest.approx([1.0, np.exp(-(0.15 / 0.1) ** 2), 1.0, 1.0])
    assert parts["feet_phase"].tolist() == [1.0, 1.0, 0.0, 0.0]  # env 2: wrong foot down; env 3: both down
    assert parts["pose"] == pytest.approx([0.0, 0.0, 0.0, -0.04 / 17])
    assert parts["action_rate"] == pytest.approx([0.0, 0.0, -1.0, 0.0])


def test_standing_still_truncates_at_the_episode_length():
    env = WalkEnv(episode_s=2.0)  # 25 ticks (stopped servos creep: half the seeds fall within 20 s)
    env.reset(seed=4)
    for tick in range(1, 26):
        _, _, terminated, truncated, _ = env.step(np.zeros(17))
        assert not terminated and truncated == (tick == 25)


def test_servo_draws_come_from_the_env_rng():
    env = WalkEnv()
    env.reset(seed=5)
    first = env.servos.gain.copy(), env.servos.deadband.copy(), env.servos.latency.copy()
    env.reset()
    assert not np.array_equal(env.servos.gain, first[0])  # a new episode, new servos
    env.reset(seed=5)
    assert all(np.array_equal(a, b) for a, b in zip(first, (env.servos.gain, env.servos.deadband, env.servos.latency)))
