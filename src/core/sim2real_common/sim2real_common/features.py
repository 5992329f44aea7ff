"""Contract feature values from ROS messages, duck-typed: works on rclpy messages and on the
messages `rosbags` deserializes (same field names), so the policy node, the recorder and the
bag replay convert identically. No ROS import here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from sim2real_common.contract import FeatureBinding


class FeatureExtractionError(ValueError):
    """A message does not carry what the contract says (missing joint, wrong image size...)."""


def stamp_ns(msg: Any) -> int:
    stamp = msg.header.stamp
    return int(stamp.sec) * 1_000_000_000 + int(stamp.nanosec)


def joint_values(binding: FeatureBinding, msg: Any, *, topic: str = "", rename: Mapping[str, str] | None = None,
                 order: Sequence[str | None] | None = None) -> np.ndarray:
    """The binding's field (position/velocity/effort), in the binding's joint order.

    Joints are matched by name; ``rename`` maps the message's names to the contract's (messages
    from another project, e.g. ``q0 -> shoulder_pan``). Given ``order``, a message with an EMPTY
    name list is read by index: ``order`` names the joint of each value (None: skip it); without
    it such a message lacks every joint. ``topic`` is named in errors (default: the binding's topic).
    """
    topic = topic or binding.topic
    field = binding.field or "position"
    values = list(getattr(msg, field))
    names = list(msg.name)
    if not names and order is not None:
        order = list(order)
        if len(values) != len(order):
            raise FeatureExtractionError(
                f"{binding.name}: {topic} has an empty joint name list and {len(values)} {field} values; read by "
                f"index they need one joint each, the order has {len(order)}: {order}")
        names = order
    elif rename:
        names = [rename.get(n, n) for n in names]
    if len(values) != len(names):
        raise FeatureExtractionError(
            f"{binding.name}: {topic} has {len(names)} joint names but {len(values)} {field} values")
    by_name = {n: v for n, v in zip(names, values) if n is not None}
    missing = [j for j in binding.joints if j not in by_name]
    if missing:
        raise FeatureExtractionError(
            f"{binding.name}: {topic} lacks joints {missing} (message has {list(msg.name)}"
            f"{', renamed to ' + str(names) if rename and msg.name else ''})")
    return np.array([by_name[j] for j in binding.joints], dtype=np.float64)


def image_rgb(binding: FeatureBinding, msg: Any, *, topic: str = "") -> np.ndarray:
    """HWC uint8 RGB, checked against the binding's (H, W, 3) shape (``topic`` is named in errors)."""
    height, width = int(msg.height), int(msg.width)
    if (height, width, 3) != binding.shape:
        raise FeatureExtractionError(
            f"{binding.name}: {topic or binding.topic} images are {height}x{width} (HxW), contract expects "
            f"{binding.shape[0]}x{binding.shape[1]}")
    data = np.frombuffer(bytes(msg.data), dtype=np.uint8)
    encoding = msg.encoding
    if encoding in ("rgb8", "bgr8"):
        rows = data.reshape(height, int(msg.step))[:, : width * 3].reshape(height, width, 3)
        return rows[..., ::-1].copy() if encoding == "bgr8" else rows.copy()
    if encoding == "mono8":
        gray = data.reshape(height, int(msg.step))[:, :width]
        return np.repeat(gray[..., None], 3, axis=2)
    raise FeatureExtractionError(f"{binding.name}: unsupported image encoding {encoding!r} "
                                 "(accepted: rgb8, bgr8, mono8)")


def pose_values(binding: FeatureBinding, msgs: dict[str, Any]) -> np.ndarray:
    """Concatenate ``<object>.position`` (xyz) / ``<object>.orientation`` (wxyz) per layout."""
    parts = []
    for item in binding.layout:
        obj, _, part = item.partition(".")
        if obj not in msgs:
            raise FeatureExtractionError(f"{binding.name}: no pose for {obj!r} yet")
        pose = msgs[obj].pose
        if part == "position":
            parts.append([pose.position.x, pose.position.y, pose.position.z])
        elif part == "orientation":
            o = pose.orientation
            parts.append([o.w, o.x, o.y, o.z])
        else:
            raise FeatureExtractionError(f"{binding.name}: layout item {item!r} is not <object>.position|orientation")
    return np.concatenate(parts).astype(np.float64)


def imu_values(binding: FeatureBinding, msg: Any) -> np.ndarray:
    """Concatenate the IMU readings of the layout: ``orientation`` (wxyz), ``angular_velocity``
    (rad/s), ``linear_acceleration`` (m/s^2, gravity included, as the chip measures it)."""
    parts = []
    for item in binding.layout:
        if item == "orientation":
            o = msg.orientation
            parts.append([o.w, o.x, o.y, o.z])
        elif item in ("angular_velocity", "linear_acceleration"):
            v = getattr(msg, item)
            parts.append([v.x, v.y, v.z])
        else:
            raise FeatureExtractionError(f"{binding.name}: layout item {item!r} is not an IMU reading")
    return np.concatenate(parts).astype(np.float64)
