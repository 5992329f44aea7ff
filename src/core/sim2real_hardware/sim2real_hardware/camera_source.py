"""Camera frame sources (ROS-free): an OpenCV device or video file, or a synthetic test pattern.

Every source returns RGB uint8 frames of exactly ``height x width x 3``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np

from sim2real_hardware.errors import CameraError

SYNTHETIC = "synthetic"


@dataclass(frozen=True)
class CameraConfig:
    source: str = "0"  # device index ("0"), device path (/dev/video0), video file, or "synthetic"
    width: int = 640
    height: int = 480
    fps: float = 30.0
    loop: bool = True  # video files: start over at the end

    def __post_init__(self) -> None:
        if not self.source:
            raise ValueError("camera source: empty; give a device index, a device path, a video file or 'synthetic'")
        if self.width <= 0 or self.height <= 0:
            raise ValueError(f"camera size: expected positive width and height, got {self.width}x{self.height}")
        if not self.fps > 0:
            raise ValueError(f"camera fps: expected > 0, got {self.fps}")
        if self.is_file and not Path(self.source).is_file():
            raise FileNotFoundError(f"camera source {self.source!r}: no such video file (a device is an index "
                                    f"like 0 or a /dev/video* path; 'synthetic' is a test pattern)")

    @property
    def is_file(self) -> bool:
        return self.source != SYNTHETIC and not self.source.isdigit() and not self.source.startswith("/dev/")


class FrameSource(Protocol):
    def read(self) -> np.ndarray:
        """The next RGB frame; raises CameraError when there is none."""
    def close(self) -> None: ...


class SyntheticSource:
    """Colour bars scrolling one bar width per second plus a frame counter in binary (top row)."""

    def __init__(self, config: CameraConfig) -> None:
        self.config = config
        self.frame = 0

    def read(self) -> np.ndarray:
        w, h = self.config.width, self.config.height
        colours = np.array([[255, 255, 255], [255, 255, 0], [0, 255, 255], [0, 255, 0],
                            [255, 0, 255], [255, 0, 0], [0, 0, 255], [0, 0, 0]], dtype=np.uint8)
        bar = max(1, w // len(colours))
        shift = int(self.frame * bar / self.config.fps)
        columns = ((np.arange(w) + shift) // bar) % len(colours)
        image = np.repeat(colours[columns][None], h, axis=0)
        cell = max(1, w // 32)
        for bit in range(min(32, w // cell)):
            image[:cell, bit * cell:(bit + 1) * cell] = 255 if self.frame >> bit & 1 else 64
        self.frame += 1
        return image

    def close(self) -> None:
        pass


class OpenCVSource:
    """A V4L2/OpenCV device (index or path) or a video file, resized to the configured size."""

    def __init__(self, config: CameraConfig) -> None:
        self.config = config
        self.is_file = config.is_file
        self.capture = cv2.VideoCapture(int(config.source) if config.source.isdigit() else config.source)
        if not self.capture.isOpened():
            raise CameraError(config.source, "cannot open")
        if not self.is_file:
            self.capture.set(cv2.CAP_PROP_FRAME_WIDTH, config.width)
            self.capture.set(cv2.CAP_PROP_FRAME_HEIGHT, config.height)
            self.capture.set(cv2.CAP_PROP_FPS, config.fps)

    def read(self) -> np.ndarray:
        ok, bgr = self.capture.read()
        if not ok and self.is_file and self.config.loop:
            self.capture.set(cv2.CAP_PROP_POS_FRAMES, 0)
            ok, bgr = self.capture.read()
        if not ok:
            raise CameraError(self.config.source, "end of video" if self.is_file else "no frame (unplugged?)")
        if bgr.shape[:2] != (self.config.height, self.config.width):
            bgr = cv2.resize(bgr, (self.config.width, self.config.height), interpolation=cv2.INTER_AREA)
        return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)

    def close(self) -> None:
        self.capture.release()


def open_source(config: CameraConfig) -> FrameSource:
    return SyntheticSource(config) if config.source == SYNTHETIC else OpenCVSource(config)
