"""Contracts of a floating-base robot without joint feedback: IMU features lay out only what the
robot's IMU provides, and every observation of a joint that reads nothing back is marked estimated."""

from types import SimpleNamespace as NS

import numpy as np
import pytest

from sim2real_common.contract import load_contract
from sim2real_common.errors import ConfigError
from sim2real_common.features import imu_values

ROBOT = """
robot_type: walker
namespace: walker
control_hz: 20
command: velocity
feedback: false
joints:
  - {name: hip, lower: -1.0, upper: 1.0, max_step: 0.2}
  - {name: knee, lower: 0.0, upper: 2.0, max_step: 0.2}
  - {name: neck, lower: -1.0, upper: 1.0, max_step: 0.2, feedback: true}
home: [0.0, 0.5, 0.0]
floating_base: {body: torso}
imu: {frame_id: walker/imu, orientation: imu_quat, angular_velocity: imu_gyro}
"""

CONTRACT = """
robot: {robot}
fps: 20
features:
  observation.state:
    topic: joint_states
    type: sensor_msgs/msg/JointState
    field: position
    joints: [hip, knee, neck]
    estimated: [hip, knee]
    shape: [3]
    align: latest_before
  observation.imu:
    topic: imu
    type: sensor_msgs/msg/Imu
    layout: [orientation, angular_velocity]
    shape: [7]
    align: latest_before
  action:
    topic: joint_commands
    type: sensor_msgs/msg/JointState
    field: velocity
    joints: [hip, knee]
    shape: [2]
    align: latest_before
"""


def _contract(tmp_path, edit=lambda text: text):
    (tmp_path / "walker.yaml").write_text(ROBOT)
    path = tmp_path / "walk.yaml"
    path.write_text(edit(CONTRACT.format(robot=tmp_path / "walker.yaml")))
    return load_contract(path)


def test_estimates_and_imu_readings_are_declared(tmp_path):
    contract = _contract(tmp_path)
    assert contract.features["observation.state"].estimated == ("hip", "knee")
    assert contract.features["action"].estimated == ()
    imu = NS(orientation=NS(w=1.0, x=0.0, y=0.1, z=0.0), angular_velocity=NS(x=0.5, y=-0.5, z=0.0),
             linear_acceleration=NS(x=0.0, y=0.0, z=9.81))
    assert np.allclose(imu_values(contract.features["observation.imu"], imu), [1, 0, 0.1, 0, 0.5, -0.5, 0])


@pytest.mark.parametrize("old, new, field, text", [
    ("estimated: [hip, knee]", "estimated: [hip]", "features.observation.state.estimated",
     "missing ['knee']: robot walker reads back no position"),
    ("estimated: [hip, knee]", "estimated: [hip, knee, neck]", "features.observation.state.estimated",
     "['neck'] are not estimates: robot walker measures them"),
    ("    joints: [hip, knee]\n    shape: [2]", "    joints: [hip, knee]\n    estimated: [hip]\n    shape: [2]",
     "features.action.estimated", "only observation features carry estimates"),
    ("layout: [orientation, angular_velocity]", "layout: [orientation, linear_acceleration]",
     "features.observation.imu.layout", "'linear_acceleration': robot walker's IMU does not provide it"),
    ("layout: [orientation, angular_velocity]", "layout: [orientation, angular_velocty]",
     "features.observation.imu.layout", "did you mean 'angular_velocity'"),
    ("shape: [7]", "shape: [6]", "features.observation.imu.layout", "lays out 7 values, shape says 6"),
])
def test_wrong_marks_and_imu_layouts_name_the_field(tmp_path, old, new, field, text):
    with pytest.raises(ConfigError) as err:
        _contract(tmp_path, lambda t: t.replace(old, new))
    assert f"walk.yaml: {field}: " in str(err.value) and text in str(err.value)
