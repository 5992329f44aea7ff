"""A scene must have what the robot config declares: the floating base's free joint, the IMU's sensors."""

import mujoco
import pytest

from sim2real_common.robot_config import FloatingBase, ImuSpec
from sim2real_sim.robot_checks import check_floating_base, check_imu

MODEL = mujoco.MjModel.from_xml_string("""
<mujoco><worldbody>
  <body name="base"><freejoint/><geom type="box" size=".1 .1 .1"/><site name="imu"/>
    <body name="arm"><joint name="j" type="hinge"/><geom type="capsule" size=".02 .1"/></body></body>
</worldbody>
<sensor><framequat name="quat" objtype="site" objname="imu"/><gyro name="gyro" site="imu"/></sensor>
</mujoco>""")


def test_a_matching_scene_passes():
    check_floating_base(MODEL, FloatingBase(body="base"))
    check_imu(MODEL, ImuSpec(frame_id="imu", orientation="quat", angular_velocity="gyro"))


@pytest.mark.parametrize("check, text", [
    (lambda: check_floating_base(MODEL, FloatingBase(body="torso")), "floating_base.body: the scene has no body 'torso'"),
    (lambda: check_floating_base(MODEL, FloatingBase(body="arm")), "body 'arm' has no free joint"),
    (lambda: check_imu(MODEL, ImuSpec(frame_id="imu", linear_acceleration="accel")),
     "imu.linear_acceleration: the scene has no sensor 'accel'"),
    (lambda: check_imu(MODEL, ImuSpec(frame_id="imu", orientation="gyro")), "sensor 'gyro' gives 3 values, expected 4"),
    (lambda: check_imu(MODEL, ImuSpec(frame_id="imu")), "names no sensor"),
])
def test_what_the_scene_lacks_is_named(check, text):
    with pytest.raises(ValueError, match=text.replace("(", r"\(").replace(")", r"\)")):
        check()
