"""An MP4 written frame by frame (H.264), with imageio-ffmpeg when installed, else PyAV."""

from __future__ import annotations

import importlib.util
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from sim2real_trainer.errors import TrainerError


class Mp4Writer:
    """``with Mp4Writer(path, fps) as video: video.append(frame)``; frames are RGB uint8 (H, W, 3),
    padded to even sizes (what H.264 in yuv420p needs)."""

    def __init__(self, path: Path, fps: float) -> None:
        self.path, self.fps = path, fps
        self._backend = "imageio" if importlib.util.find_spec("imageio_ffmpeg") else \
            "av" if importlib.util.find_spec("av") else None
        if self._backend is None:
            raise TrainerError(f"cannot write {path}: neither imageio-ffmpeg nor av (PyAV) is installed")
        self._writer: Any = None
        self._stream: Any = None

    def __enter__(self) -> Mp4Writer:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self._backend == "imageio":
            import imageio.v2 as imageio

            self._writer = imageio.get_writer(self.path, fps=self.fps, codec="libx264", macro_block_size=1,
                                              pixelformat="yuv420p")
        else:
            import av

            self._writer = av.open(str(self.path), mode="w")
        return self

    def append(self, frame: np.ndarray) -> None:
        frame = np.asarray(frame, dtype=np.uint8)
        height, width = frame.shape[:2]
        frame = np.pad(frame, ((0, height % 2), (0, width % 2), (0, 0)), mode="edge")
        if self._backend == "imageio":
            self._writer.append_data(frame)
            return
        import av

        if self._stream is None:
            self._stream = self._writer.add_stream("libx264", rate=Fraction(self.fps).limit_denominator(1000))
            self._stream.height, self._stream.width, self._stream.pix_fmt = frame.shape[0], frame.shape[1], "yuv420p"
        for packet in self._stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
            self._writer.mux(packet)

    def __exit__(self, *exc: object) -> None:
        if self._backend == "av" and self._stream is not None:
            for packet in self._stream.encode():
                self._writer.mux(packet)
        self._writer.close()
