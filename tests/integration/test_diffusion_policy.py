"""A second LeRobot policy type end to end: Diffusion Policy through `sim2real sim-demos` ->
`sim2real train --policy diffusion` -> the policy node in `eval_sim.launch.py` (like ACT's test in
test_eval_policies.py). Toy scale on CPU, offline: a state-only dataset (LeRobot 0.4.4's
DiffusionConfig needs an image or observation.environment_state, and the sim serves the latter),
a two-level U-Net, two denoising steps. Success is not expected at this scale."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sensor_msgs.msg import JointState

from conftest import run_sim2real
from integration.probe import TopicProbe
from sim2real_common.robot_config import load_robot_config

MAX_STEPS = 20
# The smallest Diffusion config LeRobot 0.4.4 accepts in practice: horizon a multiple of
# 2 ** len(down_dims), GroupNorm groups dividing every width; drop_n_last_frames as LeRobot derives
# it (horizon - n_action_steps - n_obs_steps + 1).
TINY_DIFFUSION = ["down_dims=[16,32]", "kernel_size=3", "n_groups=4", "diffusion_step_embed_dim=16",
                  "horizon=8", "n_action_steps=4", "n_obs_steps=2", "drop_n_last_frames=3",
                  "num_train_timesteps=10", "num_inference_steps=2"]


@pytest.fixture(scope="module")
def diffusion_run(tmp_path_factory):
    """Expert demos without cameras, then 2 training steps of a tiny Diffusion Policy."""
    root = tmp_path_factory.mktemp("diffusion")
    mp = pytest.MonkeyPatch()
    mp.setenv("HF_HUB_OFFLINE", "1")  # nothing may come from the Hub
    try:
        demos = run_sim2real("sim-demos", "--output", str(root / "demos"), "--episodes", "2", "--max-frames", "30",
                             "--cameras", "none", "--environment-state")
        assert demos.returncode == 0, demos.stdout[-3000:] + demos.stderr[-3000:]
        train = run_sim2real("train", "--policy", "diffusion", "--dataset", str(root / "demos"),
                             "--output", str(root / "run"), "--steps", "2", "--save-every", "2", "--batch-size", "4",
                             "--num-workers", "0", "--log-every", "1000", "--policy-config", *TINY_DIFFUSION)
        assert train.returncode == 0, train.stdout[-3000:] + train.stderr[-3000:]
    finally:
        mp.undo()
    return root / "run"


def test_diffusion_checkpoint_trains_and_runs_through_eval_sim(diffusion_run, tmp_path, monkeypatch):
    config = json.loads((diffusion_run / "checkpoints" / "last" / "pretrained_model" / "config.json").read_text())
    assert (config["type"], config["down_dims"], config["num_inference_steps"]) == ("diffusion", [16, 32], 2)
    assert set(config["input_features"]) == {"observation.state", "observation.environment_state"}

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    robot = load_robot_config("so101.yaml")
    with TopicProbe({"/so101/joint_commands": JointState}) as probe:
        result = run_sim2real("launch", "so101", "eval_sim.launch.py", "n_episodes:=1", f"max_steps:={MAX_STEPS}",
                              f"policy:={diffusion_run}", f"report:={tmp_path / 'r.json'}")
    text = result.stdout + result.stderr
    assert result.returncode == 0, text[-6000:]
    assert "Traceback" not in text
    assert "inputs ['observation.state', 'observation.environment_state']" in text  # the policy node's inputs
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["n_episodes"] == 1 and report["complete"]
    episode = report["episodes"][0]
    assert episode["policy_resets"] == 1 and 0 < episode["steps"] <= MAX_STEPS
    commands = probe.messages["/so101/joint_commands"]
    assert len(commands) >= episode["steps"]
    assert list(commands[0].name) == robot.joint_names
    positions = np.array([m.position for m in commands])
    assert np.all(np.isfinite(positions))
    assert np.all(positions >= robot.lower - 1e-9) and np.all(positions <= robot.upper + 1e-9)
    assert np.ptp(positions, axis=0).max() > 1e-4  # the denoised chunks move the arm, not a held pose
