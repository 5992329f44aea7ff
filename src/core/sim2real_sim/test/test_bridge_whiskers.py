"""The sim bridge with whiskers on: an action chunk on policy/action_chunk comes back as a
predicted gripper path on whiskers/path and as green whiskers in the video frames."""

from __future__ import annotations


import numpy as np
import pytest
import rclpy
from nav_msgs.msg import Path
from rclpy.node import Node
from sensor_msgs.msg import Image, JointState
from std_srvs.srv import Trigger
from trajectory_msgs.msg import JointTrajectory, JointTrajectoryPoint

from sim2real_common.ros_testing import call_trigger, isolate_ros, spin_until, start_node, stop_node
from sim2real_common.ros_conversions import image_array
from sim2real_sim.whiskers import CURRENT_RGB

CHUNK = np.linspace(0.1, 1.0, 12)  # shoulder_pan targets: a sweep about the base


class Probe(Node):
    def __init__(self, namespace: str) -> None:
        super().__init__("probe", namespace=namespace)
        self.paths: list[Path] = []
        self.frames: list[Image] = []
        self.states: list[JointState] = []
        self.create_subscription(Path, "whiskers/path", self.paths.append, 10)
        self.create_subscription(Image, "video/image_raw", self.frames.append, 10)
        self.create_subscription(JointState, "joint_states", self.states.append, 10)
        self.chunks = self.create_publisher(JointTrajectory, "policy/action_chunk", 10)
        self.commands = self.create_publisher(JointState, "joint_commands", 10)
        self.reset_client = self.create_client(Trigger, "sim/reset")

    def spin_until(self, predicate, timeout: float = 20.0) -> bool:
        return spin_until(self, predicate, timeout)

    def reset_sim(self) -> None:
        assert call_trigger(self, self.reset_client).success

    def send_chunk(self) -> None:
        msg = JointTrajectory()
        msg.joint_names = ["shoulder_pan"]
        msg.points = [JointTrajectoryPoint(positions=[float(q)]) for q in CHUNK]
        self.chunks.publish(msg)


@pytest.fixture(scope="module")
def probe(tmp_path_factory):
    isolate_ros(tmp_path_factory.mktemp("ros_log"))
    rclpy.init()
    log = tmp_path_factory.mktemp("wh") / "sim.log"
    proc = start_node("sim2real_sim.bridge_node", namespace="wh", log=log, params={
        "scene": "so101_pick_place", "mode": "lockstep", "whiskers": True, "cameras": "[overhead_cam]",
        "publish_video": True, "video_camera": "overhead_cam", "video_width": 320, "video_height": 240})
    probe = Probe("wh")
    try:
        yield probe
    finally:
        probe.destroy_node()
        code = stop_node(proc)
        rclpy.shutdown()
        assert code == 0, log.read_text()


def _green_pixels(frame: Image) -> int:
    rgb = image_array(frame).astype(int)
    target = np.array(CURRENT_RGB)
    return int(np.sum(np.all(np.abs(rgb - target) < 40, axis=2)))


def test_chunk_comes_back_as_a_path_and_as_whiskers_in_the_video(probe):
    probe.reset_sim()
    assert probe.spin_until(lambda: probe.states and probe.frames)
    assert _green_pixels(probe.frames[-1]) == 0  # no prediction yet
    state = probe.states[-1]

    def path_arrived() -> bool:
        probe.send_chunk()  # repeated until discovery has matched the publisher
        return probe.spin_until(lambda: bool(probe.paths), timeout=0.5)

    assert probe.spin_until(path_arrived)
    path = probe.paths[-1]
    assert path.header.frame_id == "world" and len(path.poses) == len(CHUNK)
    points = np.array([[p.pose.position.x, p.pose.position.y, p.pose.position.z] for p in path.poses])
    assert np.linalg.norm(points[-1] - points[0]) > 0.1
    assert abs(np.ptp(points[:, 2])) < 0.005  # a pan sweep keeps the gripper's height
    stamps = [p.header.stamp.sec + p.header.stamp.nanosec * 1e-9 for p in path.poses]
    now = state.header.stamp.sec + state.header.stamp.nanosec * 1e-9
    assert stamps[0] > now and np.all(np.diff(stamps) > 0)  # stamped with the predicted sim times

    count = len(probe.frames)
    probe.commands.publish(JointState(name=list(state.name), position=list(state.position)))
    assert probe.spin_until(lambda: len(probe.frames) > count)
    assert _green_pixels(probe.frames[-1]) > 50
