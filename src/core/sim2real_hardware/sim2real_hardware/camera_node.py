"""OpenCV camera node: ``<camera_name>/image_raw`` (sensor_msgs/Image, rgb8) and
``<camera_name>/camera_info`` at ``fps``, under the robot namespace (``/so101/wrist_cam/image_raw``).

``camera_name`` defaults to the node name, so one parameter file section per camera
(``/**/wrist_cam``) configures each instance. ``robot_config`` (required) gives the frame id of
each camera (its ``cameras:``; ``frame_id`` overrides it). ``source``: a device index (``0``), a
device path (``/dev/video2``), a video file (looped), or ``synthetic`` (a moving test pattern).
CameraInfo is a pinhole from ``fovy_deg`` (square pixels, centred), or left uncalibrated (K = 0)
when it is 0.
A source that stops delivering frames is reported on /diagnostics and reopened every 2 s.
"""

from __future__ import annotations

import time

import numpy as np

from rcl_interfaces.msg import ParameterDescriptor
from rclpy.node import Node
from sensor_msgs.msg import CameraInfo, Image

from sim2real_common.node_runner import run_node
from sim2real_common.robot_config import load_robot_config
from sim2real_hardware.reports import Level, Report
from sim2real_hardware.ros_params import declare, freeze_parameters
from sim2real_hardware.camera_source import CameraConfig, FrameSource, open_source
from sim2real_hardware.errors import CameraError
from sim2real_hardware.ros_diagnostics import DiagnosticsPublisher
from sim2real_common.ros_conversions import camera_info_msg, image_msg

REOPEN_PERIOD_S = 2.0


class CameraNode(Node):
    def __init__(self) -> None:
        super().__init__("camera")
        self.source: FrameSource | None = None  # first: destroy_node of a half-built node reads it
        p = declare(self, {"camera_name": "", "width": 640, "height": 480, "fps": 30.0, "loop": True,
                           "frame_id": "", "fovy_deg": 0.0, "robot_config": ""})
        # `source:=0` arrives as an integer, `source:=/dev/video0` as a string: accept both.
        p["source"] = self.declare_parameter("source", "0", ParameterDescriptor(dynamic_typing=True)).value
        freeze_parameters(self)
        if not p["robot_config"]:
            raise ValueError("parameter robot_config: required (the robot config naming the camera frames, "
                             "e.g. so101.yaml)")
        self.camera_name = p["camera_name"] or self.get_name()
        self.config = CameraConfig(source=str(p["source"]), width=p["width"], height=p["height"], fps=p["fps"],
                                   loop=p["loop"])
        robot = load_robot_config(p["robot_config"])
        self.frame_id = p["frame_id"] or robot.camera_frames.get(self.camera_name, self.camera_name)
        self.fovy_deg = p["fovy_deg"]
        self.image_pub = self.create_publisher(Image, f"{self.camera_name}/image_raw", 10)
        self.info_pub = self.create_publisher(CameraInfo, f"{self.camera_name}/camera_info", 10)
        self.diagnostics = DiagnosticsPublisher(self, hardware_id=self.config.source)
        self.problem = ""
        self.frames = 0
        self._next_open = 0.0
        self.create_timer(1.0 / self.config.fps, self._on_tick)
        self.get_logger().info(f"camera {self.camera_name} from {self.config.source!r} {self.config.width}x"
                               f"{self.config.height} at {self.config.fps:g} fps -> {self.image_pub.topic_name}")

    def _on_tick(self) -> None:
        now = time.monotonic()
        try:
            if self.source is None and now >= self._next_open:
                self._next_open = now + REOPEN_PERIOD_S
                self.source = open_source(self.config)
            if self.source is not None:
                self._publish(self.source.read())
                self.problem = ""
        except CameraError as err:
            self.problem = str(err)
            if self.source is not None:
                self.source.close()
                self.source = None
        level, message = (Level.ERROR, self.problem) if self.problem else (Level.OK, "streaming")
        values = {"source": self.config.source, "frame_id": self.frame_id, "frames": str(self.frames),
                  "size": f"{self.config.width}x{self.config.height}", "fps": f"{self.config.fps:g}"}
        self.diagnostics.publish([Report(f"camera {self.camera_name}", level, message, values)])

    def _publish(self, rgb: np.ndarray) -> None:
        stamp = self.get_clock().now().to_msg()
        self.image_pub.publish(image_msg(rgb, stamp, self.frame_id))
        if self.fovy_deg > 0:
            info = camera_info_msg(self.config.width, self.config.height, self.fovy_deg, stamp, self.frame_id)
        else:
            info = CameraInfo(width=self.config.width, height=self.config.height)
            info.header.stamp, info.header.frame_id = stamp, self.frame_id
        self.info_pub.publish(info)
        self.frames += 1

    def destroy_node(self) -> None:
        try:
            if self.source is not None:
                self.source.close()
        finally:
            super().destroy_node()


def main(args: list[str] | None = None) -> None:
    run_node(CameraNode, args)


if __name__ == "__main__":
    main()
