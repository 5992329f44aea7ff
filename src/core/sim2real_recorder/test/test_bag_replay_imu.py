"""`bag2dataset` of a floating-base robot: IMU messages become the contract's IMU feature in its
layout; joint estimates convert like any JointState (the contract says they are estimates)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import yaml

from sim2real_recorder.bag_replay import convert

NS = 1_000_000_000
T0 = 1_700_000_000 * NS
FRAMES = 40

ROBOT = """
robot_type: walker
namespace: walker
control_hz: 20
command: velocity
feedback: false
joints:
  - {name: hip, lower: -1.0, upper: 1.0, max_step: 0.2}
  - {name: knee, lower: 0.0, upper: 2.0, max_step: 0.2}
home: [0.0, 0.5]
floating_base: {body: torso}
imu: {frame_id: walker/imu, orientation: imu_quat, angular_velocity: imu_gyro, linear_acceleration: imu_accel}
"""

CONTRACT = """
robot: {robot}
fps: 20
task: Walk forward.
features:
  observation.state: {{topic: joint_states, type: sensor_msgs/msg/JointState, field: position, joints: [hip, knee],
                      estimated: [hip, knee], shape: [2], align: latest_before}}
  observation.imu: {{topic: imu, type: sensor_msgs/msg/Imu, layout: [orientation, angular_velocity, linear_acceleration],
                    shape: [10], align: latest_before}}
  action: {{topic: joint_commands, type: sensor_msgs/msg/JointState, field: velocity, joints: [hip, knee], shape: [2],
           align: latest_before}}
"""


def imu_reading(k: int) -> np.ndarray:
    yaw = 0.02 * k
    return np.array([np.cos(yaw / 2), 0.0, 0.0, np.sin(yaw / 2), 0.01 * k, -0.02, 0.4, 0.1, 0.0, 9.81])


def write_bag(path: Path) -> None:
    from rosbags.rosbag2 import StoragePlugin, Writer
    from rosbags.typesys import Stores, get_typestore

    ts = get_typestore(Stores.ROS2_HUMBLE)
    Header, Time = ts.types["std_msgs/msg/Header"], ts.types["builtin_interfaces/msg/Time"]
    JointState, Imu = ts.types["sensor_msgs/msg/JointState"], ts.types["sensor_msgs/msg/Imu"]
    Quaternion, Vector3 = ts.types["geometry_msgs/msg/Quaternion"], ts.types["geometry_msgs/msg/Vector3"]
    with Writer(path, version=9, storage_plugin=StoragePlugin.MCAP) as writer:
        conns = {t: writer.add_connection(t, mt, typestore=ts) for t, mt in (
            ("/joint_states", "sensor_msgs/msg/JointState"), ("/joint_commands", "sensor_msgs/msg/JointState"),
            ("/imu", "sensor_msgs/msg/Imu"))}
        for k in range(FRAMES):
            stamp = T0 + k * NS // 20
            header = Header(stamp=Time(sec=stamp // NS, nanosec=stamp % NS), frame_id="")
            values = np.array([0.01 * k, 0.5 + 0.02 * k])
            msgs = {
                "/joint_states": JointState(header=header, name=["hip", "knee"], position=values,
                                            velocity=np.zeros(0), effort=np.zeros(0)),
                "/joint_commands": JointState(header=header, name=["hip", "knee"], position=np.zeros(0),
                                              velocity=np.array([0.2, 0.4]), effort=np.zeros(0)),
            }
            q, w, a = np.split(imu_reading(k), [4, 7])
            msgs["/imu"] = Imu(header=header, orientation=Quaternion(x=q[1], y=q[2], z=q[3], w=q[0]),
                               orientation_covariance=np.zeros(9), angular_velocity=Vector3(x=w[0], y=w[1], z=w[2]),
                               angular_velocity_covariance=np.zeros(9),
                               linear_acceleration=Vector3(x=a[0], y=a[1], z=a[2]),
                               linear_acceleration_covariance=np.zeros(9))
            for topic, msg in msgs.items():
                writer.write(conns[topic], stamp + 3_000_000, ts.serialize_cdr(msg, conns[topic].msgtype))


def test_imu_messages_convert_in_the_contract_layout(tmp_path):
    from lerobot.datasets.lerobot_dataset import LeRobotDataset

    (tmp_path / "walker.yaml").write_text(ROBOT)
    (tmp_path / "walk.yaml").write_text(CONTRACT.format(robot=tmp_path / "walker.yaml"))
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text(yaml.safe_dump({"contract": str(tmp_path / "walk.yaml")}))
    write_bag(tmp_path / "bag")
    convert([tmp_path / "bag"], mapping, tmp_path / "ds", progress=False)
    ds = LeRobotDataset("local/bags", root=tmp_path / "ds")
    assert ds.meta.features["observation.imu"]["names"][:5] == [
        "orientation.qw", "orientation.qx", "orientation.qy", "orientation.qz", "angular_velocity.x"]
    rows = ds.hf_dataset
    assert len(rows) >= FRAMES - 2
    for i in (0, len(rows) // 2, len(rows) - 1):
        k = round(float(rows[i]["observation.state"][0]) / 0.01)  # the bag frame this row was sampled at
        # the IMU message of the same stamp, laid out orientation (wxyz), gyro, accelerometer
        assert np.allclose(rows[i]["observation.imu"].numpy(), imu_reading(k), atol=1e-5)
        assert np.allclose(rows[i]["action"].numpy(), [0.2, 0.4])
