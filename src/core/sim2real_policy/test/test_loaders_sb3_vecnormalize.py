"""A Stable-Baselines3 model trained in VecNormalize is served with its saved observation
statistics: served actions are model.predict(vecnormalize.normalize_obs(obs))."""

from __future__ import annotations

import pickle
import shutil

import gymnasium as gym
import numpy as np
import pytest
import yaml
from stable_baselines3 import PPO
from stable_baselines3.common.vec_env import DummyVecEnv, VecNormalize

from sim2real_policy.errors import CheckpointFileError, PolicyLoadError
from sim2real_policy.loaders import load_policy
from sim2real_policy.loaders.errors import SidecarError

MEAN, SCALE = 5.0, 3.0  # observations far from zero mean, unit scale: the statistics matter
LAYOUT = {"observation": [{"feature": "observation.state", "dims": 3}], "action": {"mode": "absolute"}}


class OffsetEnv(gym.Env):
    """Noise observations around MEAN; reward: actions close to zero."""

    def __init__(self, dims: int = 3) -> None:
        self.observation_space = gym.spaces.Box(-100.0, 100.0, (dims,), np.float32)
        self.action_space = gym.spaces.Box(-1.0, 1.0, (3,), np.float32)
        self._t = 0

    def _obs(self) -> np.ndarray:
        return (MEAN + SCALE * self.np_random.standard_normal(self.observation_space.shape)).astype(np.float32)

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        self._t = 0
        return self._obs(), {}

    def step(self, action):
        self._t += 1
        return self._obs(), -float(np.sum(np.square(action))), False, self._t >= 16, {}


def _vec_env(dims: int = 3, **kwargs) -> VecNormalize:
    return VecNormalize(DummyVecEnv([lambda: OffsetEnv(dims)]), **kwargs)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """model.zip + vecnormalize.pkl + the layout sidecar in one folder; the model."""
    folder = tmp_path_factory.mktemp("sb3_vecnormalize")
    env = _vec_env(clip_obs=2.0)  # clips some of _observations
    model = PPO("MlpPolicy", env, n_steps=64, batch_size=32, n_epochs=1, seed=0, device="cpu",
                policy_kwargs={"net_arch": [8]})
    model.learn(total_timesteps=256)
    model.save(folder / "model.zip")
    env.save(folder / "vecnormalize.pkl")
    (folder / "model.yaml").write_text(yaml.safe_dump(LAYOUT))
    return folder, model


def _observations(n: int) -> list[np.ndarray]:
    rng = np.random.default_rng(1)
    return [MEAN + SCALE * rng.standard_normal(3) * (1 + 2 * (i % 2)) for i in range(n)]


def _copy_model(trained, tmp_path):
    folder, _ = trained
    for name in ("model.zip", "model.yaml"):
        shutil.copy(folder / name, tmp_path / name)
    return tmp_path / "model.zip"


def test_served_actions_are_predictions_on_normalised_observations(trained):
    folder, model = trained
    reference = VecNormalize.load(str(folder / "vecnormalize.pkl"), DummyVecEnv([OffsetEnv]))
    reference.training = False
    policy = load_policy(str(folder / "model.zip"))
    assert policy.normalizer.source == folder / "vecnormalize.pkl" and policy.normalizer.clip_obs == 2.0
    for obs in _observations(8):
        expected, _ = model.predict(reference.normalize_obs(obs.astype(np.float32)), deterministic=True)
        np.testing.assert_allclose(policy.select_action({"observation.state": obs}), expected, atol=1e-6)


def test_without_the_statistics_actions_differ(trained, tmp_path):
    folder, model = trained
    raw = load_policy(str(_copy_model(trained, tmp_path)))
    normalised = load_policy(str(folder / "model.zip"))
    assert raw.normalizer is None
    served = [(raw.select_action({"observation.state": o}), normalised.select_action({"observation.state": o}))
              for o in _observations(8)]
    for obs, (action, _) in zip(_observations(8), served):
        np.testing.assert_allclose(action, model.predict(obs.astype(np.float32), deterministic=True)[0], atol=1e-6)
    assert not np.allclose([a for a, _ in served], [b for _, b in served], atol=1e-3)


def test_layout_names_the_pickle_relative_to_the_model(trained, tmp_path):
    folder, _ = trained
    path = _copy_model(trained, tmp_path)
    (tmp_path / "Offset-v0").mkdir()
    shutil.copy(folder / "vecnormalize.pkl", tmp_path / "Offset-v0" / "vecnormalize.pkl")
    named = load_policy(str(path), layout={**LAYOUT, "vecnormalize": "Offset-v0/vecnormalize.pkl"})
    served = load_policy(str(folder / "model.zip"))
    obs = {"observation.state": _observations(1)[0]}
    np.testing.assert_array_equal(named.select_action(obs), served.select_action(obs))
    with pytest.raises(SidecarError, match=rf"<layout argument>: vecnormalize: expected a VecNormalize.save\(\) "
                                           rf"pickle .*found {tmp_path / 'stats.pkl'}: no such file"):
        load_policy(str(path), layout={**LAYOUT, "vecnormalize": "stats.pkl"})


def test_norm_obs_false_leaves_observations_raw(trained, tmp_path):
    path = _copy_model(trained, tmp_path)
    _vec_env(norm_obs=False).save(tmp_path / "vecnormalize.pkl")
    assert load_policy(str(path)).normalizer is None


def _truncated(folder, tmp_path):
    data = (folder / "vecnormalize.pkl").read_bytes()
    (tmp_path / "vecnormalize.pkl").write_bytes(data[: len(data) // 2])


def _other_shape(folder, tmp_path):
    _vec_env(dims=4).save(tmp_path / "vecnormalize.pkl")


def _not_vecnormalize(folder, tmp_path):
    (tmp_path / "vecnormalize.pkl").write_bytes(pickle.dumps({"obs_rms": None}))


@pytest.mark.parametrize("write, error, message", [
    (_truncated, CheckpointFileError, r"expected a VecNormalize.save\(\) pickle, but unpickling failed: .*corrupt"),
    (_other_shape, PolicyLoadError, r"obs_rms: expected observation shape \(3,\) \(the model's observation "
                                    r"space\), found mean \(4,\), var \(4,\)$"),
    (_not_vecnormalize, PolicyLoadError, r"expected a VecNormalize.save\(\) pickle, found a pickled dict$"),
], ids=["truncated", "other-shape", "not-vecnormalize"])
def test_bad_pickle_is_one_error_naming_the_file(trained, tmp_path, write, error, message):
    path = _copy_model(trained, tmp_path)
    write(trained[0], tmp_path)
    with pytest.raises(error, match=rf"^{tmp_path / 'vecnormalize.pkl'}: {message}") as caught:
        load_policy(str(path))
    assert "\n" not in str(caught.value)
