"""The sim bridge on the humanoid, a real node process probed over loopback: a floating base
publishes its pose and IMU, and joints without feedback come out as the robot's node would give
them (integrated from the commanded speeds) with the truth beside them."""

from __future__ import annotations

import numpy as np
import pytest
import rclpy
from geometry_msgs.msg import PoseStamped
from rclpy.node import Node
from sensor_msgs.msg import Imu, JointState
from std_srvs.srv import Trigger

from sim2real_common.robot_config import load_robot_config
from sim2real_common.ros_testing import call_trigger, isolate_ros, spin_until, start_node, stop_node

NS = "humanoid"
TOPICS = {"joint_states": JointState, "ground_truth/joint_states": JointState, "imu": Imu, "base/pose": PoseStamped}


class Probe(Node):
    def __init__(self) -> None:
        super().__init__("probe", namespace=NS)
        self.msgs: dict[str, list] = {topic: [] for topic in TOPICS}
        for topic, kind in TOPICS.items():
            self.create_subscription(kind, topic, self.msgs[topic].append, 50)
        self.commands = self.create_publisher(JointState, "joint_commands", 10)
        self.reset_client = self.create_client(Trigger, "sim/reset")

    def latest(self, topic: str, stamp=None):
        found = [m for m in self.msgs[topic] if stamp is None or m.header.stamp == stamp]
        return found[-1] if found else None


@pytest.fixture(scope="module")
def bridge(tmp_path_factory):
    isolate_ros(tmp_path_factory.mktemp("ros_log"))
    rclpy.init()
    log = tmp_path_factory.mktemp("sim") / "sim.log"
    proc = start_node("sim2real_sim.bridge_node", namespace=NS, log=log,
                      params={"scene": "humanoid_walk", "mode": "lockstep"})
    probe = Probe()
    yield probe, log
    probe.destroy_node()
    assert stop_node(proc) == 0, log.read_text()
    rclpy.shutdown()


def test_imu_base_pose_and_estimated_joints_follow_the_commands(bridge):
    probe, log = bridge
    robot = load_robot_config("humanoid.yaml")
    assert call_trigger(probe, probe.reset_client).success, log.read_text()
    assert spin_until(probe, lambda: probe.latest("joint_states") and all(probe.msgs.values())), log.read_text()
    first = probe.latest("joint_states")
    # Standing at home: the estimate starts at the home pose; the truth has the seed's joint noise.
    assert first.position.tolist() == pytest.approx(list(robot.home))
    imu, base = probe.latest("imu", first.header.stamp), probe.latest("base/pose", first.header.stamp)
    assert imu is not None and base is not None
    o = imu.orientation
    assert np.linalg.norm([o.w, o.x, o.y, o.z]) == pytest.approx(1.0, abs=1e-6) and o.w > 0.98  # upright
    assert imu.linear_acceleration.z == pytest.approx(9.81, abs=1.5)  # gravity, as an accelerometer feels it
    assert imu.header.frame_id == "humanoid/imu" and base.header.frame_id == "world"
    assert 0.1 < base.pose.position.z < 0.6

    knee = robot.joint_names.index("right_knee")
    truth_before = probe.latest("ground_truth/joint_states", first.header.stamp).position[knee]
    observation = first
    for _ in range(2):  # two ticks: the servo model may hold a command back one tick (latency)
        command = JointState(name=["right_knee"], velocity=[1.0])  # rad/s
        command.header.stamp = observation.header.stamp  # answers this observation (lockstep)
        probe.commands.publish(command)
        stamp = observation.header.stamp
        assert spin_until(probe, lambda: probe.latest("joint_states").header.stamp != stamp), log.read_text()
        observation = probe.latest("joint_states")
    period = 1 / robot.control_hz
    expected = list(robot.home)
    expected[knee] += 2 * 1.0 * period  # the commanded speed integrated over two control periods
    assert observation.position.tolist() == pytest.approx(expected, abs=1e-6)
    assert spin_until(probe, lambda: probe.latest("ground_truth/joint_states", observation.header.stamp))
    truth_after = probe.latest("ground_truth/joint_states", observation.header.stamp).position[knee]
    assert truth_after > truth_before + 1e-3  # the simulated servo turned that way (slower: it carries the robot)
