"""`sim2real bag2dataset`: rosbag2 bags (sqlite3 .db3 and .mcap, read with `rosbags`) -> LeRobot v3
dataset, through the SAME contract, extraction and recorder core as the live recorder:

- topics and features come from the contract (config/contracts/<task>.yaml) via
  ``so101_common.contract.load_contract``; the mapping file may override topics per feature;
- values are extracted by ``so101_common.features`` (joint_values, image_rgb, pose_values,
  stamp_ns) on rosbags' deserialized messages; sensor_msgs/CompressedImage is decoded here (cv2);
- frames are sampled on the fps grid by ``so101_recorder.sync.StreamSynchronizer``
  (latest_before, stale / missing / late / gap accounting) and written by
  ``so101_recorder.writer.DatasetWriter``.

The bag is replayed in log-time order as if live: a grid time ``t`` is sampled once the replay
has read a message stamped past ``t + delay_s`` (so messages delivered up to ``delay_s`` behind
the newest stamp still count). Grid and alignment use the stamps' own clock, so header stamps in
sim time convert from a bag logged on the wall clock. Messages are deserialized lazily (the header stamp is read from the CDR bytes), only
when a frame uses them.

Mapping file (config/bag_replay/*.yaml)::

    contract: so101_pick_place       # contract name or path (the recorder's / policy node's)
    namespace: ""                    # robot namespace prefixed to the contract's relative topics
    features: [observation.state, action, observation.images.overhead_cam]  # default: all but sim_only
    topics:                          # per-feature topic overrides (absolute bag topics)
      observation.images.wrist_cam: /wrist_cam/image_raw/compressed
    task: null                       # default: the contract's task
    fps: null                        # default: the contract's fps (whole number)
    stamps: header                   # header (message header stamp) | log (bag receive time)
    delay_s: 0.2                     # transport latency tolerated (stamp -> log time)
    resize_images: false             # resize images to the contract's size instead of failing
    episodes:
      split: bag                     # bag (one episode per bag) | gap | marker
      gap_s: 1.0                     # split: gap -> new episode when no message for gap_s
      marker_topic: /episode_marker  # split: marker -> each message on it starts a new episode
      min_frames: 1                  # shorter episodes are dropped (and counted)
      max_gap_s: 0.5                 # a stream silent longer inside an episode ...
      on_gap: discard                # ... discard the episode (as the recorder) or keep it
"""

from __future__ import annotations

import logging
import struct
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from so101_common.config_files import load_yaml, resolve_config
from so101_common.contract import Contract, FeatureBinding, load_contract
from so101_common.errors import ConfigError
from so101_common.features import FeatureExtractionError, image_rgb, joint_values, pose_values, stamp_ns

logger = logging.getLogger(__name__)

NS = 1_000_000_000
SPLITS = ("bag", "gap", "marker")
COMPRESSED = "sensor_msgs/msg/CompressedImage"
# Bag message types accepted per contract type.
ACCEPTED_TYPES = {
    "sensor_msgs/msg/JointState": ("sensor_msgs/msg/JointState",),
    "sensor_msgs/msg/Image": ("sensor_msgs/msg/Image", COMPRESSED),
    "geometry_msgs/msg/PoseStamped": ("geometry_msgs/msg/PoseStamped",),
}


class BagReplayError(ValueError):
    """A bag lacks a topic, has an unsupported type, or the mapping file is wrong."""


# -- config ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ReplayConfig:
    contract: Contract
    features: tuple[str, ...]
    topics: dict[str, dict[str, str]]  # feature -> {object or "": bag topic}
    task: str
    fps: int
    stamps: str = "header"
    delay_s: float = 0.2
    resize_images: bool = False
    split: str = "bag"
    gap_s: float = 1.0
    marker_topic: str = ""
    min_frames: int = 1
    max_gap_s: float = 0.5
    on_gap: str = "discard"
    path: Path | None = None


def _join(namespace: str, topic: str) -> str:
    if topic.startswith("/"):
        return topic
    ns = namespace.strip("/")
    return f"/{ns}/{topic}" if ns else f"/{topic}"


def load_replay_config(path_or_name: str | Path) -> ReplayConfig:
    name = str(path_or_name)
    if not name.endswith(".yaml") and not Path(name).exists():
        name = f"bag_replay/{name}.yaml"
    path = resolve_config(name)
    data = load_yaml(path)
    known = {"contract", "namespace", "features", "topics", "task", "fps", "stamps", "delay_s",
             "resize_images", "episodes"}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ConfigError(path, ", ".join(unknown), f"unknown key(s); accepted: {sorted(known)}")
    if "contract" not in data:
        raise ConfigError(path, "contract", "missing (a contract name like so101_pick_place or a path)")
    contract = load_contract(data["contract"])
    features = data.get("features")
    if features is None:
        features = [n for n, b in contract.features.items() if not b.sim_only]
    if not isinstance(features, list) or not features:
        raise ConfigError(path, "features", f"expected a non-empty list, found {features!r}")
    bad = [f for f in features if f not in contract.features]
    if bad:
        raise ConfigError(path, "features", f"{bad} not in contract {contract.path.name} "
                                            f"(it has {list(contract.features)})")
    namespace = str(data.get("namespace") or "")
    overrides = data.get("topics") or {}
    if not isinstance(overrides, dict):
        raise ConfigError(path, "topics", f"expected a mapping feature -> topic, found {overrides!r}")
    bad = [f for f in overrides if f not in features]
    if bad:
        raise ConfigError(path, "topics", f"{bad} are not among the converted features {features}")
    topics: dict[str, dict[str, str]] = {}
    for name_ in features:
        b = contract.features[name_]
        override = overrides.get(name_)
        if b.topics:
            given = override if isinstance(override, dict) else {}
            topics[name_] = {obj: _join(namespace, given.get(obj, t)) for obj, t in b.topics.items()}
        else:
            if override is not None and not isinstance(override, str):
                raise ConfigError(path, f"topics.{name_}", f"expected a topic string, found {override!r}")
            topics[name_] = {"": _join(namespace, override or b.topic)}
    episodes = data.get("episodes") or {}
    split = episodes.get("split", "bag")
    if split not in SPLITS:
        raise ConfigError(path, "episodes.split", f"expected one of {SPLITS}, found {split!r}")
    marker = str(episodes.get("marker_topic") or "")
    if split == "marker" and not marker:
        raise ConfigError(path, "episodes.marker_topic", "required with split: marker")
    stamps = data.get("stamps", "header")
    if stamps not in ("header", "log"):
        raise ConfigError(path, "stamps", f"expected header or log, found {stamps!r}")
    fps = data.get("fps") or contract.fps
    if not float(fps).is_integer() or fps <= 0:
        raise ConfigError(path, "fps", f"expected a positive whole number, found {fps!r}")
    on_gap = episodes.get("on_gap", "discard")
    if on_gap not in ("discard", "keep"):
        raise ConfigError(path, "episodes.on_gap", f"expected discard or keep, found {on_gap!r}")
    return ReplayConfig(
        contract=contract, features=tuple(features), topics=topics, task=str(data.get("task") or contract.task),
        fps=int(fps), stamps=stamps, delay_s=float(data.get("delay_s", 0.2)),
        resize_images=bool(data.get("resize_images", False)), split=split,
        gap_s=float(episodes.get("gap_s", 1.0)), marker_topic=_join(namespace, marker) if marker else "",
        min_frames=int(episodes.get("min_frames", 1)), max_gap_s=float(episodes.get("max_gap_s", 0.5)),
        on_gap=on_gap, path=path)


# -- extraction --------------------------------------------------------------------------------

def compressed_rgb(binding: FeatureBinding, msg: Any, resize: bool = False) -> np.ndarray:
    """sensor_msgs/CompressedImage (jpeg/png) -> HWC uint8 RGB, checked against the binding."""
    import cv2

    buf = np.frombuffer(bytes(msg.data), dtype=np.uint8)
    bgr = cv2.imdecode(buf, cv2.IMREAD_COLOR)
    if bgr is None:
        raise FeatureExtractionError(f"{binding.name}: cannot decode CompressedImage format {msg.format!r}")
    rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    return _fit(binding, rgb, resize)


def _fit(binding: FeatureBinding, rgb: np.ndarray, resize: bool) -> np.ndarray:
    if rgb.shape != binding.shape:
        if not resize:
            raise FeatureExtractionError(
                f"{binding.name}: images are {rgb.shape[0]}x{rgb.shape[1]} (HxW), contract expects "
                f"{binding.shape[0]}x{binding.shape[1]} (set resize_images: true to resize)")
        import cv2

        rgb = cv2.resize(rgb, (binding.shape[1], binding.shape[0]), interpolation=cv2.INTER_AREA)
    return rgb


def extract(binding: FeatureBinding, msgtype: str, msg: Any, resize: bool = False) -> np.ndarray:
    if msgtype == COMPRESSED:
        return compressed_rgb(binding, msg, resize)
    if binding.type == "sensor_msgs/msg/Image":
        size = (int(msg.height), int(msg.width), 3)
        if size != binding.shape:
            full = FeatureBinding(**{**binding.__dict__, "shape": size})
            return _fit(binding, image_rgb(full, msg), resize)
        return image_rgb(binding, msg)
    if binding.type == "sensor_msgs/msg/JointState":
        return joint_values(binding, msg)
    raise BagReplayError(f"{binding.name}: no extraction for {msgtype}")


def cdr_stamp(raw: bytes | memoryview) -> int:
    """Header stamp of a CDR message whose first field is std_msgs/Header (no deserialization)."""
    fmt = "<iI" if raw[1] == 1 else ">iI"
    sec, nanosec = struct.unpack_from(fmt, raw, 4)
    return sec * NS + nanosec


class _Lazy:
    """A buffered message: deserialized and extracted only when a frame uses it (once)."""

    __slots__ = ("raw", "conn", "replay", "feature", "_value")

    def __init__(self, raw, conn, replay, feature):
        self.raw, self.conn, self.replay, self.feature = raw, conn, replay, feature
        self._value = None

    def value(self) -> np.ndarray:
        if self._value is None:
            msg = self.replay.typestore.deserialize_cdr(self.raw, self.conn.msgtype)
            self._value = extract(self.replay.config.contract.features[self.feature], self.conn.msgtype, msg,
                                  self.replay.config.resize_images)
            self.raw = None
        return self._value


# -- accounting --------------------------------------------------------------------------------

@dataclass
class Account:
    messages_in: Counter = field(default_factory=Counter)  # per topic
    ignored_topics: Counter = field(default_factory=Counter)  # topics of the bag not used
    episodes_saved: int = 0
    frames_out: int = 0
    dropped: Counter = field(default_factory=Counter)  # reason -> frames
    stale: Counter = field(default_factory=Counter)  # feature -> frames with a stale sample (kept)
    late: Counter = field(default_factory=Counter)  # feature -> messages read after their frame was sampled
    episodes_dropped: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def summary(self) -> str:
        lines = ["messages in:"]
        for topic, n in sorted(self.messages_in.items()):
            lines.append(f"  {topic}: {n}")
        for topic, n in sorted(self.ignored_topics.items()):
            lines.append(f"  {topic}: {n} (not mapped: ignored)")
        lines.append(f"frames out: {self.frames_out} in {self.episodes_saved} episode(s) "
                     f"({self.seconds:.1f} s)")
        total = sum(self.dropped.values())
        lines.append(f"frames dropped: {total}")
        for reason, n in sorted(self.dropped.items()):
            lines.append(f"  {n}: {reason}")
        for what in self.episodes_dropped:
            lines.append(f"  episode dropped: {what}")
        for feature, n in sorted(self.stale.items()):
            lines.append(f"stale samples kept ({feature}): {n}")
        for feature, n in sorted(self.late.items()):
            lines.append(f"late messages ({feature}): {n} (read after their frame time + delay_s)")
        return "\n".join(lines)


# -- replay ------------------------------------------------------------------------------------

@dataclass
class _Episode:
    sync: Any
    start: int  # first grid time
    next_t: int
    last_stamp: int
    first_frame_t: int | None = None
    frames: int = 0  # frames added to the writer's episode in progress
    label: str = ""


class BagReplay:
    def __init__(self, config: ReplayConfig, *, progress: bool = True) -> None:
        from rosbags.typesys import Stores, get_typestore

        self.config = config
        self.progress = progress
        self.typestore = get_typestore(Stores.LATEST)
        self.account = Account()
        self._period = NS / config.fps

    # topics ---------------------------------------------------------------------------------
    def _resolve(self, reader, bag: Path) -> dict[str, tuple[str, str]]:
        """bag topic -> (feature, object); clear error naming the bag's topics when one is missing."""
        present = {c.topic: c.msgtype for c in reader.connections}
        listing = "\n    ".join(f"{t} [{m}]" for t, m in sorted(present.items())) or "(no topics)"
        mapping: dict[str, tuple[str, str]] = {}
        for feature in self.config.features:
            binding = self.config.contract.features[feature]
            for obj, topic in self.config.topics[feature].items():
                if topic not in present:
                    # a namespaced bag: accept a unique topic ending with the contract's relative topic
                    ends = [t for t in present if t.endswith(topic)]
                    if len(ends) != 1:
                        raise BagReplayError(
                            f"{bag}: topic {topic} ({feature}) is not in the bag; the bag contains:\n    {listing}\n"
                            f"  map it with `topics: {{{feature}: <topic>}}` (or `namespace:`) in the mapping file")
                    topic = ends[0]
                msgtype = present[topic]
                if msgtype not in ACCEPTED_TYPES[binding.type]:
                    raise BagReplayError(
                        f"{bag}: topic {topic} ({feature}) has type {msgtype}, supported for this feature: "
                        f"{list(ACCEPTED_TYPES[binding.type])}; the bag contains:\n    {listing}")
                mapping[topic] = (feature, obj)
        if self.config.split == "marker" and self.config.marker_topic not in present:
            raise BagReplayError(f"{bag}: marker topic {self.config.marker_topic} is not in the bag; "
                                 f"the bag contains:\n    {listing}")
        return mapping

    # episodes -------------------------------------------------------------------------------
    def _new_episode(self, stamp: int, label: str) -> _Episode:
        from so101_recorder.sync import StreamSynchronizer

        history = max(2.0, self.config.delay_s + 2 * self.config.max_gap_s + 1.0)
        sync = StreamSynchronizer(self.config.contract, list(self.config.features), self.config.fps,
                                  gap_threshold_s=self.config.max_gap_s, history_s=history,
                                  warn_window_s=1e6)  # no live rate warnings; the report counts
        return _Episode(sync=sync, start=stamp, next_t=stamp, last_stamp=stamp, label=label)

    def _advance(self, ep: _Episode, until: int, writer) -> None:
        """Sample every grid time <= until; frames go straight to the writer's open episode."""
        while ep.next_t <= until:
            t = ep.next_t
            frame = ep.sync.sample(t)
            if frame is not None:
                if ep.first_frame_t is None:
                    ep.first_frame_t = t
                    writer.start_episode()
                values = {name: v.value() if isinstance(v, _Lazy) else v for name, v in frame.items()}
                writer.add_frame(values, (t - ep.first_frame_t) / NS)
                ep.frames += 1
            k = round((t - ep.start) / self._period) + 1
            ep.next_t = ep.start + round(k * self._period)

    def _finish(self, ep: _Episode | None, writer) -> None:
        if ep is None:
            return
        self._advance(ep, ep.last_stamp, writer)
        report = ep.sync.episode_report()
        acc = self.account
        if report.dropped:
            absent = [f"{q.feature}" for q in report.streams.values() if q.missing]
            acc.dropped[f"no message yet on {', '.join(absent)} (latest_before has nothing)"] += report.dropped
        for q in report.streams.values():
            if q.stale:
                acc.stale[q.feature] += q.stale
            if q.late:
                acc.late[q.feature] += q.late
        n = ep.frames
        if n == 0:
            acc.episodes_dropped.append(f"{ep.label}: no frame (a stream never had a message)")
            return
        if n < self.config.min_frames:
            acc.dropped[f"episode shorter than min_frames={self.config.min_frames}"] += n
            acc.episodes_dropped.append(f"{ep.label}: {n} frame(s) < min_frames")
            writer.discard_episode()
            return
        from so101_recorder.errors import GapError

        try:
            ep.sync.check_saveable()
        except GapError as err:
            if self.config.on_gap == "discard":
                acc.dropped[f"episode with a gap > max_gap_s={self.config.max_gap_s:g} s (on_gap: discard)"] += n
                acc.episodes_dropped.append(f"{ep.label}: {err}")
                writer.discard_episode()
                return
            acc.warnings.append(f"{ep.label}: kept despite {err}")
        writer.save_episode()
        acc.episodes_saved += 1
        acc.frames_out += n

    # main loop -----------------------------------------------------------------------------
    def run(self, bags: list[Path], output: Path, *, repo_id: str = "local/so101_bags") -> Account:
        from rosbags.rosbag2 import Reader
        from tqdm import tqdm

        from so101_common.robot_config import load_robot_config
        from so101_recorder.writer import DatasetWriter, WriterConfig, features_from_contract

        cfg = self.config
        start_time = time.perf_counter()
        all_features = features_from_contract(cfg.contract, include_sim_only=True)
        features = {k: all_features[k] for k in cfg.features}
        robot = load_robot_config(cfg.contract.robot)
        # open every bag first: a missing topic fails before anything is written
        readers = []
        for bag in bags:
            bag = Path(bag)
            if not bag.exists():
                raise FileNotFoundError(f"bag not found: {bag}")
            reader = Reader(bag)
            reader.open()
            readers.append((bag, reader, self._resolve(reader, bag)))
        total = sum(r.message_count for _, r, _ in readers)
        writer = DatasetWriter(WriterConfig(root=Path(output), repo_id=repo_id, fps=cfg.fps,
                                            robot_type=robot.robot_type, task=cfg.task, features=features))
        bar = tqdm(total=total, unit="msg", desc="bag2dataset", disable=not self.progress, mininterval=0.5)
        delay = round(cfg.delay_s * NS)
        gap = round(cfg.gap_s * NS)
        try:
            with writer:
                for bag, reader, mapping in readers:
                    self._replay_bag(bag, reader, mapping, writer, bar, delay, gap)
                    reader.close()
        finally:
            bar.close()
            for _, reader, _ in readers:
                try:
                    reader.close()
                except Exception:  # noqa: BLE001 - already closed
                    pass
        self.account.seconds = time.perf_counter() - start_time
        return self.account

    def _replay_bag(self, bag, reader, mapping, writer, bar, delay, gap) -> None:
        cfg = self.config
        acc = self.account
        contract = cfg.contract
        conns = [c for c in reader.connections if c.topic in mapping or c.topic == cfg.marker_topic]
        for c in reader.connections:
            if c.topic not in mapping and c.topic != cfg.marker_topic:
                acc.ignored_topics[c.topic] += c.msgcount
        ignored = sum(c.msgcount for c in reader.connections if c not in conns)
        bar.update(ignored)
        poses: dict[str, dict[str, Any]] = defaultdict(dict)
        ep: _Episode | None = None
        index = 0
        last_log = None
        use_log = cfg.stamps == "log"
        for conn, log_t, raw in reader.messages(connections=conns):
            bar.update(1)
            acc.messages_in[conn.topic] += 1
            if conn.topic == cfg.marker_topic:
                if cfg.split == "marker":
                    self._finish(ep, writer)
                    ep = None
                continue
            if cfg.split == "gap" and ep is not None and last_log is not None and log_t - last_log > gap:
                self._finish(ep, writer)
                ep = None
            last_log = log_t
            feature, obj = mapping[conn.topic]
            stamp = log_t if use_log else cdr_stamp(raw)
            if ep is None:
                ep = self._new_episode(stamp, f"{bag.name} episode {index}")
                index += 1
            binding = contract.features[feature]
            if binding.topics:  # several poses: push once every object has one
                msg = self.typestore.deserialize_cdr(raw, conn.msgtype)
                poses[feature][obj] = msg
                if len(poses[feature]) < len(binding.topics):
                    continue
                value = pose_values(binding, poses[feature])
            else:
                value = _Lazy(raw, conn, self, feature)
            ep.last_stamp = max(ep.last_stamp, stamp)
            ep.sync.push(feature, stamp, value)
            # Sample up to the newest stamp read, less the tolerated latency: in the stamps' own clock,
            # which need not be the bag's (sim-time stamps in a wall-clock bag).
            self._advance(ep, ep.last_stamp - (0 if use_log else delay), writer)
        self._finish(ep, writer)


def convert(bags: list[Path], config: str | Path, output: Path, *, repo_id: str = "local/so101_bags",
            progress: bool = True) -> Account:
    """Convert ``bags`` into a LeRobot dataset at ``output`` (created or appended)."""
    replay = BagReplay(load_replay_config(config), progress=progress)
    return replay.run(list(bags), Path(output), repo_id=repo_id)


# -- CLI ---------------------------------------------------------------------------------------

def add_bag2dataset(subparsers) -> None:
    parser = subparsers.add_parser(
        "bag2dataset", help="convert rosbag2 bags (.db3 / .mcap) into a LeRobot dataset through the contract",
        description="Replay rosbag2 bags (sqlite3 or mcap folders or files) through the task contract and the "
                    "recorder's synchronizer/writer into a LeRobot v3.0 dataset. Prints a frame account.")
    parser.add_argument("bags", nargs="+", type=Path, help="rosbag2 bag folders (or .db3 / .mcap files)")
    parser.add_argument("--config", required=True, help="mapping file: a path or a name under config/bag_replay/")
    parser.add_argument("--output", type=Path, required=True, help="dataset root (created, or appended to)")
    parser.add_argument("--repo-id", default="local/so101_bags", help="dataset repo id (default local/so101_bags)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.set_defaults(handler=run_bag2dataset)


def run_bag2dataset(args) -> int:
    account = convert(args.bags, args.config, args.output, repo_id=args.repo_id, progress=not args.no_progress)
    print(account.summary())
    for warning in account.warnings:
        print(f"warning: {warning}")
    return 0 if account.episodes_saved else 1
