"""Stable-Baselines3 zips through load_policy: a tiny PPO trained on the sim core."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pytest
import yaml
from stable_baselines3 import A2C, DDPG, DQN, PPO, SAC, TD3

from sim2real_policy.errors import CheckpointFileError, PolicyLoadError
from sim2real_policy.interface import Feature
from sim2real_policy.loaders import load_policy
from sim2real_policy.loaders.errors import SidecarError
from sim2real_policy.loaders.sb3_layout import layout_from_mapping
from sim2real_policy.loaders.sb3_policy import ALGORITHMS, detect_algorithm
from sim2real_testing.envs import LAYOUT, PAN_STEP, PanReachEnv
from sim2real_testing.policies import train_tiny_ppo

@pytest.fixture(scope="module")
def ppo_zip(tmp_path_factory):
    return train_tiny_ppo(tmp_path_factory.mktemp("sb3") / "pan_ppo.zip", sidecar=False)


def rollout_observations(n: int) -> list[np.ndarray]:
    env = PanReachEnv()
    env.reset(seed=1)
    rng = np.random.default_rng(1)
    states = []
    for _ in range(n):
        env.step(rng.uniform(-1, 1, 1))
        states.append(env.sim.joint_positions())
    return states


def test_served_actions_match_deterministic_predict(ppo_zip):
    path, model = ppo_zip
    path.with_suffix(".yaml").write_text(yaml.safe_dump(LAYOUT))
    policy = load_policy(str(path))
    assert policy.input_features == (Feature("observation.state", (6,)),)
    assert policy.output_features == (Feature("action", (6,)),)
    policy.reset()
    for state in rollout_observations(10):
        expected = state.copy()
        predicted, _ = model.predict(state.astype(np.float32), deterministic=True)
        expected[0] += PAN_STEP * predicted[0]
        np.testing.assert_allclose(policy.select_action({"observation.state": state}), expected, atol=1e-6)


def test_layout_argument_and_absolute_mapping(ppo_zip):
    path, model = ppo_zip
    layout = {**LAYOUT, "action": {"mode": "absolute", "joints": [0], "scale": 0.5, "offset": 0.1}}
    policy = load_policy(str(path), layout=layout)
    state = rollout_observations(1)[0]
    predicted, _ = model.predict(state.astype(np.float32), deterministic=True)
    expected = state.copy()
    expected[0] = 0.5 * predicted[0] + 0.1
    np.testing.assert_allclose(policy.select_action({"observation.state": state}), expected, atol=1e-6)


def test_layout_that_disagrees_with_the_model_is_named(ppo_zip):
    path, _ = ppo_zip
    layout = {
        **LAYOUT,
        "observation": [
            {"feature": "observation.state", "dims": 6},
            {"feature": "observation.environment_state", "dims": 3, "size": 10},
        ],
    }
    with pytest.raises(
        SidecarError, match=r"<layout argument>: observation: expected 6 dims in total.*found 9"
    ):
        load_policy(str(path), layout=layout)
    with pytest.raises(SidecarError, match=r"action.joints: expected 1 joints"):
        load_policy(str(path), layout={**LAYOUT, "action": {"mode": "delta", "joints": [0, 1]}})


def test_missing_layout_sidecar_is_named(ppo_zip, tmp_path):
    copy = tmp_path / "other.zip"
    copy.write_bytes(ppo_zip[0].read_bytes())
    with pytest.raises(SidecarError, match=rf"{tmp_path / 'other.yaml'}: <file>: .*or pass layout="):
        load_policy(str(copy))


@pytest.mark.parametrize("algorithm", [PPO, A2C, SAC, TD3, DDPG, DQN])
def test_algorithm_is_detected_from_the_zip(algorithm, tmp_path):
    env = "CartPole-v1" if algorithm is DQN else "Pendulum-v1"
    path = tmp_path / f"{algorithm.__name__}.zip"
    algorithm("MlpPolicy", env, policy_kwargs={"net_arch": [8]}, device="cpu").save(path)
    assert detect_algorithm(path) == algorithm.__name__


def _rewrite_member(path, member: str, data: bytes | None) -> None:
    """Replace one entry of the zip (None: cut it to half its size)."""
    with zipfile.ZipFile(path) as archive:
        items = {name: archive.read(name) for name in archive.namelist()}
    items[member] = items[member][: len(items[member]) // 2] if data is None else data
    with zipfile.ZipFile(path, "w") as archive:
        for name, content in items.items():
            archive.writestr(name, content)


def test_truncated_zip_is_one_line_naming_the_file(ppo_zip, tmp_path):
    copy = tmp_path / "cut.zip"
    data = ppo_zip[0].read_bytes()
    copy.write_bytes(data[: len(data) // 2])
    with pytest.raises(PolicyLoadError, match=rf"^{copy} is not a Stable-Baselines3 save file .*truncated or corrupt"):
        load_policy(str(copy), layout=LAYOUT)


@pytest.mark.parametrize("layout", [LAYOUT, {**LAYOUT, "algorithm": "PPO"}], ids=["detected", "named"])
def test_truncated_weights_inside_the_zip_name_the_file(ppo_zip, tmp_path, layout):
    copy = tmp_path / "weights.zip"
    copy.write_bytes(ppo_zip[0].read_bytes())
    _rewrite_member(copy, "policy.pth", None)
    with pytest.raises(CheckpointFileError) as error:
        load_policy(str(copy), layout=layout)
    message = str(error.value)
    assert message.startswith(f"{copy}: expected a Stable-Baselines3 PPO save file, but PytorchStreamReader")
    assert "\n" not in message and len(message) < 400


def test_served_action_length_defaults_to_the_state_length():
    def parse(observation: list, action: dict):
        return layout_from_mapping({"observation": observation, "action": action}, Path("l.yaml"),
                                   algorithms=ALGORITHMS)

    state = {"feature": "observation.state", "dims": 2, "size": 4}
    assert parse([state], {"mode": "delta", "joints": [3]}).action.n_joints == 4
    env = {"feature": "observation.environment_state", "dims": 3}
    assert parse([env], {"mode": "absolute", "n_joints": 2}).action.joints == (0, 1)
    with pytest.raises(SidecarError, match=r"l.yaml: action.n_joints: expected the length of the served action"):
        parse([env], {"mode": "absolute"})
