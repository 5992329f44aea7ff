"""The whole loop at toy scale: expert demos in the sim -> `sim2real train` a few steps -> the saved
checkpoint evaluated in the sim through the eval core (success is not expected at this scale)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from sim2real_policy.loaders import load_policy
from sim2real_policy.loaders import load_policy
from sim2real_sim.sim import Sim, SimConfig
from sim2real_trainer.local_dataset import episode_arrays, load_stats, open_local_dataset
from sim2real_trainer.sim_demos import expert_episode, record_expert_demos
from sim2real_trainer.sim_eval import SimEvalConfig, evaluate_checkpoint

from conftest import run_cli, train_args

FRAMES = 20


@pytest.fixture(scope="module")
def demos(tmp_path_factory):
    return record_expert_demos(tmp_path_factory.mktemp("demos") / "sim", n_episodes=2, seed=0, max_frames=FRAMES)


def test_demos_round_trip(demos):
    dataset = open_local_dataset(demos.root)
    assert demos.seeds == [0, 1] and demos.frames == 2 * FRAMES
    features = dataset.info["features"]
    for camera in ("overhead_cam", "wrist_cam"):
        assert features[f"observation.images.{camera}"]["shape"] == [96, 128, 3]
    assert dataset.names("action")[0] == "shoulder_pan"
    sim, expert = Sim(SimConfig(scene="so101_pick_place")), load_policy("expert", scene="so101_pick_place")
    frames, _ = expert_episode(sim, expert, 1, {}, FRAMES)  # the same seed replays the same episode
    sim.close()
    recorded = episode_arrays(dataset, "action")[1]
    np.testing.assert_allclose(recorded, [f["action"] for f in frames], atol=1e-6)
    np.testing.assert_allclose(episode_arrays(dataset, "observation.state")[1],
                               [f["observation.state"] for f in frames], atol=1e-6)


def test_demos_train_and_evaluate_in_sim(demos, tmp_path):
    run = tmp_path / "act"
    assert run_cli(*train_args(demos.root, run, "--eval-every", "2", "--eval-episodes", "2",
                               "--eval-max-steps", "15")) == 0
    row = json.loads((run / "eval.jsonl").read_text().splitlines()[0])
    assert row["step"] == 2 and row["n_episodes"] == 2
    low, high = row["success_rate_ci95"]
    assert 0 <= low <= row["success_rate"] <= high <= 1
    report = json.loads((run / "eval" / "step_000002.json").read_text())
    assert [e["seed"] for e in report["episodes"]] == [10_000, 10_001]
    assert all(e["steps"] <= 15 for e in report["episodes"])
    assert (run / "eval_curve.png").stat().st_size > 10_000

    again = evaluate_checkpoint(run, SimEvalConfig(n_episodes=1, max_steps=5, seed=3))
    assert again["n_episodes"] == 1 and again["episodes"][0]["seed"] == 3


def test_state_only_demos_with_the_environment_state(tmp_path, capsys):
    """`sim2real sim-demos --cameras none --environment-state`: no video, the privileged sim state
    as observation.environment_state; a state-only ACT trains on it and runs in the sim."""
    root = tmp_path / "state_demos"
    assert run_cli("sim-demos", "--output", root, "--episodes", "1", "--max-frames", FRAMES,
                   "--cameras", "none", "--environment-state") == 0
    dataset = open_local_dataset(root)
    features = dataset.info["features"]
    assert not [name for name in features if name.startswith("observation.images.")]
    assert features["observation.environment_state"]["shape"] == [10]
    sim = Sim(SimConfig(scene="so101_pick_place"))
    frames, _ = expert_episode(sim, load_policy("expert", scene="so101_pick_place"), 0, {}, FRAMES, environment_state=True)
    sim.close()
    np.testing.assert_allclose(episode_arrays(dataset, "observation.environment_state")[0],
                               [f["observation.environment_state"] for f in frames], atol=1e-6)
    run = tmp_path / "act_state"
    assert run_cli(*train_args(root, run)) == 0
    report = evaluate_checkpoint(run, SimEvalConfig(n_episodes=1, max_steps=5))
    assert report["episodes"][0]["steps"] == 5
    assert run_cli("eval-sim", "--policy", run, "--episodes", "2", "--seed", "7", "--max-steps", "5") == 0
    written = json.loads((run / "eval" / "sim_7x2.json").read_text())
    assert [e["seed"] for e in written["episodes"]] == [7, 8] and written["n_episodes"] == 2
    assert "success 0/2 = 0 % (95 % CI 0-66 %); failures: never_picked_up 2" in capsys.readouterr().out
    # Dimensions that never move (the bowl; the block in 20 frames) are normalised with the std
    # floor, not LeRobot's 1e-8; the others keep the dataset's std.
    normalizer = next(s for s in load_policy(str(run)).preprocessor.steps
                      if type(s).__name__ == "NormalizerProcessorStep")
    for feature in ("observation.environment_state", "observation.state", "action"):
        recorded = load_stats(dataset)[feature]["std"]
        assert np.asarray(normalizer.stats[feature]["std"]) == pytest.approx(np.maximum(recorded, 0.01)), feature
    assert load_stats(dataset)["observation.environment_state"]["std"][9] == 0.0
    assert np.any(load_stats(dataset)["observation.state"]["std"] > 0.01)


def test_dart_demos_label_noisy_states_with_the_experts_clean_targets():
    """--action-noise: the sim executes noisy targets, the frames keep what the expert asked for."""
    sim = Sim(SimConfig(scene="so101_pick_place"))
    clean, _ = expert_episode(sim, load_policy("expert", scene="so101_pick_place"), 0, {}, 40, environment_state=True)
    noisy, _ = expert_episode(sim, load_policy("expert", scene="so101_pick_place"), 0, {}, 40, environment_state=True, action_noise=0.03)
    sim.close()
    states = np.array([f["observation.state"] for f in noisy])
    drift = np.abs(states - [f["observation.state"] for f in clean])[:, :5].max()
    assert drift > 0.005  # the noise moved the arm off the clean path
    replay = load_policy("expert", scene="so101_pick_place")  # the expert, fed the noisy observations, asks for exactly the labels
    for frame in noisy:
        target = replay.select_action({k: frame[k] for k in ("observation.state", "observation.environment_state")})
        np.testing.assert_allclose(frame["action"], target, atol=1e-6)


@pytest.mark.parametrize("text,error", [("front_cam", "unknown camera 'front_cam'"),
                                        ("wrist_cam:96by128", "expected HxW like 96x128")])
def test_sim_demos_rejects_bad_cameras(tmp_path, text, error):
    from sim2real_trainer.errors import TrainerError

    with pytest.raises(TrainerError, match=error):
        run_cli("sim-demos", "--output", tmp_path / "x", "--episodes", "1", "--cameras", text)
    assert not (tmp_path / "x").exists()
