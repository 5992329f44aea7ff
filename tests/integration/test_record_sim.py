"""End to end: `sim2real launch so101 record_sim.launch.py` runs sim bridge + expert policy + recorder +
evaluator (record role) as separate ROS 2 processes and records a LeRobot dataset that LeRobot
itself opens; a second run resumes the dataset."""

from __future__ import annotations

import json

import numpy as np
import pytest
from lerobot.datasets.lerobot_dataset import LeRobotDataset

from conftest import run_sim2real
from sim2real_common.contract import load_contract
from sim2real_common.robot_config import load_robot_config

REPO = "local/so101_pick_place"
CAMERAS = ("observation.images.overhead_cam", "observation.images.wrist_cam")
STATE_SLACK = 0.01  # rad: the simulated joints may press slightly into their limits; commands never do


def _record(root, report, *args: str):
    result = run_sim2real("launch", "so101", "record_sim.launch.py", f"dataset:={root}", f"report:={report}", *args)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result, json.loads(report.read_text())


def _open(root) -> LeRobotDataset:
    return LeRobotDataset(REPO, root=root, video_backend="torchcodec")


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    out = tmp_path_factory.mktemp("record")
    root = out / "dataset"
    result, report = _record(root, out / "report.json", "n_episodes:=3", "seed:=0", "bag:=true")
    return root, result, report, out


def test_three_successful_episodes_are_saved(recorded):
    root, result, report, _ = recorded
    assert report["complete"] is True and report["keep"] == "success"
    assert report["n_saved"] == 3 and report["n_attempts"] == len(report["episodes"]) >= 3
    saved = [e for e in report["episodes"] if e["saved"]]
    assert len(saved) == 3 and all(e["outcome"] == "success" for e in saved)
    assert "recorded: 3 episodes saved of" in result.stdout
    assert "finalized" in report["recorder"]


def test_each_saved_episode_has_its_raw_bag(recorded):
    from rosbags.highlevel import AnyReader

    root, _, _, _ = recorded
    bags = sorted(p.name for p in (root / "bags").iterdir())
    assert bags[:3] == ["episode_000000", "episode_000001", "episode_000002"]
    dataset = _open(root)
    with AnyReader([root / "bags" / "episode_000000"]) as reader:
        counts = {c.topic: c.msgcount for c in reader.connections}
    assert counts["/so101/joint_states"] >= dataset.meta.episodes[0]["length"]
    assert {"/so101/joint_commands", "/so101/overhead_cam/image_raw", "/so101/wrist_cam/image_raw"} <= set(counts)


def test_lerobot_opens_the_dataset(recorded):
    root, _, report, _ = recorded
    dataset = _open(root)
    contract = load_contract("so101_pick_place")
    saved = [e for e in report["episodes"] if e["saved"]]
    assert dataset.num_episodes == 3 and dataset.fps == contract.fps == 30
    assert dataset.meta.robot_type == "so101_follower"
    # One frame per sim step of each saved episode (reference clock: the step's observation and
    # the command the policy sent for it).
    assert [dataset.meta.episodes[i]["length"] for i in range(3)] == [e["steps"] for e in saved]
    assert dataset.num_frames == sum(e["steps"] for e in saved)
    assert dataset.meta.tasks.index.tolist() == [contract.task]
    for name in ("observation.state", "action"):
        assert dataset.features[name]["names"] == list(contract.features[name].joints)


def test_timestamps_are_monotonic_on_the_fps_grid(recorded):
    dataset = _open(recorded[0])
    timestamps = np.array(dataset.hf_dataset["timestamp"], dtype=np.float64).ravel()
    episodes = np.array(dataset.hf_dataset["episode_index"]).ravel()
    for episode in range(dataset.num_episodes):
        stamps = timestamps[episodes == episode]
        np.testing.assert_allclose(stamps, np.arange(len(stamps)) / 30, atol=1e-4)


def test_state_and_action_are_joint_vectors_within_the_limits(recorded):
    dataset = _open(recorded[0])
    robot = load_robot_config("so101.yaml")
    state = np.array(dataset.hf_dataset["observation.state"])
    action = np.array(dataset.hf_dataset["action"])
    assert state.shape == action.shape == (dataset.num_frames, 6)
    assert np.all(state >= robot.lower - STATE_SLACK) and np.all(state <= robot.upper + STATE_SLACK)
    assert np.all(action >= robot.lower - 1e-6) and np.all(action <= robot.upper + 1e-6)
    assert np.ptp(state, axis=0)[[0, 1, 2, 5]].min() > 0.1  # the arm and the gripper moved
    home = np.array(robot.home)
    np.testing.assert_allclose(state[0], home, atol=0.05)  # the first frame is the reset pose


def test_video_frames_decode(recorded):
    dataset = _open(recorded[0])
    for episode in range(dataset.num_episodes):
        meta = dataset.meta.episodes[episode]
        first, last = dataset[meta["dataset_from_index"]], dataset[meta["dataset_to_index"] - 1]
        for camera in CAMERAS:
            for frame in (first, last):
                image = frame[camera]
                assert tuple(image.shape) == (3, 96, 128)
                assert 0.02 < image.mean().item() < 0.98 and image.std().item() > 0.01
            assert not np.allclose(first[camera].numpy(), last[camera].numpy(), atol=0.02)  # the scene changed


def test_a_second_run_resumes_the_dataset(recorded):
    root, _, _, out = recorded
    before = _open(root)
    first_episode = np.array(before.hf_dataset["observation.state"])[: before.meta.episodes[0]["length"]]
    _, report = _record(root, out / "resume.json", "n_episodes:=1", "seed:=10")
    assert report["n_saved"] == 1
    dataset = _open(root)
    assert dataset.num_episodes == 4
    assert dataset.meta.episodes[3]["length"] == [e for e in report["episodes"] if e["saved"]][0]["steps"]
    state = np.array(dataset.hf_dataset["observation.state"])
    np.testing.assert_array_equal(state[: len(first_episode)], first_episode)  # earlier episodes untouched
    last = dataset[dataset.num_frames - 1]
    assert int(last["episode_index"]) == 3 and tuple(last[CAMERAS[0]].shape) == (3, 96, 128)


def test_arguments_are_described():
    result = run_sim2real("launch", "--show-args", "so101", "record_sim.launch.py", timeout=120)
    assert result.returncode == 0, result.stderr
    for words in ("n_episodes:=<int>", "dataset:=", "keep:=success|all", "task:=", "seed:=<int>",
                  "mode:=lockstep|realtime"):
        assert words in result.stdout
