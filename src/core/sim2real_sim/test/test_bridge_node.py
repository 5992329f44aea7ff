"""The sim bridge as a real ROS 2 node process, probed from a real rclpy node on loopback."""

from __future__ import annotations

import json

import numpy as np
import pytest
import rclpy
from geometry_msgs.msg import PoseStamped
from rclpy.node import Node
from rosgraph_msgs.msg import Clock
from sensor_msgs.msg import CameraInfo, Image, JointState
from std_srvs.srv import Trigger

from sim2real_common.ros_testing import call_trigger, isolate_ros, spin_until, start_node, stop_node

PERIOD = 1 / 30


class Probe(Node):
    """Collects what the bridge publishes and sends it commands."""

    def __init__(self, namespace: str) -> None:
        super().__init__("probe", namespace=namespace)
        self.msgs: dict[str, list] = {k: [] for k in ("joint_states", "image", "info", "clock", "block")}
        self.create_subscription(JointState, "joint_states", self.msgs["joint_states"].append, 50)
        self.create_subscription(Image, "overhead_cam/image_raw", self.msgs["image"].append, 50)
        self.create_subscription(CameraInfo, "overhead_cam/camera_info", self.msgs["info"].append, 50)
        self.create_subscription(Clock, "/clock", self.msgs["clock"].append, 50)
        self.create_subscription(PoseStamped, "objects/block/pose", self.msgs["block"].append, 50)
        self.commands = self.create_publisher(JointState, "joint_commands", 10)
        self.reset_client = self.create_client(Trigger, "sim/reset")
        self.status_client = self.create_client(Trigger, "sim/episode_status")

    def spin_until(self, predicate, timeout: float = 20.0) -> bool:
        return spin_until(self, predicate, timeout)

    def call(self, client) -> Trigger.Response:
        return call_trigger(self, client)

    def command(self, positions: dict[str, float], stamp=None) -> None:
        """Publish joint targets; ``stamp`` (a builtin_interfaces Time) names the observation answered."""
        msg = JointState()
        msg.name, msg.position = list(positions), list(positions.values())
        if stamp is not None:
            msg.header.stamp = stamp
        self.commands.publish(msg)

    def clear(self) -> None:
        for values in self.msgs.values():
            values.clear()


@pytest.fixture(scope="module")
def ros(tmp_path_factory):
    isolate_ros(tmp_path_factory.mktemp("ros_log"))
    rclpy.init()
    yield
    rclpy.shutdown()


@pytest.fixture(scope="module")
def realtime(ros, tmp_path_factory):
    log = tmp_path_factory.mktemp("rt") / "sim.log"
    proc = start_node("sim2real_sim.bridge_node", namespace="rt", log=log,
                      params={"scene": "so101_pick_place", "mode": "realtime", "cameras": "[overhead_cam]"})
    probe = Probe("rt")
    assert probe.call(probe.reset_client).success, log.read_text()
    yield probe
    probe.destroy_node()
    assert stop_node(proc) == 0, log.read_text()


@pytest.fixture(scope="module")
def lockstep(ros, tmp_path_factory):
    log = tmp_path_factory.mktemp("ls") / "sim.log"
    proc = start_node("sim2real_sim.bridge_node", namespace="ls", log=log, params={"scene": "so101_pick_place", "mode": "lockstep", "seed": 5,
                                                                     "cameras": "[overhead_cam, wrist_cam]"})
    probe = Probe("ls")
    yield probe
    probe.destroy_node()
    assert stop_node(proc) == 0, log.read_text()


def _stamp(msg) -> float:
    return msg.header.stamp.sec + msg.header.stamp.nanosec * 1e-9


def test_realtime_publishes_states_images_clock_and_poses_every_tick(realtime):
    realtime.clear()
    assert realtime.spin_until(lambda: len(realtime.msgs["joint_states"]) >= 20)
    states = realtime.msgs["joint_states"]
    assert states[0].name == ["shoulder_pan", "shoulder_lift", "elbow_flex", "wrist_flex", "wrist_roll", "gripper"]
    deltas = np.diff([_stamp(m) for m in states])
    assert np.allclose(deltas, PERIOD, atol=1e-4), deltas  # one control period of sim time per tick
    assert realtime.spin_until(lambda: realtime.msgs["image"] and realtime.msgs["info"] and realtime.msgs["block"])
    image, info = realtime.msgs["image"][-1], realtime.msgs["info"][-1]
    assert (image.width, image.height, image.encoding, image.step) == (128, 96, "rgb8", 384)
    assert len(image.data) == 96 * 128 * 3
    assert image.header.frame_id == info.header.frame_id == "so101/overhead_cam"
    assert info.k[0] > 0 and info.k[2] == pytest.approx(63.5)
    clocks = [c.clock.sec + c.clock.nanosec * 1e-9 for c in realtime.msgs["clock"]]
    assert len(clocks) > 5 and np.all(np.diff(clocks) > 0)


def test_command_moves_the_joint(realtime):
    target = {"shoulder_pan": 0.5, "gripper": 1.0}

    def arrived() -> bool:
        realtime.command(target)
        last = realtime.msgs["joint_states"][-1] if realtime.msgs["joint_states"] else None
        return last is not None and abs(last.position[0] - 0.5) < 0.02 and abs(last.position[5] - 1.0) < 0.03

    assert realtime.spin_until(arrived, timeout=20.0)


def test_reset_returns_seed_and_episode_and_moves_the_block(realtime):
    first = json.loads(realtime.call(realtime.reset_client).message)
    realtime.clear()
    realtime.spin_until(lambda: realtime.msgs["block"])
    pose_a = realtime.msgs["block"][-1].pose.position
    second = json.loads(realtime.call(realtime.reset_client).message)
    assert second["episode"] == first["episode"] + 1 and second["seed"] == first["seed"] + 1
    realtime.clear()
    realtime.spin_until(lambda: realtime.msgs["block"])
    pose_b = realtime.msgs["block"][-1].pose.position
    assert (pose_a.x, pose_a.y) != (pose_b.x, pose_b.y)
    status = json.loads(realtime.call(realtime.status_client).message)
    assert status["episode"] == second["episode"] and status["seed"] == second["seed"]


def test_lockstep_advances_exactly_one_period_per_command(lockstep):
    reply = json.loads(lockstep.call(lockstep.reset_client).message)
    assert reply["seed"] == 5
    assert lockstep.spin_until(lambda: lockstep.msgs["joint_states"])
    start = _stamp(lockstep.msgs["joint_states"][-1])
    lockstep.spin_until(lambda: False, timeout=0.5)  # no command -> no new tick
    assert all(_stamp(m) == start for m in lockstep.msgs["joint_states"])
    for k in range(1, 4):
        lockstep.command({"shoulder_pan": 0.1 * k})
        # The idle republish (same stamp) may come first on a loaded machine: wait for the next tick.
        assert lockstep.spin_until(lambda: _stamp(lockstep.msgs["joint_states"][-1]) > start + (k - 0.5) * PERIOD)
        assert _stamp(lockstep.msgs["joint_states"][-1]) == pytest.approx(start + k * PERIOD, abs=1e-6)
    status = json.loads(lockstep.call(lockstep.status_client).message)
    assert status["steps"] == 3 and status["done"] is False


def test_lockstep_steps_once_per_observation_and_drops_stale_commands(lockstep):
    """A command stamped for an observation already answered (a repeat, or one that crossed a
    reset) must not advance the sim: the episode stays a pure function of seed and policy."""
    def newest():
        return lockstep.msgs["joint_states"][-1]

    def answer_then_wait(stale_stamps, stamp):
        count = len(lockstep.msgs["joint_states"])
        for old in stale_stamps:  # same publisher, so they arrive before the answer
            lockstep.command({"shoulder_pan": 0.5}, stamp=old)
        lockstep.command({"shoulder_pan": 0.05}, stamp=stamp)
        assert lockstep.spin_until(lambda: len(lockstep.msgs["joint_states"]) > count
                                   and _stamp(newest()) > _stamp_of(stamp) + PERIOD / 2)

    def status():
        return json.loads(lockstep.call(lockstep.status_client).message)

    lockstep.call(lockstep.reset_client)
    assert lockstep.spin_until(lambda: lockstep.msgs["joint_states"] and status()["steps"] == 0)
    first = newest().header.stamp
    answer_then_wait([], first)
    second = newest().header.stamp
    answer_then_wait([first, first], second)  # repeats of an answered observation
    assert status()["steps"] == 2
    assert _stamp(newest()) == pytest.approx(_stamp_of(first) + 2 * PERIOD, abs=1e-6)

    old = newest().header.stamp
    lockstep.call(lockstep.reset_client)
    assert lockstep.spin_until(lambda: _stamp(newest()) > _stamp_of(old) and status()["steps"] == 0)
    answer_then_wait([old], newest().header.stamp)  # the last episode's command after the reset
    assert status()["steps"] == 1
    assert newest().position[0] == pytest.approx(0.05, abs=0.05)  # moved toward 0.05, not 0.5


def _stamp_of(stamp) -> float:
    return stamp.sec + stamp.nanosec * 1e-9
