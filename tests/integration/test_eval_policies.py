"""Learned policies through the same graph and report as the expert (issue: policy node):
a tiny ACT trained here with LeRobot, a tiny SB3 PPO, and a policy the contract cannot serve."""

from __future__ import annotations

import json

import numpy as np
import pytest
from nav_msgs.msg import Path as PathMsg
from sensor_msgs.msg import JointState

from conftest import run_sim2real
from integration.probe import TopicProbe
from sim2real_common.robot_config import load_robot_config
from sim2real_testing.datasets import make_tiny_dataset
from sim2real_testing.policies import train_tiny_act, train_tiny_ppo

CONTRACT_CAMERAS = {"overhead_cam": (96, 128), "wrist_cam": (96, 128)}


@pytest.fixture(scope="module")
def act_run(tmp_path_factory):
    """lerobot-train style output folder of a tiny ACT trained on a tiny dataset."""
    root = tmp_path_factory.mktemp("act")
    dataset = make_tiny_dataset(root / "data", cameras=CONTRACT_CAMERAS)
    train_tiny_act(dataset, root / "train")
    return root / "train"


def test_act_checkpoint_runs_through_eval_sim(act_run, tmp_path):
    robot = load_robot_config("so101.yaml")
    topics = {"/so101/joint_commands": JointState, "/so101/whiskers/path": PathMsg}
    with TopicProbe(topics) as probe:
        result = run_sim2real("launch", "so101", "eval_sim.launch.py", "n_episodes:=2", "max_steps:=40",
                           f"policy:={act_run}", f"report:={tmp_path / 'r.json'}", "whiskers:=true")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["n_episodes"] == 2 and report["complete"]
    assert [e["policy_resets"] for e in report["episodes"]] == [1, 2]  # reset() every episode
    assert all(0 < e["steps"] <= 40 for e in report["episodes"])
    commands = probe.messages["/so101/joint_commands"]
    assert len(commands) >= sum(e["steps"] for e in report["episodes"])
    positions = np.array([m.position for m in commands])
    assert list(commands[0].name) == robot.joint_names
    assert np.all(positions >= robot.lower - 1e-9) and np.all(positions <= robot.upper + 1e-9)
    paths = probe.messages["/so101/whiskers/path"]
    assert paths and len(paths[0].poses) == 10  # one predicted pose per action of the chunk


def test_sb3_zip_drives_the_pan_joint(tmp_path):
    zip_path, model = train_tiny_ppo(tmp_path / "pan_ppo.zip")
    with TopicProbe({"/so101/joint_states": JointState, "/so101/joint_commands": JointState}) as probe:
        result = run_sim2real("launch", "so101", "eval_sim.launch.py", "n_episodes:=1", "max_steps:=30",
                           f"policy:={zip_path}", f"report:={tmp_path / 'r.json'}")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    states = np.array([m.position for m in probe.messages["/so101/joint_states"]])
    commands = np.array([m.position for m in probe.messages["/so101/joint_commands"]])
    home = states[0]
    action, _ = model.predict(home.astype(np.float32), deterministic=True)
    expected = home.copy()
    expected[0] += 0.05 * float(np.clip(action[0], -1, 1))  # layout: pan delta, others hold
    assert commands[0] == pytest.approx(expected, abs=1e-5)
    assert np.abs(commands[:, 1:] - home[1:]).max() < 0.05  # undriven joints hold where they are
    assert np.abs(commands[:, 0] - home[0]).max() > 1e-4  # the pan joint is driven by the model


def test_policy_needing_an_unserved_camera_is_refused(tmp_path):
    dataset = make_tiny_dataset(tmp_path / "data", cameras={"front_cam": (96, 128)})
    checkpoint = train_tiny_act(dataset, tmp_path / "train")
    result = run_sim2real("launch", "so101", "eval_sim.launch.py", "n_episodes:=1", f"policy:={checkpoint}")
    assert result.returncode != 0
    text = result.stdout + result.stderr
    assert "observation.images.front_cam" in text and "not in the contract" in text
    assert "contract serves: observation.state [6]" in text
    assert "Traceback" not in text
