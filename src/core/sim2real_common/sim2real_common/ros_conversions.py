"""Message <-> numpy conversions shared by the sim and hardware nodes (thin, no logic)."""

from __future__ import annotations

import numpy as np
from builtin_interfaces.msg import Time
from geometry_msgs.msg import PoseStamped
from sensor_msgs.msg import CameraInfo, Image, Imu


def stamp_from_seconds(t: float) -> Time:
    sec = int(t)
    return Time(sec=sec, nanosec=int(round((t - sec) * 1e9)) % 1_000_000_000)


def seconds_from_stamp(stamp: Time) -> float:
    return stamp.sec + stamp.nanosec * 1e-9


def image_msg(rgb: np.ndarray, stamp: Time, frame_id: str) -> Image:
    msg = Image()
    msg.header.stamp = stamp
    msg.header.frame_id = frame_id
    msg.height, msg.width = int(rgb.shape[0]), int(rgb.shape[1])
    msg.encoding = "rgb8"
    msg.step = msg.width * 3
    msg.data = np.ascontiguousarray(rgb, dtype=np.uint8).tobytes()
    return msg


def image_array(msg: Image) -> np.ndarray:
    if msg.encoding != "rgb8":
        raise ValueError(f"expected rgb8 image, got {msg.encoding!r}")
    return np.frombuffer(bytes(msg.data), dtype=np.uint8).reshape(msg.height, msg.width, 3)


def camera_info_msg(width: int, height: int, fovy_deg: float, stamp: Time, frame_id: str) -> CameraInfo:
    """Pinhole intrinsics of a MuJoCo camera (square pixels, principal point at the centre)."""
    f = 0.5 * height / np.tan(np.deg2rad(fovy_deg) / 2)
    cx, cy = (width - 1) / 2, (height - 1) / 2
    msg = CameraInfo()
    msg.header.stamp = stamp
    msg.header.frame_id = frame_id
    msg.width, msg.height = width, height
    msg.distortion_model = "plumb_bob"
    msg.d = [0.0] * 5
    msg.k = [f, 0.0, cx, 0.0, f, cy, 0.0, 0.0, 1.0]
    msg.r = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0]
    msg.p = [f, 0.0, cx, 0.0, 0.0, f, cy, 0.0, 0.0, 0.0, 1.0, 0.0]
    return msg


def pose_msg(pos: np.ndarray, quat_wxyz: np.ndarray, stamp: Time, frame_id: str = "world") -> PoseStamped:
    msg = PoseStamped()
    msg.header.stamp = stamp
    msg.header.frame_id = frame_id
    msg.pose.position.x, msg.pose.position.y, msg.pose.position.z = (float(v) for v in pos)
    o = msg.pose.orientation
    o.w, o.x, o.y, o.z = (float(v) for v in quat_wxyz)
    return msg


def pose_array(msg: PoseStamped) -> tuple[np.ndarray, np.ndarray]:
    p, o = msg.pose.position, msg.pose.orientation
    return np.array([p.x, p.y, p.z]), np.array([o.w, o.x, o.y, o.z])


def imu_msg(readings: dict[str, np.ndarray], stamp: Time, frame_id: str) -> Imu:
    """sensor_msgs/Imu from the readings an IMU provides (``orientation`` wxyz, ``angular_velocity``,
    ``linear_acceleration``); one it does not provide gets covariance[0] = -1, as REP 145 says."""
    msg = Imu()
    msg.header.stamp = stamp
    msg.header.frame_id = frame_id
    if "orientation" in readings:
        o = msg.orientation
        o.w, o.x, o.y, o.z = (float(v) for v in readings["orientation"])
    else:
        msg.orientation_covariance[0] = -1.0
    for name in ("angular_velocity", "linear_acceleration"):
        if name in readings:
            vector = getattr(msg, name)
            vector.x, vector.y, vector.z = (float(v) for v in readings[name])
        else:
            getattr(msg, f"{name}_covariance")[0] = -1.0
    return msg
