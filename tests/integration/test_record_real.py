"""End to end without hardware: `sim2real launch so101 record_real.launch.py` runs follower + leader (each
on its own emulated Feetech bus, `sim2real emulate feetech`), two synthetic cameras and the recorder
as separate ROS 2 processes; the test presses "Right arrow" (recorder/start) once the streams are
in, the recorder records 2 timed episodes, finalizes and the graph ends; LeRobot opens the dataset."""

from __future__ import annotations

import json
import os
import subprocess
import threading
import time

import numpy as np
import pytest
import rclpy
from lerobot.datasets.lerobot_dataset import LeRobotDataset
from rclpy.executors import SingleThreadedExecutor
from rclpy.node import Node
from sensor_msgs.msg import Image, JointState
from std_msgs.msg import String
from std_srvs.srv import Trigger

from conftest import WORKSPACE, run_sim2real
from integration.emulated_arms import calibration_files, swept_leader_bus
from sim2real_common.qos import STATUS_QOS
from sim2real_common.ros_testing import stop_node
from sim2real_common.contract import load_contract
from sim2real_common.robot_config import load_robot_config

REPO = "local/so101_real_test"
CAMERAS = ("observation.images.overhead_cam", "observation.images.wrist_cam")
EPISODES, EPISODE_TIME_S = 2, 2.0
STREAMS = {"joint_states": JointState, "joint_commands": JointState,
           "overhead_cam/image_raw": Image, "wrist_cam/image_raw": Image}


class Operator(Node):
    """What the keyboard node does for the first key press: recorder/start; plus the status."""

    def __init__(self) -> None:
        super().__init__("operator", namespace="so101")
        self.statuses: list[dict] = []
        self.create_subscription(String, "recorder/status", lambda m: self.statuses.append(json.loads(m.data)),
                                 STATUS_QOS)
        self.start_client = self.create_client(Trigger, "recorder/start")
        self.seen: set[str] = set()
        for topic, kind in STREAMS.items():
            self.create_subscription(kind, topic, lambda _m, t=topic: self.seen.add(t), 10)
        self.executor_ = SingleThreadedExecutor()
        self.executor_.add_node(self)
        self._thread = threading.Thread(target=self.executor_.spin, daemon=True)
        self._thread.start()

    def status_where(self, predicate, timeout: float) -> dict | None:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            for status in reversed(list(self.statuses)):
                if predicate(status):
                    return status
            time.sleep(0.05)
        return None

    def call_start(self, timeout: float = 10.0) -> Trigger.Response:
        assert self.start_client.wait_for_service(timeout_sec=timeout), "recorder/start not available"
        future = self.start_client.call_async(Trigger.Request())
        end = time.monotonic() + timeout
        while not future.done() and time.monotonic() < end:
            time.sleep(0.01)
        assert future.done(), "recorder/start: no reply"
        return future.result()

    def start_when_connected(self, timeout: float = 20.0) -> Trigger.Response:
        """recorder/start, repeated while the recorder says a stream has no publisher yet."""
        end = time.monotonic() + timeout
        while not (reply := self.call_start()).success and time.monotonic() < end:
            assert "no publisher" in reply.message, reply.message
            time.sleep(0.2)
        return reply

    def close(self) -> None:
        self.executor_.shutdown()
        self.destroy_node()


def _emulator(link, log) -> subprocess.Popen:
    proc = subprocess.Popen([str(WORKSPACE / "sim2real"), "emulate", "feetech", "--ids", "1-6", "--link", str(link)],
                            cwd=WORKSPACE, stdout=open(log, "w"), stderr=subprocess.STDOUT,
                            env=dict(os.environ))
    end = time.monotonic() + 30
    while not link.exists() and time.monotonic() < end:
        assert proc.poll() is None, log.read_text()
        time.sleep(0.05)
    assert link.exists(), log.read_text()
    return proc


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    out = tmp_path_factory.mktemp("record_real")
    root = out / "dataset"
    follower_cal, leader_cal = calibration_files(out)
    # The follower's bus as a user starts it; the leader's in this process, its unpowered joints
    # moved as a hand would (within their calibrated ranges), so the teleoperated follower moves.
    follower_bus = _emulator(out / "follower_bus", out / "follower_bus.log")
    leader_bus = swept_leader_bus(out / "leader_bus")
    launch_log = out / "launch.log"
    rclpy.init()
    operator = Operator()
    launch = subprocess.Popen(
        [str(WORKSPACE / "sim2real"), "launch", "so101", "record_real.launch.py",
         f"follower_port:={out / 'follower_bus'}", f"leader_port:={out / 'leader_bus'}",
         f"follower_calibration:={follower_cal}", f"leader_calibration:={leader_cal}",
         "overhead_source:=synthetic", "wrist_source:=synthetic", f"dataset:={root}", f"repo_id:={REPO}",
         f"num_episodes:={EPISODES}", f"episode_time_s:={EPISODE_TIME_S}", "reset_time_s:=0.5"],
        cwd=WORKSPACE, stdout=open(launch_log, "w"), stderr=subprocess.STDOUT, env=dict(os.environ))
    started = time.monotonic()
    try:
        # The operator presses Right arrow once the arms and cameras stream and the recorder is up.
        end = time.monotonic() + 60
        while not (operator.seen == set(STREAMS) and operator.statuses) and time.monotonic() < end:
            assert launch.poll() is None, launch_log.read_text()[-4000:]
            time.sleep(0.1)
        assert operator.seen == set(STREAMS) and operator.statuses, \
            f"streams in: {sorted(operator.seen)}\n{launch_log.read_text()[-3000:]}"
        reply = operator.start_when_connected()
        assert reply.success, reply.message
        returncode = launch.wait(timeout=60)
        elapsed = time.monotonic() - started
        final = operator.status_where(lambda s: s["state"] == "stopped", timeout=5)
    finally:
        stop_node(launch, timeout=15)
        operator.close()
        rclpy.shutdown()
        leader_bus.close()
        stop_node(follower_bus, timeout=15)
    assert returncode == 0, launch_log.read_text()[-4000:]
    return root, final, elapsed, launch_log.read_text()


def _open(root) -> LeRobotDataset:
    return LeRobotDataset(REPO, root=root, video_backend="torchcodec")


def test_the_graph_ends_after_the_episodes(recorded):
    _, final, elapsed, _ = recorded
    assert final is not None and final["episodes_saved"] == EPISODES and final["frame_clock"] == "timer"
    assert elapsed < 90


def test_lerobot_opens_the_dataset(recorded):
    root, *_ = recorded
    dataset = _open(root)
    contract = load_contract("so101_pick_place")
    assert dataset.num_episodes == EPISODES and dataset.fps == 30
    assert dataset.meta.robot_type == "so101_follower"
    assert set(CAMERAS) <= set(dataset.features) and "observation.environment_state" not in dataset.features
    lengths = [dataset.meta.episodes[i]["length"] for i in range(EPISODES)]
    # Timed episodes on the wall clock: about episode_time_s * fps frames each.
    assert all(0.8 * EPISODE_TIME_S * 30 <= n <= EPISODE_TIME_S * 30 + 3 for n in lengths), lengths
    assert dataset.meta.tasks.index.tolist() == [contract.task]
    for name in ("observation.state", "action"):
        assert dataset.features[name]["names"] == list(contract.features[name].joints)


def test_state_and_action_are_joint_vectors_within_the_limits(recorded):
    dataset = _open(recorded[0])
    robot = load_robot_config("so101.yaml")
    state = np.array(dataset.hf_dataset["observation.state"])
    action = np.array(dataset.hf_dataset["action"])
    assert state.shape == action.shape == (dataset.num_frames, 6)
    assert np.all(np.isfinite(state)) and np.all(np.isfinite(action))
    assert np.all(state >= robot.lower - 0.01) and np.all(state <= robot.upper + 0.01)
    assert np.all(action >= robot.lower - 0.01) and np.all(action <= robot.upper + 0.01), \
        (action.min(axis=0), action.max(axis=0))
    assert np.ptp(action, axis=0).max() > 0.05  # the leader moved
    assert np.ptp(state, axis=0).max() > 0.05  # and the follower followed


def test_video_frames_decode(recorded):
    dataset = _open(recorded[0])
    for episode in range(dataset.num_episodes):
        meta = dataset.meta.episodes[episode]
        for index in (meta["dataset_from_index"], meta["dataset_to_index"] - 1):
            frame = dataset[index]
            for camera in CAMERAS:
                image = frame[camera]
                assert tuple(image.shape) == (3, 96, 128)
                assert image.std().item() > 0.01


def test_arguments_are_described():
    result = run_sim2real("launch", "--show-args", "so101", "record_real.launch.py", timeout=120)
    assert result.returncode == 0, result.stderr
    for words in ("follower_port:=", "leader_port:=", "follower_calibration:=", "leader_calibration:=",
                  "overhead_source:=", "wrist_source:=", "dataset:=", "repo_id:=", "task:=",
                  "num_episodes:=<int>", "episode_time_s:=<float>", "reset_time_s:=<float>"):
        assert words in result.stdout
