"""Camera sources (synthetic, video file), the camera node's topics and its required robot config."""

from __future__ import annotations

import time

import cv2
import numpy as np
import pytest
import rclpy
from rclpy.node import Node
from sensor_msgs.msg import CameraInfo, Image

from sim2real_common.ros_testing import isolate_ros, start_node, stop_node
from sim2real_hardware.camera_source import CameraConfig, OpenCVSource, SyntheticSource, open_source
from sim2real_hardware.errors import CameraError


def test_synthetic_pattern_moves_and_has_the_configured_size():
    source = open_source(CameraConfig(source="synthetic", width=64, height=48, fps=10))
    assert isinstance(source, SyntheticSource)
    frames = [source.read() for _ in range(3)]
    assert frames[0].shape == (48, 64, 3) and frames[0].dtype == np.uint8
    assert not np.array_equal(frames[0], frames[1]) and not np.array_equal(frames[1], frames[2])


def test_video_file_is_read_resized_to_rgb_and_looped(tmp_path):
    path = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10, (32, 24))
    for k in range(3):
        frame = np.zeros((24, 32, 3), np.uint8)
        frame[..., 2] = 200  # red in OpenCV's BGR
        frame[:, : 10 * (k + 1)] = 0
        writer.write(frame)
    writer.release()
    source = open_source(CameraConfig(source=str(path), width=64, height=48))
    assert isinstance(source, OpenCVSource)
    frames = [source.read() for _ in range(5)]  # 3 frames, then from the start again
    assert frames[0].shape == (48, 64, 3)
    assert frames[0][24, 60, 0] > 150 and frames[0][24, 60, 2] < 50  # RGB: red is channel 0
    assert np.abs(frames[3].astype(int) - frames[0]).mean() < 2
    source.close()
    once = open_source(CameraConfig(source=str(path), width=32, height=24, loop=False))
    with pytest.raises(CameraError, match="end of video"):
        for _ in range(4):
            once.read()


def test_bad_sources_are_refused(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such video file"):
        CameraConfig(source=str(tmp_path / "missing.mp4"))
    with pytest.raises(ValueError, match="fps"):
        CameraConfig(source="synthetic", fps=0)
    with pytest.raises(CameraError, match="cannot open"):
        OpenCVSource(CameraConfig(source="/dev/video99"))


def test_camera_node_publishes_rgb8_images_and_camera_info(tmp_path):
    isolate_ros(tmp_path)
    rclpy.init()
    log = tmp_path / "camera.log"
    node = start_node("sim2real_hardware.camera_node", "-r", "__node:=wrist_cam", "-p", "source:=synthetic",
                      "-p", "width:=64", "-p", "height:=48", "-p", "fps:=20.0", "-p", "fovy_deg:=60.0",
                      "-p", "robot_config:=so101.yaml", namespace="so101", log=log)
    probe = Node("probe", namespace="so101")
    images, infos = [], []
    probe.create_subscription(Image, "wrist_cam/image_raw", images.append, 10)
    probe.create_subscription(CameraInfo, "wrist_cam/camera_info", infos.append, 10)
    try:
        end = time.monotonic() + 30
        while len(images) < 10 and time.monotonic() < end:
            rclpy.spin_once(probe, timeout_sec=0.05)
        assert len(images) >= 10, log.read_text()
        image, info = images[-1], infos[-1]
        assert (image.width, image.height, image.encoding, image.step) == (64, 48, "rgb8", 192)
        assert len(image.data) == 64 * 48 * 3
        assert image.header.frame_id == info.header.frame_id == "so101/wrist_cam"  # from config/so101.yaml
        assert info.k[0] > 0 and info.k[2] == pytest.approx(31.5)
        stamps = [m.header.stamp.sec + m.header.stamp.nanosec * 1e-9 for m in images]
        assert np.all(np.diff(stamps) > 0)  # the rate itself is load-dependent: not asserted here
        def info_stamps() -> set[tuple[int, int]]:
            return {(m.header.stamp.sec, m.header.stamp.nanosec) for m in infos}

        each_image = (images[4].header.stamp.sec, images[4].header.stamp.nanosec)  # has its camera_info
        while each_image not in info_stamps() and time.monotonic() < end:
            rclpy.spin_once(probe, timeout_sec=0.05)
        assert each_image in info_stamps()
    finally:
        probe.destroy_node()
        assert stop_node(node) == 0, log.read_text()
        rclpy.shutdown()


def test_camera_node_requires_a_robot_config(tmp_path):
    isolate_ros(tmp_path)
    log = tmp_path / "camera.log"
    node = start_node("sim2real_hardware.camera_node", "-p", "source:=synthetic", namespace="cam", log=log)
    assert node.wait(timeout=120) == 2, log.read_text()
    output = log.read_text()
    assert "Traceback" not in output
    assert [line for line in output.splitlines() if "error" in line.lower()] == [
        "error: parameter robot_config: required (the robot config naming the camera frames, e.g. so101.yaml)"]
