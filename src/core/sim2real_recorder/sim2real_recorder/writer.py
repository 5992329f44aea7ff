"""Dataset writer core (no ROS): records episodes into a LeRobot v3.0 dataset with LeRobot
0.4.4's own writer (``LeRobotDataset.create / add_frame / save_episode / finalize``; resume is
``LeRobotDataset(repo_id, root=...)``), encoding video while recording and saving crash-safely.

What is LeRobot's and what is added on top (all against the pinned 0.4.4):

- Video is encoded while recording by ``video_encoding.StreamingEncoder``, plugged in as the
  dataset's streaming encoder (LeRobot's ``streaming_encoding`` path), with codec settings that
  keep up on 2 cores. ``save_episode`` then only closes the MP4s, writes the parquet rows and
  metadata: LeRobot's default path (PNG per frame, then libsvtav1 at save) took 106 s to save a
  20 s two-camera episode here.
- Crash safety: LeRobot keeps its parquet writers open (no footer: unreadable) until
  ``finalize`` and appends episodes to shared files; a killed recorder loses everything. Here
  every episode gets its own data / meta-episodes / video files (the file size limits are set to
  "one episode per file" while this writer has the dataset open, and restored on finalize), the
  parquet writers are closed after every save, and each save runs inside a
  ``transaction.SaveTransaction`` (journal + rollback). Between saves every file on disk is
  complete, so a SIGKILL mid-episode leaves every saved episode loadable by plain
  ``LeRobotDataset``; a SIGKILL during a save is rolled back when the dataset is next opened
  (``DatasetWriter`` or ``transaction.recover``).
- Time: frames live on the fps grid of the recorder clock. ``add_frame`` takes the frame's
  true time (relative to the episode start) and requires it on the grid (LeRobot finds video
  frames by ``round(timestamp * fps)`` and checks them within 1e-4 s, so off-grid times cannot be
  stored truthfully). The content of each frame is what the streams held at that time
  (``sync.StreamSynchronizer``: latest message at or before it, ages checked against the contract).
  A grid slot the recorder could not fill is not invented: the parquet has no row for it and its
  ``timestamp`` column jumps (true times, never frame_index / fps); the MP4 repeats the previous
  image in that slot so video frame k stays at k / fps. The episode's time origin is its first
  frame. (LeRobot 0.4.4's ``add_frame`` rejects a ``timestamp`` key, lerobot#3163; the writer sets
  the buffered timestamp after ``add_frame``.)
"""

from __future__ import annotations

import json
import logging
import math
import os
import shutil
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from lerobot.datasets.lerobot_dataset import LeRobotDataset
from lerobot.datasets.utils import (
    DEFAULT_DATA_FILE_SIZE_IN_MB,
    DEFAULT_FEATURES,
    DEFAULT_VIDEO_FILE_SIZE_IN_MB,
    INFO_PATH,
)
from lerobot.utils.utils import SuppressProgressBars

from sim2real_common.contract import Contract
from sim2real_recorder.errors import (
    DatasetMismatchError,
    FrameError,
    WriterConfigError,
    WriterStateError,
)
from sim2real_recorder.transaction import TXN_DIR_NAME, SaveTransaction, recover
from sim2real_recorder.video_encoding import TEMP_DIR_NAME, EncoderSettings, StreamingEncoder

logger = logging.getLogger(__name__)

CODEBASE_VERSION = "v3.0"  # LeRobot 0.4.4's dataset format
GRID_TOLERANCE_S = 1e-4  # LeRobot's default tolerance_s between a timestamp and its video frame
ONE_EPISODE_PER_FILE_MB = 1e-6  # file size limit while recording: every episode opens new files
NUMERIC_DTYPES = ("float32", "float64", "int64", "int32", "bool")
_OWN_ENTRIES = {TEMP_DIR_NAME, TXN_DIR_NAME}


@dataclass(frozen=True, kw_only=True)
class WriterConfig:
    root: Path  # dataset directory (created, or resumed if it holds a dataset)
    repo_id: str = "local/dataset"  # stored in the dataset; nothing is uploaded
    fps: float  # dataset fps; must be a whole number (LeRobot stores an int)
    robot_type: str
    task: str  # natural-language task of every frame
    features: dict[str, dict[str, Any]]  # LeRobot features (features_from_contract)
    vcodec: str = "libx264"
    preset: str = "ultrafast"  # x264 preset: ~0.3 core for two 640x480 cameras at 30 fps
    crf: int = 23  # x264's default quality
    gop: int = 2  # keyframe every 2 frames, as LeRobot: fast random access when training
    encoder_threads: int = 1  # per camera
    encoder_queue_s: float = 2.0  # frames buffered per camera before add_frame blocks
    durable: bool = True  # fsync each saved episode (power loss); a killed process needs no fsync

    def __post_init__(self) -> None:
        object.__setattr__(self, "root", Path(self.root).expanduser())
        object.__setattr__(self, "features", {k: dict(v) for k, v in self.features.items()})
        if not (isinstance(self.fps, (int, float)) and self.fps > 0 and float(self.fps).is_integer()):
            raise WriterConfigError(f"fps: expected a positive whole number, found {self.fps!r}")
        if not self.task.strip():
            raise WriterConfigError("task: expected a non-empty task description")
        if not self.features:
            raise WriterConfigError("features: expected at least one feature")
        for name, ft in self.features.items():
            self._check_feature(name, ft)
        if self.encoder_queue_s <= 0:
            raise WriterConfigError(f"encoder_queue_s: expected > 0, found {self.encoder_queue_s}")
        self.encoder_settings()  # validates the codec fields

    @staticmethod
    def _check_feature(name: str, ft: dict[str, Any]) -> None:
        if name in DEFAULT_FEATURES or "/" in name:
            raise WriterConfigError(f"features.{name}: reserved by LeRobot or contains '/'")
        if "dtype" not in ft or "shape" not in ft:
            raise WriterConfigError(f"features.{name}: expected keys dtype and shape, found {sorted(ft)}")
        shape = tuple(ft["shape"])
        if not shape or not all(isinstance(d, int) and d > 0 for d in shape):
            raise WriterConfigError(f"features.{name}.shape: expected positive ints, found {ft['shape']!r}")
        ft["shape"] = shape
        if ft["dtype"] == "video":
            if len(shape) != 3 or shape[2] != 3:
                raise WriterConfigError(f"features.{name}.shape: videos are (height, width, 3), found {shape}")
        elif ft["dtype"] not in NUMERIC_DTYPES:
            raise WriterConfigError(f"features.{name}.dtype: expected 'video' or one of {NUMERIC_DTYPES}, "
                                    f"found {ft['dtype']!r}")
        ft.setdefault("names", None)

    def encoder_settings(self) -> EncoderSettings:
        return EncoderSettings(vcodec=self.vcodec, preset=self.preset, crf=self.crf, gop=self.gop,
                               threads=self.encoder_threads)


def features_from_contract(contract: Contract, *, cameras: list[str] | None = None,
                           include_sim_only: bool = False) -> dict[str, dict[str, Any]]:
    """LeRobot features of a contract: vectors as float32 named by joint (or pose layout),
    cameras as video (H, W, 3). ``cameras`` selects cameras by name (None: all); sim-only
    features (privileged sim state) only with ``include_sim_only``."""
    bindings = [b for b in contract.features.values() if include_sim_only or not b.sim_only]
    available = [b.camera for b in bindings if b.is_image]
    if cameras is not None:
        unknown = [c for c in cameras if c not in available]
        if unknown:
            raise WriterConfigError(f"cameras {unknown} are not in contract {contract.path.name} "
                                    f"(cameras: {available})")
    features: dict[str, dict[str, Any]] = {}
    for b in bindings:
        if b.is_image:
            if cameras is None or b.camera in cameras:
                features[b.name] = {"dtype": "video", "shape": tuple(b.shape),
                                    "names": ["height", "width", "channels"]}
        else:
            features[b.name] = {"dtype": "float32", "shape": tuple(b.shape), "names": _vector_names(b)}
    return features


def _vector_names(binding) -> list[str]:
    if binding.joints:
        return list(binding.joints)
    names = []
    if binding.type == "sensor_msgs/msg/Imu":
        for item in binding.layout:
            axes = ("qw", "qx", "qy", "qz") if item == "orientation" else ("x", "y", "z")
            names.extend(f"{item}.{axis}" for axis in axes)
        return names
    for item in binding.layout:
        obj, _, part = item.partition(".")
        axes = ("x", "y", "z") if part == "position" else ("qw", "qx", "qy", "qz")
        names.extend(f"{obj}.{axis}" for axis in axes)
    if len(names) != binding.shape[0]:
        names = [f"{binding.name}.{i}" for i in range(binding.shape[0])]
    return names


@dataclass
class _Episode:
    first_slot: int | None = None
    next_slot: int = 0  # relative to first_slot
    rows: int = 0
    skipped: int = 0
    last_images: dict[str, np.ndarray] = field(default_factory=dict)
    pending_warning: int = 0
    last_warning: float = -math.inf
    failed: BaseException | None = None  # add_frame failed half-way: the episode must be discarded


class DatasetWriter:
    """Records episodes into ``config.root`` (see the module docstring). Use as a context
    manager, or call ``finalize()`` on stop. Methods may be called from several threads (e.g. a
    timer adding frames and a service saving): they run one at a time."""

    def __init__(self, config: WriterConfig) -> None:
        self.config = config
        self._fps = int(config.fps)
        self._video_keys = [k for k, ft in config.features.items() if ft["dtype"] == "video"]
        self._episode: _Episode | None = None
        self._finalized = False
        self._saved_this_session = False
        self.last_save_s: float | None = None  # wall time of the last save_episode
        self._limits = (DEFAULT_DATA_FILE_SIZE_IN_MB, DEFAULT_VIDEO_FILE_SIZE_IN_MB)
        self._lock = threading.RLock()
        self._ds = self._open()

    # -- public API ---------------------------------------------------------------------------

    @property
    def episodes_saved(self) -> int:
        """Episodes in the dataset, resumed ones included."""
        return int(self._ds.meta.total_episodes)

    @property
    def recording(self) -> bool:
        return self._episode is not None

    @property
    def frames_in_episode(self) -> int:
        return self._episode.rows if self._episode else 0

    @property
    def skipped_in_episode(self) -> int:
        """Grid slots between frames that got no frame (the recorder fell behind)."""
        return self._episode.skipped if self._episode else 0

    @property
    def encoder_blocked_s(self) -> float:
        """Time add_frame waited for the video encoders this episode (0 when they keep up)."""
        return self._encoder.blocked_s

    def start_episode(self) -> None:
        with self._lock:
            self._require_open()
            if self._episode is not None and self._episode.rows:
                raise WriterStateError("an episode with frames is in progress: save_episode() or "
                                       "discard_episode() first")
            self._episode = _Episode()

    def add_frame(self, frame: dict[str, np.ndarray], timestamp_s: float) -> None:
        """Add the frame sampled at ``timestamp_s`` (s since the episode start, on the fps grid).

        ``frame`` holds every feature: vectors (cast to the feature dtype) and HWC uint8 RGB
        images. Images are queued to the video encoders (copied); this blocks only if an
        encoder is ``encoder_queue_s`` behind.
        """
        with self._lock:
            self._require_open()
            episode = self._episode
            if episode is None:
                raise WriterStateError("add_frame before start_episode()")
            self._require_intact(episode)
            slot = self._slot(timestamp_s)
            values = self._validated(frame)
            if episode.first_slot is None:
                episode.first_slot = slot
            rel = slot - episode.first_slot
            if rel < episode.next_slot:
                raise FrameError(f"timestamp {timestamp_s:.4f} s is not after the previous frame "
                                 f"({(episode.first_slot + episode.next_slot - 1) / self._fps:.4f} s)")
            try:
                if rel > episode.next_slot:
                    self._skip(episode, rel - episode.next_slot, timestamp_s)
                self._ds.add_frame({**values, "task": self.config.task})
            except BaseException as exc:  # videos and rows may no longer line up
                episode.failed = exc
                raise
            # LeRobot 0.4.4 buffers frame_index / fps; the true time of this frame is rel / fps.
            self._ds.episode_buffer["timestamp"][-1] = rel / self._fps
            for key in self._video_keys:
                episode.last_images[key] = values[key]
            episode.rows += 1
            episode.next_slot = rel + 1

    def save_episode(self) -> int:
        """Save the episode in progress, all or nothing; return its episode index."""
        with self._lock:
            self._require_open()
            episode = self._episode
            if episode is None or not episode.rows:
                raise WriterStateError("no frames to save (start_episode() and add_frame() first)")
            self._require_intact(episode)
            start = time.perf_counter()
            index = self.episodes_saved
            self._flush_skip_warning(episode)
            txn = SaveTransaction.begin(self.config.root, durable=self.config.durable)
            try:
                with SuppressProgressBars():  # datasets' per-episode "Map" bar
                    self._ds.save_episode()
                # Write the parquet footers now: an open writer leaves an unreadable file on a crash.
                self._ds._close_writer()
                self._ds.meta._close_writer()
                txn.commit()
            except BaseException:
                self._abort_save(txn)
                raise
            self._episode = None
            self._saved_this_session = True
            self.last_save_s = time.perf_counter() - start
            logger.info("wrote episode_index %d: %d frames, %d slot(s) without a frame, in %.2f s", index,
                        episode.rows, episode.skipped, self.last_save_s)
            return index

    def discard_episode(self) -> None:
        """Drop the episode in progress (no-op without one)."""
        with self._lock:
            self._require_open()
            if self._episode is not None:
                self._ds.clear_episode_buffer(delete_images=False)
                self._episode = None

    def finalize(self) -> None:
        """Close the dataset (an unsaved episode is discarded). Safe to call twice; the dataset
        then loads with ``LeRobotDataset(repo_id, root=root, video_backend="torchcodec")``."""
        with self._lock:
            if self._finalized:
                return
            if self._episode is not None and self._episode.rows:
                logger.warning("finalize: discarding the unsaved episode in progress (%d frames)",
                               self._episode.rows)
            if self._episode is not None:
                self._ds.clear_episode_buffer(delete_images=False)
                self._episode = None
            self._ds.finalize()
            if self._saved_this_session:
                self._restore_file_limits()
            shutil.rmtree(self.config.root / TEMP_DIR_NAME, ignore_errors=True)
            self._finalized = True

    def __enter__(self) -> DatasetWriter:
        return self

    def __exit__(self, *exc_info) -> None:
        self.finalize()

    # -- opening ------------------------------------------------------------------------------

    @property
    def _encoder(self) -> StreamingEncoder:
        return self._ds._streaming_encoder

    def _open(self) -> LeRobotDataset:
        cfg = self.config
        root = cfg.root
        if root.exists() and not root.is_dir():
            raise WriterConfigError(f"root {root}: expected a directory (a LeRobot dataset to add to, or a new "
                                    "one), found a file; choose another dataset path")
        if root.exists():
            recover(root)
            shutil.rmtree(root / TEMP_DIR_NAME, ignore_errors=True)
        info_path = root / INFO_PATH
        if info_path.exists():
            info = self._read_info(info_path)
            self._check_compatible(info)
            if info["total_episodes"] > 0:
                ds = LeRobotDataset(cfg.repo_id, root=root, video_backend="torchcodec")
                self._limits = tuple(
                    default if info[key] == ONE_EPISODE_PER_FILE_MB else info[key]
                    for key, default in (("data_files_size_in_mb", DEFAULT_DATA_FILE_SIZE_IN_MB),
                                         ("video_files_size_in_mb", DEFAULT_VIDEO_FILE_SIZE_IN_MB)))
                return self._prepare(ds)
            # LeRobot 0.4.4 cannot reopen a dataset without episodes (it looks for it on the Hub).
            self._remove_empty_dataset(root)
        elif root.exists():
            stray = [p.name for p in root.iterdir() if p.name not in _OWN_ENTRIES]
            if stray:
                raise WriterConfigError(f"root {root} exists and is not a LeRobot dataset (holds {stray[:5]}); "
                                        "choose an empty or new directory")
            shutil.rmtree(root)
        ds = LeRobotDataset.create(cfg.repo_id, fps=self._fps, features=cfg.features, root=root,
                                   robot_type=cfg.robot_type, use_videos=True, video_backend="torchcodec",
                                   metadata_buffer_size=1)
        return self._prepare(ds)

    def _prepare(self, ds: LeRobotDataset) -> LeRobotDataset:
        # One episode per file (in memory; written to info.json by LeRobot's saves and restored
        # by finalize): no save ever appends to a file holding an earlier episode.
        ds.meta.info["data_files_size_in_mb"] = ONE_EPISODE_PER_FILE_MB
        ds.meta.info["video_files_size_in_mb"] = ONE_EPISODE_PER_FILE_MB
        queue_frames = max(2, math.ceil(self.config.encoder_queue_s * self._fps))
        ds._streaming_encoder = StreamingEncoder(fps=self._fps, settings=self.config.encoder_settings(),
                                                 queue_frames=queue_frames)
        return ds

    @staticmethod
    def _read_info(path: Path) -> dict:
        try:
            return json.loads(path.read_text())
        except json.JSONDecodeError as exc:
            raise DatasetMismatchError(f"{path} is not valid JSON ({exc}): repair or move the dataset") from exc

    def _check_compatible(self, info: dict) -> None:
        cfg = self.config
        problems = []
        if info.get("codebase_version") != CODEBASE_VERSION:
            problems.append(f"format {info.get('codebase_version')!r}, this writer writes {CODEBASE_VERSION!r}")
        if info.get("fps") != self._fps:
            problems.append(f"fps {info.get('fps')} in the dataset, {self._fps} in the config")
        if info.get("robot_type") != cfg.robot_type:
            problems.append(f"robot_type {info.get('robot_type')!r} in the dataset, {cfg.robot_type!r} in the "
                            "config")
        have = {k: v for k, v in info.get("features", {}).items() if k not in DEFAULT_FEATURES}
        for name in sorted(set(have) - set(cfg.features)):
            problems.append(f"{name}: in the dataset, not in the config")
        for name in sorted(set(cfg.features) - set(have)):
            problems.append(f"{name}: in the config, not in the dataset")
        for name in sorted(set(have) & set(cfg.features)):
            old, new = have[name], cfg.features[name]
            for key in ("dtype", "shape", "names"):
                a, b = old.get(key), new.get(key)
                if key == "shape":
                    a, b = tuple(a or ()), tuple(b or ())
                if a != b:
                    problems.append(f"{name}.{key}: {a!r} in the dataset, {b!r} in the config")
        if problems:
            raise DatasetMismatchError(
                f"{cfg.root} holds a dataset recorded with other settings:\n  - " + "\n  - ".join(problems)
                + "\n  record into another root, or configure the writer like the dataset")

    @staticmethod
    def _remove_empty_dataset(root: Path) -> None:
        """A dataset created but never saved to: only meta/info.json (and empty folders)."""
        files = [p.relative_to(root).as_posix() for p in root.rglob("*")
                 if p.is_file() and p.relative_to(root).parts[0] not in _OWN_ENTRIES]
        extra = [f for f in files if f != INFO_PATH]
        if extra:
            raise DatasetMismatchError(f"{root}: info.json counts 0 episodes but the directory holds {extra[:5]}; "
                                       "repair or move it")
        shutil.rmtree(root)

    def _restore_file_limits(self) -> None:
        """Put LeRobot's file size limits back so later appenders pack episodes as usual."""
        path = self.config.root / INFO_PATH
        info = json.loads(path.read_text())
        info["data_files_size_in_mb"], info["video_files_size_in_mb"] = self._limits
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_text(json.dumps(info, indent=4, ensure_ascii=False))
        os.replace(tmp, path)

    # -- frames -------------------------------------------------------------------------------

    def _slot(self, timestamp_s: float) -> int:
        if not math.isfinite(timestamp_s) or timestamp_s < 0:
            raise FrameError(f"timestamp {timestamp_s!r}: expected seconds >= 0 since the episode start")
        slot = round(timestamp_s * self._fps)
        off = timestamp_s - slot / self._fps
        if abs(off) > GRID_TOLERANCE_S:
            raise FrameError(
                f"timestamp {timestamp_s:.6f} s is {off * 1e3:+.2f} ms off the {self._fps} fps grid: sample the "
                f"streams at grid times (episode start + k / fps) and pass those times")
        return slot

    def _validated(self, frame: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        features = self.config.features
        missing = [k for k in features if k not in frame]
        extra = [k for k in frame if k not in features]
        if missing or extra:
            raise FrameError(f"frame does not match the dataset features: missing {missing}, unexpected {extra}")
        values = {}
        for name, ft in features.items():
            value = frame[name]
            if ft["dtype"] == "video":
                if not (isinstance(value, np.ndarray) and value.dtype == np.uint8 and value.shape == ft["shape"]):
                    got = f"{value.dtype} {value.shape}" if isinstance(value, np.ndarray) else type(value).__name__
                    raise FrameError(f"{name}: expected an HWC uint8 image {ft['shape']}, found {got}")
                values[name] = value
            else:
                array = np.asarray(value, dtype=ft["dtype"])
                if array.shape != ft["shape"]:
                    raise FrameError(f"{name}: expected shape {ft['shape']}, found {array.shape}")
                values[name] = array
        return values

    def _skip(self, episode: _Episode, count: int, timestamp_s: float) -> None:
        """Grid slots without a frame: no parquet row; the videos repeat the previous image."""
        for key in self._video_keys:
            for _ in range(count):
                self._encoder.feed_frame(key, episode.last_images[key])
        episode.skipped += count
        episode.pending_warning += count
        now = time.monotonic()
        if now - episode.last_warning >= 1.0:
            logger.warning("recording below %d fps: %d frame slot(s) had no frame (latest before t=%.3f s); "
                           "timestamps keep the gap", self._fps, episode.pending_warning, timestamp_s)
            episode.pending_warning, episode.last_warning = 0, now

    def _flush_skip_warning(self, episode: _Episode) -> None:
        if episode.pending_warning:
            logger.warning("recording below %d fps: %d more frame slot(s) had no frame", self._fps,
                           episode.pending_warning)
            episode.pending_warning = 0

    # -- failure ------------------------------------------------------------------------------

    def _abort_save(self, txn: SaveTransaction) -> None:
        """A save failed in-process: undo it on disk and reopen LeRobot's state from disk."""
        try:
            self._encoder.cancel_episode()
            txn.rollback()
        finally:
            self._episode = None
            self._ds = self._open()

    @staticmethod
    def _require_intact(episode: _Episode) -> None:
        if episode.failed is not None:
            raise WriterStateError(f"the episode in progress is unusable after add_frame failed "
                                   f"({episode.failed!r}): discard_episode()")

    def _require_open(self) -> None:
        if self._finalized:
            raise WriterStateError("the writer is finalized; open a new DatasetWriter to record more")
