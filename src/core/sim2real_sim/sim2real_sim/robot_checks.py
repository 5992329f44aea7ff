"""Start-up checks that a scene has what the robot config declares (a floating base, IMU sensors),
so a mismatch is one clear error at launch rather than a KeyError at the first observation."""

from __future__ import annotations

import mujoco

from sim2real_common.robot_config import FloatingBase, ImuSpec

IMU_SENSOR_DIMS = {"orientation": 4, "angular_velocity": 3, "linear_acceleration": 3}


def check_floating_base(model: mujoco.MjModel, base: FloatingBase) -> None:
    try:
        body = model.body(base.body)
    except KeyError:
        raise ValueError(f"robot config floating_base.body: the scene has no body {base.body!r}") from None
    first, count = int(body.jntadr[0]), int(body.jntnum[0])
    if count == 0 or model.jnt_type[first] != mujoco.mjtJoint.mjJNT_FREE:
        raise ValueError(f"robot config floating_base.body: body {base.body!r} has no free joint")


def check_imu(model: mujoco.MjModel, imu: ImuSpec) -> None:
    if not imu.sensors():
        raise ValueError("robot config imu: names no sensor (orientation, angular_velocity, linear_acceleration)")
    for reading, sensor in imu.sensors().items():
        try:
            dim = int(model.sensor(sensor).dim[0])
        except KeyError:
            raise ValueError(f"robot config imu.{reading}: the scene has no sensor {sensor!r}") from None
        if dim != IMU_SENSOR_DIMS[reading]:
            raise ValueError(f"robot config imu.{reading}: sensor {sensor!r} gives {dim} values, "
                             f"expected {IMU_SENSOR_DIMS[reading]}")
