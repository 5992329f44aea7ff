"""SB3 layouts for a robot commanded by speed: the policy's own last action and a gait clock feed
the model (nothing serves them), a reset clears both, and undriven joints are told to stop."""

from __future__ import annotations

from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
from stable_baselines3 import PPO

from sim2real_policy.loaders import load_policy
from sim2real_policy.loaders.errors import SidecarError
from sim2real_policy.loaders.sb3_layout import layout_from_mapping
from sim2real_policy.loaders.sb3_policy import ALGORITHMS

LAYOUT = {
    "control_hz": 10.0,
    "observation": [{"feature": "observation.state", "dims": 3},
                    {"feature": "policy.last_action", "dims": 2},
                    {"feature": "policy.gait_clock", "dims": 2, "hz": 2.0},
                    {"feature": "observation.imu", "start": 4, "dims": 3, "size": 10}],
    "action": {"mode": "velocity", "joints": [0, 2], "scale": 6.0, "n_joints": 3},
}


def _layout(**changes):
    return layout_from_mapping({**LAYOUT, **changes}, Path("walker.yaml"), algorithms=ALGORITHMS)


def test_generated_inputs_are_not_served_and_fill_their_slots():
    layout = _layout()
    assert [f.name for f in layout.input_features] == ["observation.state", "observation.imu"]
    observation = {"observation.state": np.array([0.1, 0.2, 0.3]), "observation.imu": np.arange(10.0)}
    vector = layout.observation_vector(observation, np.array([0.5, -0.5]), ticks=1)
    phase = 2 * np.pi * 2.0 * 1 / 10.0
    assert np.allclose(vector, [0.1, 0.2, 0.3, 0.5, -0.5, np.sin(phase), np.cos(phase), 4, 5, 6])
    assert np.allclose(layout.action.apply(np.array([1.0, -0.5]), None), [6.0, 0.0, -3.0])  # joint 1 stops


@pytest.mark.parametrize("changes, where", [
    ({"control_hz": 0.0}, "observation[2]"),
    ({"observation": LAYOUT["observation"][:1] + [{"feature": "policy.last_action", "dims": 3}]}, "observation[1].dims"),
])
def test_inconsistent_generated_inputs_are_named(changes, where):
    with pytest.raises(SidecarError) as err:
        _layout(**changes)
    assert f"walker.yaml: {where}" in str(err.value)


class _Box(gym.Env):
    observation_space = gym.spaces.Box(-10, 10, (10,), np.float32)
    action_space = gym.spaces.Box(-1, 1, (2,), np.float32)


def test_the_policy_remembers_its_last_action_until_a_reset(tmp_path):
    path = tmp_path / "walker.zip"
    PPO("MlpPolicy", _Box(), seed=0, n_steps=8, batch_size=8).save(path)
    policy = load_policy(str(path), layout=LAYOUT)
    observation = {"observation.state": np.zeros(3), "observation.imu": np.zeros(10)}
    first = policy.select_action(observation)
    second = policy.select_action(observation)  # same served input, but last action and clock moved on
    policy.reset()
    assert np.allclose(policy.select_action(observation), first)
    assert not np.allclose(first, second)
    assert first[1] == 0.0 and np.all(np.abs(first) <= 6.0)
