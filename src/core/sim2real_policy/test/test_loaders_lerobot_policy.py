"""LeRobot checkpoints through load_policy: tiny dataset -> tiny ACT (lerobot_train) -> served."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from sim2real_policy.errors import CheckpointFileError, PolicyLoadError
from sim2real_policy.interface import Feature, Policy
from sim2real_policy.loaders import load_policy
from sim2real_policy.loaders.errors import ObservationError
from sim2real_testing.datasets import make_tiny_dataset
from sim2real_testing.policies import train_tiny_act

N_ACTION_STEPS = 10


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("act")
    dataset = make_tiny_dataset(root / "dataset")
    pretrained = train_tiny_act(dataset, root / "train", n_action_steps=N_ACTION_STEPS)
    return dataset, root / "train", pretrained


@pytest.fixture(scope="module")
def policy(trained):
    return load_policy(str(trained[2]))


def observation(rng: np.random.Generator, cameras=("overhead_cam",)) -> dict[str, np.ndarray]:
    obs = {"observation.state": rng.uniform(-0.5, 0.5, 6)}  # float64, as joint states arrive
    for camera in cameras:
        obs[f"observation.images.{camera}"] = rng.integers(0, 256, (96, 128, 3), dtype=np.uint8)
    return obs


def test_declares_served_features(policy):
    assert isinstance(policy, Policy)
    assert policy.input_features == (
        Feature("observation.state", (6,), "float32"),
        Feature("observation.images.overhead_cam", (96, 128, 3), "uint8"),
    )
    assert policy.output_features == (Feature("action", (6,), "float32"),)
    assert policy.normalization_stats_present == {
        "observation.state": True,
        "observation.images.overhead_cam": True,
        "action": True,
    }


def test_actions_are_denormalised_joint_targets(policy, trained):
    stats = json.loads((trained[0] / "meta" / "stats.json").read_text())["action"]
    mean, std = np.array(stats["mean"]), np.array(stats["std"])
    low, high = np.array(stats["min"]) - 2 * std, np.array(stats["max"]) + 2 * std
    rng = np.random.default_rng(0)
    obs = observation(rng)
    policy.reset()
    action = policy.select_action(obs)
    assert action.shape == (6,) and np.all(np.isfinite(action))
    assert np.all((low <= action) & (action <= high))

    # the served action is the network's first normalised action mapped back with the action stats
    from lerobot.policies.utils import prepare_observation_for_inference

    frame = {k: np.array(v, dtype=np.uint8 if "image" in k else np.float32) for k, v in obs.items()}
    batch = policy.preprocessor(prepare_observation_for_inference(frame, policy.device))
    raw = policy.policy.predict_action_chunk(batch)[0, 0].numpy()
    np.testing.assert_allclose(action, raw * std + mean, atol=1e-5)
    assert not np.allclose(action, raw, atol=1e-2)


def test_reset_empties_the_action_queue(policy, monkeypatch):
    chunks = []
    predict = policy.policy.predict_action_chunk
    monkeypatch.setattr(
        policy.policy, "predict_action_chunk", lambda batch: chunks.append(1) or predict(batch)
    )
    rng = np.random.default_rng(1)
    policy.reset()
    for _ in range(3):
        policy.select_action(observation(rng))
    assert len(chunks) == 1 and len(policy.policy._action_queue) == N_ACTION_STEPS - 3
    policy.reset()
    assert len(policy.policy._action_queue) == 0
    policy.select_action(observation(rng))
    assert len(chunks) == 2  # a fresh chunk after reset, not the rest of the old one


def test_training_output_dir_loads_its_latest_checkpoint(policy, trained):
    from_output_dir = load_policy(str(trained[1]))
    obs = observation(np.random.default_rng(2))
    policy.reset()
    np.testing.assert_array_equal(from_output_dir.select_action(obs), policy.select_action(obs))


def test_missing_camera_names_it_and_what_was_given(policy):
    obs = observation(np.random.default_rng(3), cameras=("wrist_cam",))
    with pytest.raises(
        ObservationError, match=r"camera 'overhead_cam'.*has: .*observation\.images\.wrist_cam"
    ):
        policy.select_action(obs)


def test_wrong_image_shape_is_named(policy):
    obs = observation(np.random.default_rng(4))
    obs["observation.images.overhead_cam"] = np.zeros((48, 64, 3), np.uint8)
    with pytest.raises(ObservationError, match=r"overhead_cam.*\(96, 128, 3\).*\(48, 64, 3\)"):
        policy.select_action(obs)


def test_stats_missing_from_the_processor_are_reported(policy):
    from lerobot.policies.factory import make_pre_post_processors

    from sim2real_policy.loaders.lerobot_policy import LeRobotPolicy

    pre, post = make_pre_post_processors(policy.policy.config)  # no dataset stats
    bare = LeRobotPolicy(policy.policy, pre, post)
    assert bare.normalization_stats_present == dict.fromkeys(policy.normalization_stats_present, False)


def test_checkpoint_without_processors_is_refused(trained, tmp_path):
    copy = shutil.copytree(trained[2], tmp_path / "pretrained_model")
    (copy / "policy_preprocessor.json").unlink()
    with pytest.raises(PolicyLoadError, match=r"lacks policy_preprocessor\.json.*migrate"):
        load_policy(str(copy))


def test_directory_that_is_no_checkpoint_says_what_was_looked_for(tmp_path):
    with pytest.raises(PolicyLoadError, match=r"not a LeRobot checkpoint: found no config\.json"):
        load_policy(str(tmp_path))


def test_highest_numbered_checkpoint_without_last_link(trained, tmp_path):
    from sim2real_policy.loaders.lerobot_checkpoint import find_pretrained_dir

    for step in ("000002", "000010"):
        (tmp_path / "checkpoints" / step / "pretrained_model").mkdir(parents=True)
        for f in trained[2].iterdir():
            shutil.copy(f, tmp_path / "checkpoints" / step / "pretrained_model")
    assert find_pretrained_dir(tmp_path) == tmp_path / "checkpoints" / "000010" / "pretrained_model"


def _truncate(path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


NORMALIZER_STATE = "policy_preprocessor_step_3_normalizer_processor.safetensors"
UNNORMALIZER_STATE = "policy_postprocessor_step_0_unnormalizer_processor.safetensors"


@pytest.mark.parametrize("name,expected", [
    ("model.safetensors", "expected a safetensors file, but its header is unreadable"),
    (NORMALIZER_STATE, "expected a safetensors file, but its header is unreadable"),
    ("config.json", "expected a LeRobot policy config (JSON), but it does not parse"),
    ("policy_postprocessor.json", "expected a LeRobot processor pipeline (JSON), but it does not parse"),
])
def test_truncated_checkpoint_file_is_one_line_naming_it(trained, tmp_path, name, expected):
    copy = shutil.copytree(trained[2], tmp_path / "pretrained_model")
    assert (copy / NORMALIZER_STATE).is_file() and (copy / UNNORMALIZER_STATE).is_file()  # the layout we damage
    _truncate(copy / name)
    with pytest.raises(CheckpointFileError) as error:
        load_policy(str(copy))
    message = str(error.value)
    assert message.startswith(f"{copy / name}: {expected}") and "truncated or corrupt" in message
    assert "\n" not in message


@pytest.mark.parametrize("name,processor", [(NORMALIZER_STATE, "policy_preprocessor.json"),
                                            (UNNORMALIZER_STATE, "policy_postprocessor.json")])
def test_missing_processor_state_is_named_instead_of_a_hub_lookup(trained, tmp_path, name, processor):
    copy = shutil.copytree(trained[2], tmp_path / "pretrained_model")
    (copy / name).unlink()
    with pytest.raises(PolicyLoadError, match=rf"^LeRobot checkpoint {copy} lacks {name}, the state .* of {processor}"):
        load_policy(str(copy))


def test_config_that_lerobot_cannot_decode_names_the_file(trained, tmp_path):
    copy = shutil.copytree(trained[2], tmp_path / "pretrained_model")
    config = json.loads((copy / "config.json").read_text())
    (copy / "config.json").write_text(json.dumps({**config, "chunk_sise": 3}))
    with pytest.raises(PolicyLoadError, match=rf"^{copy / 'config.json'}: not a LeRobot 0.4.4 policy config: .*chunk_sise"):
        load_policy(str(copy))
