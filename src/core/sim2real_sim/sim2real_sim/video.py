"""MP4 writer for evaluation videos, with a caption burnt into each frame."""

from __future__ import annotations

from pathlib import Path

import cv2
import imageio.v2 as imageio
import numpy as np


class CaptionedVideo:
    def __init__(self, path: Path, fps: float) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._writer = imageio.get_writer(str(path), fps=fps, codec="libx264", quality=7,
                                          macro_block_size=8, ffmpeg_log_level="error")
        self.frames = 0

    def add(self, rgb: np.ndarray, caption: str = "") -> None:
        frame = np.ascontiguousarray(rgb)
        if caption:
            frame = frame.copy()
            scale = max(0.4, frame.shape[1] / 900)
            org = (8, int(24 * scale) + 4)
            cv2.putText(frame, caption, org, cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0), 3, cv2.LINE_AA)
            cv2.putText(frame, caption, org, cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255), 1, cv2.LINE_AA)
        self._writer.append_data(frame)
        self.frames += 1

    def close(self) -> None:
        self._writer.close()
