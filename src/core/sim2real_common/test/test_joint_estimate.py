"""Estimated positions of joints without feedback: speeds integrated from home, positions followed
at top speed, both inside the joint limits."""

import pytest

from sim2real_common.robot_config import JointSpec, RobotConfig
from sim2real_common.joint_estimate import JointEstimate


def _robot(command: str) -> RobotConfig:
    return RobotConfig(robot_type="pwm", namespace="pwm", control_hz=10.0, camera_frames={}, home=(0.2, 0.0),
                       joints=(JointSpec("hip", -1.0, 1.0, 0.1, feedback=False),
                               JointSpec("knee", 0.0, 1.5, 0.2, feedback=False)), command=command)


def test_speed_commands_are_integrated_from_home_and_stop_at_the_limits():
    estimate = JointEstimate(_robot("velocity"))
    assert estimate.positions(0.0) == {"hip": 0.2, "knee": 0.0}
    estimate.command({"hip": 0.5, "knee": 5.0}, 0.0)  # knee asks more than its top speed (2 rad/s)
    assert estimate.positions(1.0) == pytest.approx({"hip": 0.7, "knee": 1.5})  # knee: 2 rad/s, capped at 1.5
    estimate.command({"hip": -1.0}, 1.0)
    assert estimate.positions(1.5) == pytest.approx({"hip": 0.2, "knee": 1.5})  # knee still pushes its limit
    estimate.stop(1.5)
    assert estimate.positions(9.0) == pytest.approx({"hip": 0.2, "knee": 1.5})


def test_position_commands_are_followed_at_top_speed():
    estimate = JointEstimate(_robot("position"), joints=["hip"])
    estimate.command({"hip": -0.8}, 0.0)
    assert estimate.positions(0.5)["hip"] == pytest.approx(-0.3)  # 1 rad/s top speed
    assert estimate.positions(3.0)["hip"] == pytest.approx(-0.8)
    estimate.reset(3.0)
    assert estimate.positions(4.0) == {"hip": 0.2}
