"""Robot config: the shipped file loads; bad files fail with file + field + expected/found."""

import numpy as np
import pytest

from sim2real_common.errors import ConfigError
from sim2real_common.robot_config import load_robot_config

GOOD = """
robot_type: so101_follower
namespace: so101
control_hz: 30
joints:
  - {name: a, lower: -1.0, upper: 1.0, max_step: 0.1}
  - {name: b, lower: -2.0, upper: 2.0, max_step: 0.5}
home: [0.0, 0.5]
cameras:
  top: {frame_id: so101/top}
"""


def _write(tmp_path, text):
    path = tmp_path / "robot.yaml"
    path.write_text(text)
    return path


def test_shipped_so101_config_loads():
    robot = load_robot_config("so101.yaml")
    assert robot.joint_names == ["shoulder_pan", "shoulder_lift", "elbow_flex", "wrist_flex", "wrist_roll", "gripper"]
    assert len(robot.home) == 6 and robot.control_hz == 30.0
    assert np.all(robot.lower < robot.upper)


def test_clamp_applies_limits_and_max_step(tmp_path):
    robot = load_robot_config(_write(tmp_path, GOOD))
    assert np.allclose(robot.clamp([5.0, -5.0]), [1.0, -2.0])
    assert np.allclose(robot.clamp([0.9, -1.9], current=[0.0, 0.0]), [0.1, -0.5])
    assert robot.camera_frames == {"top": "so101/top"}


@pytest.mark.parametrize(
    "edit, field, words",
    [
        (lambda t: t.replace("control_hz: 30\n", ""), "control_hz", "missing"),
        (lambda t: t.replace("upper: 1.0", "upper: high"), "joints[0].upper", "expected float"),
        (lambda t: t.replace("lower: -2.0", "lower: 3.0"), "joints[1].lower", "expected < upper"),
        (lambda t: t.replace("home: [0.0, 0.5]", "home: [0.0]"), "home", "expected 2 values"),
        (lambda t: t.replace("max_step: 0.1", "max_step: 0"), "joints[0].max_step", "expected > 0"),
    ],
)
def test_bad_fields_name_file_field_and_expectation(tmp_path, edit, field, words):
    path = _write(tmp_path, edit(GOOD))
    with pytest.raises(ConfigError) as info:
        load_robot_config(path)
    assert info.value.field == field
    assert str(path) in str(info.value) and words in str(info.value)


def test_malformed_yaml_names_the_file(tmp_path):
    path = _write(tmp_path, "joints: [unclosed\n")
    with pytest.raises(ConfigError, match="malformed YAML") as info:
        load_robot_config(path)
    assert str(path) in str(info.value)


def test_missing_file_is_reported():
    with pytest.raises(FileNotFoundError, match="nope.yaml"):
        load_robot_config("nope.yaml")


FLOATING = GOOD + """
command: velocity
feedback: false
floating_base: {body: torso}
imu: {frame_id: bot/imu, orientation: imu_quat, angular_velocity: imu_gyro}
"""


def test_a_floating_base_robot_without_feedback_declares_base_imu_and_estimated_joints(tmp_path):
    robot = load_robot_config(_write(tmp_path, FLOATING.replace(
        "{name: b, lower: -2.0, upper: 2.0, max_step: 0.5}", "{name: b, lower: -2.0, upper: 2.0, max_step: 0.5, feedback: true}")))
    assert robot.command == "velocity"
    assert robot.floating_base.body == "torso"
    assert robot.imu.sensors() == {"orientation": "imu_quat", "angular_velocity": "imu_gyro"}
    assert robot.estimated_joints == ["a"]  # robot-wide feedback: false, joint b overrides it


def test_a_fixed_arm_has_no_base_imu_or_estimates():
    robot = load_robot_config("so101.yaml")
    assert (robot.command, robot.floating_base, robot.imu, robot.estimated_joints) == ("position", None, None, [])
    assert robot.tool_site == "grasp"


@pytest.mark.parametrize("change, field, expected", [
    (("command: velocity", "command: torque"), "command", "expected one of position, velocity"),
    (("{frame_id: bot/imu,", "{frame: bot/imu,"), "imu.frame", "unknown key"),
    (("floating_base: {body: torso}", "floating_base: {}"), "floating_base.body", "missing"),
    (("feedback: false", "feedback: no-way"), "feedback", "expected bool"),
])
def test_bad_hardware_declarations_name_the_field(tmp_path, change, field, expected):
    with pytest.raises(ConfigError) as err:
        load_robot_config(_write(tmp_path, FLOATING.replace(*change)))
    assert f": {field}:" in str(err.value) and expected in str(err.value)
