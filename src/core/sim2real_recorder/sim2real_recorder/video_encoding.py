"""Video encoding while recording: one background thread per camera encodes frames into an MP4
with PyAV (libav) as they arrive, so saving an episode only has to close the files.

``StreamingEncoder`` has the interface of LeRobot 0.4.4's ``StreamingVideoEncoder``
(``start_episode / feed_frame / finish_episode / cancel_episode / close``), so
``LeRobotDataset.add_frame`` feeds it and ``LeRobotDataset.save_episode`` takes its MP4s and image
stats as its own. It differs from LeRobot's in three ways:

- codec settings are ours (``EncoderSettings``): LeRobot's streaming encoder is built with its
  hard-coded ``g=2, crf=30`` and ``libsvtav1`` preset 12, which on this 2-core machine encodes two
  640x480 cameras at 0.75x real time using 2.5 cores; libx264 ``ultrafast`` (same GOP) keeps up
  at ~0.3 core for both;
- a full queue blocks the caller instead of dropping the frame: a dropped frame leaves the MP4
  one frame short of the parquet rows, and every later frame of the episode decodes the wrong
  image (silent corruption); blocking shows up as recorder lag, which is measured and reported;
- image stats are computed in floating point on every ``stats_every``-th frame (LeRobot 0.4.4
  squares uint8 pixels and reports std 0; lerobot#3682), with ``count`` = frames sampled, as
  LeRobot's non-streaming path counts.
"""

from __future__ import annotations

import contextlib
import logging
import math
import queue
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from lerobot.datasets.compute_stats import RunningQuantileStats, auto_downsample_height_width

from sim2real_recorder.errors import EncoderError, WriterConfigError

logger = logging.getLogger(__name__)

TEMP_DIR_NAME = ".sim2real_recording"  # under the dataset root: same filesystem, so moves are renames
_X264 = ("libx264", "h264")
_X265 = ("libx265", "hevc")
_SVTAV1 = ("libsvtav1",)
_X264_PRESETS = ("ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower",
                 "veryslow")


@dataclass(frozen=True, kw_only=True)
class EncoderSettings:
    """Codec settings of the recorded videos (decodable by LeRobot's torchcodec backend)."""

    vcodec: str = "libx264"  # libx264 / h264, libx265 / hevc, libsvtav1
    preset: str = "ultrafast"  # x264/x265 preset name; libsvtav1: "0".."13"
    crf: int = 23  # constant quality: lower is better and bigger (x264: 0-51)
    gop: int = 2  # keyframe interval; LeRobot's choice: random access for training loaders
    pix_fmt: str = "yuv420p"
    threads: int = 1  # encoder threads per camera

    def __post_init__(self) -> None:
        known = _X264 + _X265 + _SVTAV1
        if self.vcodec not in known:
            raise WriterConfigError(f"vcodec: expected one of {known}, found {self.vcodec!r}")
        try:
            av.codec.Codec(self.vcodec, "w")
        except Exception as exc:  # av raises UnknownCodecError or FFmpegError depending on build
            raise WriterConfigError(f"vcodec: {self.vcodec!r} is not in this PyAV/FFmpeg build ({exc})") from exc
        if self.vcodec in _SVTAV1:
            if not (self.preset.isdigit() and 0 <= int(self.preset) <= 13):
                raise WriterConfigError(f"preset: libsvtav1 takes '0'..'13', found {self.preset!r}")
        elif self.preset not in _X264_PRESETS:
            raise WriterConfigError(f"preset: expected one of {_X264_PRESETS}, found {self.preset!r}")
        if not 0 <= self.crf <= 63:
            raise WriterConfigError(f"crf: expected 0..63, found {self.crf}")
        if self.gop < 1:
            raise WriterConfigError(f"gop: expected >= 1, found {self.gop}")
        if self.threads < 1:
            raise WriterConfigError(f"threads: expected >= 1, found {self.threads}")

    def codec_options(self) -> dict[str, str]:
        """libav options. No B-frames: presentation order = decode order, pts = frame index."""
        options = {"g": str(self.gop), "crf": str(self.crf), "preset": self.preset}
        if self.vcodec in _X264:
            options |= {"bf": "0", "threads": str(self.threads)}
        elif self.vcodec in _X265:
            options["x265-params"] = f"bframes=0:pools={self.threads}:log-level=warning"
        else:
            options["svtav1-params"] = f"lp={self.threads}"
        return options


class _CameraThread(threading.Thread):
    """Encodes the frames of one camera's queue into ``path``; ``None`` ends the episode."""

    def __init__(self, key: str, path: Path, fps: int, settings: EncoderSettings, maxsize: int,
                 stats_every: int) -> None:
        super().__init__(name=f"encoder:{key}", daemon=True)
        self.key, self.path, self.fps, self.settings = key, path, fps, settings
        self.frames: queue.Queue[np.ndarray | None] = queue.Queue(maxsize=maxsize)
        self.stats_every = stats_every
        self.cancelled = threading.Event()
        self.error: BaseException | None = None
        self.stats: dict[str, np.ndarray] | None = None
        self.encoded = 0

    def run(self) -> None:
        container = stream = None
        tracker, sampled = RunningQuantileStats(), 0
        try:
            while not self.cancelled.is_set():
                image = self.frames.get()
                if image is None:
                    break
                if container is None:
                    container, stream = self._open(image.shape[1], image.shape[0])
                frame = av.VideoFrame.from_ndarray(image, format="rgb24")
                frame.pts = self.encoded
                for packet in stream.encode(frame):
                    container.mux(packet)
                if self.encoded % self.stats_every == 0:
                    small = auto_downsample_height_width(image.transpose(2, 0, 1))
                    tracker.update(small.reshape(3, -1).T.astype(np.float32))
                    sampled += 1
                self.encoded += 1
            if container is not None and not self.cancelled.is_set():
                for packet in stream.encode(None):
                    container.mux(packet)
                stats = tracker.get_statistics()
                stats["count"] = np.array([sampled])
                self.stats = stats
        except BaseException as exc:  # reported to the caller through feed/finish
            self.error = exc
        finally:
            if container is not None:
                with contextlib.suppress(Exception):
                    container.close()

    def _open(self, width: int, height: int):
        container = av.open(str(self.path), "w", format="mp4")
        stream = container.add_stream(self.settings.vcodec, rate=self.fps,
                                      options=self.settings.codec_options())
        stream.width, stream.height, stream.pix_fmt = width, height, self.settings.pix_fmt
        stream.time_base = Fraction(1, self.fps)
        return container, stream


class StreamingEncoder:
    """Per-camera encoder threads for one episode at a time (see the module docstring)."""

    def __init__(self, *, fps: int, settings: EncoderSettings, queue_frames: int = 60,
                 stats_every: int = 5) -> None:
        self.fps, self.settings = fps, settings
        self.queue_frames, self.stats_every = queue_frames, stats_every
        self._threads: dict[str, _CameraThread] = {}
        self._dirs: list[Path] = []
        self.blocked_s = 0.0  # time feed_frame waited on a full queue this episode
        self._last_warning = -math.inf

    def start_episode(self, video_keys: list[str], temp_dir: Path) -> None:
        self.cancel_episode()
        base = Path(temp_dir) / TEMP_DIR_NAME
        base.mkdir(parents=True, exist_ok=True)
        self.blocked_s = 0.0
        for key in video_keys:
            # One directory per video: LeRobot's save_episode deletes the MP4's parent after the move.
            directory = Path(tempfile.mkdtemp(prefix="video-", dir=base))
            self._dirs.append(directory)
            thread = _CameraThread(key, directory / f"{key}.mp4", self.fps, self.settings,
                                   self.queue_frames, self.stats_every)
            thread.start()
            self._threads[key] = thread

    def feed_frame(self, video_key: str, image: np.ndarray) -> None:
        """Queue an HWC uint8 RGB image (copied); blocks while the camera's queue is full."""
        thread = self._threads.get(video_key)
        if thread is None:
            raise EncoderError(f"no encoder running for {video_key!r} (start_episode first)")
        image = np.array(image, dtype=np.uint8, order="C", copy=True)
        self._raise_if_failed(thread)
        try:
            thread.frames.put_nowait(image)
            return
        except queue.Full:
            start = time.perf_counter()
        while True:
            try:
                thread.frames.put(image, timeout=0.25)
                break
            except queue.Full:
                self._raise_if_failed(thread)
        waited = time.perf_counter() - start
        self.blocked_s += waited
        if start - self._last_warning >= 1.0:
            self._last_warning = start
            logger.warning("video encoder for %s is behind (queue of %d frames full): add_frame waited %.0f ms",
                           video_key, self.queue_frames, waited * 1e3)

    def finish_episode(self) -> dict[str, tuple[Path, dict | None]]:
        """Flush and close every MP4; return ``{key: (mp4 path, raw 0-255 image stats)}``."""
        if not self._threads:
            raise EncoderError("no episode is being encoded")
        threads, self._threads = self._threads, {}
        for thread in threads.values():
            while thread.is_alive():
                with contextlib.suppress(queue.Full):
                    thread.frames.put(None, timeout=0.25)
                    break
        for thread in threads.values():
            thread.join()
        for thread in threads.values():
            self._raise_if_failed(thread)
        self._dirs = []
        return {key: (t.path, t.stats) for key, t in threads.items()}

    def cancel_episode(self) -> None:
        threads, self._threads = self._threads, {}
        for thread in threads.values():
            thread.cancelled.set()
            with contextlib.suppress(queue.Full):
                thread.frames.put_nowait(None)
        for thread in threads.values():
            thread.join()
        for directory in self._dirs:
            shutil.rmtree(directory, ignore_errors=True)
        self._dirs = []

    def close(self) -> None:
        self.cancel_episode()

    @staticmethod
    def _raise_if_failed(thread: _CameraThread) -> None:
        if thread.error is not None:
            raise EncoderError(f"video encoder for {thread.key} failed: {thread.error!r}") from thread.error
        if not thread.is_alive() and not thread.cancelled.is_set() and thread.stats is None:
            raise EncoderError(f"video encoder for {thread.key} stopped unexpectedly")
