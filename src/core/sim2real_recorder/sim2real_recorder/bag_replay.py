"""`sim2real bag2dataset`: rosbag2 bags (sqlite3 .db3 and .mcap, read with `rosbags`) -> LeRobot v3
dataset, through the SAME contract, extraction and recorder core as the live recorder:

- topics and features come from the contract (config/contracts/<task>.yaml) via
  ``sim2real_common.contract.load_contract``; the mapping file may override topics per feature;
- bags are read by ``bag_reader.open_bag`` (rosbags; a killed recording is read as far as it is
  intact, with a warning saying how much was recovered);
- values are extracted by ``sim2real_common.features`` (joint_values, image_rgb, pose_values) on
  rosbags' deserialized messages; sensor_msgs/CompressedImage is decoded here (cv2); JointState
  joints from another project are renamed, or read by index when the name lists are empty;
- frames are sampled on the fps grid by ``sim2real_recorder.sync.StreamSynchronizer``
  (latest_before, stale / missing / late / gap accounting) and written by
  ``sim2real_recorder.writer.DatasetWriter``.

The bag is replayed in log-time order as if live: a grid time ``t`` is sampled once the replay
has read a message stamped past ``t + delay_s`` (so messages delivered up to ``delay_s`` behind
the newest stamp still count). Grid and alignment use the stamps' own clock, so header stamps in
sim time convert from a bag logged on the wall clock. Messages are deserialized lazily (the header
stamp is read from the CDR bytes), only when a frame uses them; the first message of every mapped
topic is checked before anything is written. A failed run into a new output leaves nothing.

Mapping file (config/bag_replay/*.yaml)::

    contract: so101_pick_place       # contract name or path (the recorder's / policy node's)
    namespace: ""                    # robot namespace prefixed to the contract's relative topics
    features: [observation.state, action, observation.images.overhead_cam]  # default: all but sim_only
    topics:                          # per-feature topic overrides (absolute bag topics)
      observation.images.wrist_cam: /wrist_cam/image_raw/compressed
    joints:                          # JointState joints of another project (every JointState feature,
      rename: {q0: shoulder_pan}     #   or per feature: `action: {rename: ..., order: ...}`)
      order: [shoulder_pan, ...]     # joint of each value when a name list is EMPTY (null: skip it);
                                     #   default: the contract's joint order (stated in a warning)
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

import json
import logging
import shutil
import struct
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from sim2real_common.config_files import check_keys, load_yaml, resolve_config
from sim2real_common.contract import Contract, FeatureBinding, load_contract
from sim2real_common.errors import ConfigError, did_you_mean
from sim2real_common.features import FeatureExtractionError, image_rgb, imu_values, joint_values, pose_values
from sim2real_recorder.bag_reader import Bag, Topic, open_bag

logger = logging.getLogger(__name__)

NS = 1_000_000_000
DEFAULT_REPO_ID = "local/bags"  # stored in the dataset; nothing is uploaded
SPLITS = ("bag", "gap", "marker")
COMPRESSED = "sensor_msgs/msg/CompressedImage"
JOINT_STATE = "sensor_msgs/msg/JointState"
# Bag message types accepted per contract type.
ACCEPTED_TYPES = {
    "sensor_msgs/msg/JointState": ("sensor_msgs/msg/JointState",),
    "sensor_msgs/msg/Image": ("sensor_msgs/msg/Image", COMPRESSED),
    "geometry_msgs/msg/PoseStamped": ("geometry_msgs/msg/PoseStamped",),
    "sensor_msgs/msg/Imu": ("sensor_msgs/msg/Imu",),
}


class BagReplayError(ValueError):
    """A bag lacks a topic, has an unsupported type, or the mapping file is wrong."""


# -- config ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class JointMap:
    """How a bag's JointState joints map to a feature's: ``rename`` (bag name -> contract name);
    ``order``: the joint of each value when a message's name list is empty (None: the contract's)."""

    rename: dict[str, str] = field(default_factory=dict)
    order: tuple[str | None, ...] | None = None


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
    joint_maps: dict[str, JointMap] = field(default_factory=dict)  # JointState feature -> how its joints map


def _join(namespace: str, topic: str) -> str:
    if topic.startswith("/"):
        return topic
    ns = namespace.strip("/")
    return f"/{ns}/{topic}" if ns else f"/{topic}"


MAPPING_KEYS = ("contract", "namespace", "features", "topics", "joints", "task", "fps", "stamps", "delay_s",
                "resize_images", "episodes")
EPISODE_KEYS = ("split", "gap_s", "marker_topic", "min_frames", "max_gap_s", "on_gap")
JOINT_MAP_KEYS = ("rename", "order")


def load_replay_config(path_or_name: str | Path) -> ReplayConfig:
    name = str(path_or_name)
    if not name.endswith(".yaml") and not Path(name).exists():
        name = f"bag_replay/{name}.yaml"
    path = resolve_config(name)
    data = load_yaml(path)
    check_keys(path, "", data, MAPPING_KEYS, "a bag mapping")
    if "contract" not in data:
        raise ConfigError(path, "contract", "missing (a contract name like so101_pick_place or a path)")
    contract = load_contract(data["contract"])
    features = data.get("features")
    if features is None:
        features = [n for n, b in contract.features.items() if not b.sim_only]
    if not isinstance(features, list) or not features:
        raise ConfigError(path, "features", f"expected a non-empty list, found {features!r}")
    for f in features:
        if f not in contract.features:
            raise ConfigError(path, "features", f"{f!r} is not in contract {contract.path.name}"
                                                f"{did_you_mean(f, list(contract.features))}; it has "
                                                f"{', '.join(contract.features)}")
    namespace = str(data.get("namespace") or "")
    overrides = data.get("topics") or {}
    if not isinstance(overrides, dict):
        raise ConfigError(path, "topics", f"expected a mapping feature -> topic, found {overrides!r}")
    for f in overrides:
        if f not in features:
            raise ConfigError(path, f"topics.{f}", f"not among the converted features"
                                                   f"{did_you_mean(f, features)}: {', '.join(features)}")
    topics: dict[str, dict[str, str]] = {}
    for name_ in features:
        b = contract.features[name_]
        override = overrides.get(name_)
        if b.topics:
            given = override if override is not None else {}
            if not isinstance(given, dict):
                raise ConfigError(path, f"topics.{name_}", f"expected a mapping object -> topic "
                                                           f"({', '.join(b.topics)}), found {given!r}")
            check_keys(path, f"topics.{name_}", given, tuple(b.topics), f"the objects of {name_}")
            topics[name_] = {obj: _join(namespace, given.get(obj, t)) for obj, t in b.topics.items()}
        else:
            if override is not None and not isinstance(override, str):
                raise ConfigError(path, f"topics.{name_}", f"expected a topic string, found {override!r}")
            topics[name_] = {"": _join(namespace, override or b.topic)}
    joint_maps = _joint_maps(path, data.get("joints"), contract, features)
    episodes = data.get("episodes") or {}
    if not isinstance(episodes, dict):
        raise ConfigError(path, "episodes", f"expected a mapping, found {episodes!r}")
    check_keys(path, "episodes", episodes, EPISODE_KEYS, "episodes")
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
    if not isinstance(fps, (int, float)) or not float(fps).is_integer() or fps <= 0:
        raise ConfigError(path, "fps", f"expected a positive whole number, found {fps!r}")
    on_gap = episodes.get("on_gap", "discard")
    if on_gap not in ("discard", "keep"):
        raise ConfigError(path, "episodes.on_gap", f"expected discard or keep, found {on_gap!r}")
    numbers = {"delay_s": data.get("delay_s", 0.2), "episodes.gap_s": episodes.get("gap_s", 1.0),
               "episodes.max_gap_s": episodes.get("max_gap_s", 0.5), "episodes.min_frames": episodes.get("min_frames", 1)}
    for key, value in numbers.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            raise ConfigError(path, key, f"expected a number >= 0, found {value!r}")
    return ReplayConfig(
        contract=contract, features=tuple(features), topics=topics, task=str(data.get("task") or contract.task),
        fps=int(fps), stamps=stamps, delay_s=float(numbers["delay_s"]),
        resize_images=bool(data.get("resize_images", False)), split=split,
        gap_s=float(numbers["episodes.gap_s"]), marker_topic=_join(namespace, marker) if marker else "",
        min_frames=int(numbers["episodes.min_frames"]), max_gap_s=float(numbers["episodes.max_gap_s"]),
        on_gap=on_gap, path=path, joint_maps=joint_maps)


def _joint_maps(path: Path, raw: Any, contract: Contract, features: list[str]) -> dict[str, JointMap]:
    """``joints:`` of a mapping: ``rename`` / ``order`` for every JointState feature, optionally
    per feature (``joints: {action: {order: [...]}}``, overriding the shared ones)."""
    joint_features = [f for f in features if contract.features[f].type == JOINT_STATE]
    if raw is None:
        return {f: JointMap() for f in joint_features}
    if not isinstance(raw, dict):
        raise ConfigError(path, "joints", f"expected a mapping (rename, order, or per feature), found {raw!r}")
    check_keys(path, "joints", raw, JOINT_MAP_KEYS + tuple(joint_features),
               "joints (rename, order, or a JointState feature)")
    shared = _joint_map(path, "joints", {k: v for k, v in raw.items() if k in JOINT_MAP_KEYS}, contract, joint_features)
    maps = {}
    for f in joint_features:
        own = raw.get(f)
        if own is None:
            maps[f] = shared
            continue
        if not isinstance(own, dict):
            raise ConfigError(path, f"joints.{f}", f"expected a mapping with rename and/or order, found {own!r}")
        check_keys(path, f"joints.{f}", own, JOINT_MAP_KEYS, f"joints.{f}")
        mine = _joint_map(path, f"joints.{f}", own, contract, [f])
        maps[f] = JointMap(rename=mine.rename or shared.rename, order=mine.order or shared.order)
    return maps


def _joint_map(path: Path, where: str, raw: dict[str, Any], contract: Contract, features: list[str]) -> JointMap:
    rename = raw.get("rename") or {}
    if not isinstance(rename, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in rename.items()):
        raise ConfigError(path, f"{where}.rename", f"expected a mapping bag joint name -> contract joint name, "
                                                   f"found {rename!r}")
    wanted = sorted({j for f in features for j in contract.features[f].joints})
    for source, target in rename.items():
        if target not in wanted:
            raise ConfigError(path, f"{where}.rename.{source}", f"{target!r} is not a joint of the converted features"
                                                                f"{did_you_mean(target, wanted)}; they use: "
                                                                f"{', '.join(wanted)}")
    order = raw.get("order")
    if order is None:
        return JointMap(rename=dict(rename))
    if not isinstance(order, list) or not all(j is None or isinstance(j, str) for j in order):
        raise ConfigError(path, f"{where}.order", f"expected a list of joint names (null: skip that value), found "
                                                  f"{order!r}")
    for joint in order:
        if joint is not None and joint not in wanted:
            raise ConfigError(path, f"{where}.order", f"{joint!r} is not a joint of the converted features"
                                                      f"{did_you_mean(joint, wanted)}; they use: {', '.join(wanted)}")
    for f in features:
        missing = [j for j in contract.features[f].joints if j not in order]
        if missing:
            raise ConfigError(path, f"{where}.order", f"lacks {missing}, joints of {f}")
    return JointMap(rename=dict(rename), order=tuple(order))


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


def _fit(binding: FeatureBinding, rgb: np.ndarray, resize: bool, topic: str = "") -> np.ndarray:
    if rgb.shape != binding.shape:
        if not resize:
            raise FeatureExtractionError(
                f"{binding.name}: {topic + ' ' if topic else ''}images are {rgb.shape[0]}x{rgb.shape[1]} (HxW), contract expects "
                f"{binding.shape[0]}x{binding.shape[1]} (set resize_images: true to resize)")
        import cv2

        rgb = cv2.resize(rgb, (binding.shape[1], binding.shape[0]), interpolation=cv2.INTER_AREA)
    return rgb


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
            self._value = self.replay.extract(self.feature, self.conn, self.raw)
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
    gap_hint: bool = False  # an episode was discarded for a gap: say how to keep or split such episodes

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
        if self.gap_hint:
            lines.append("  (to keep such episodes set `episodes: {on_gap: keep}` in the mapping, tolerate longer "
                         "silences with a larger `max_gap_s`, or start a new episode at each silence with "
                         "`split: gap`)")
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
        self._bag: Path | None = None  # the bag being read (named in errors)
        self._by_index: set[str] = set()  # topics whose empty name lists were announced

    # topics ---------------------------------------------------------------------------------
    def _resolve(self, bag: Bag) -> dict[str, tuple[str, str]]:
        """bag topic -> (feature, object); clear error naming the bag's topics when one is missing."""
        present = {c.topic: c for c in bag.connections}
        listing = "\n    ".join(f"{t} [{c.msgtype}, {c.msgcount} msgs]" for t, c in sorted(present.items())) \
            or "(no topics)"
        mapping: dict[str, tuple[str, str]] = {}
        for feature in self.config.features:
            binding = self.config.contract.features[feature]
            accepted = ACCEPTED_TYPES[binding.type]
            for obj, topic in self.config.topics[feature].items():
                if topic not in present:
                    # a namespaced bag: accept a unique topic ending with the contract's relative topic
                    ends = [t for t in present if t.endswith(topic)]
                    if len(ends) != 1:
                        fitting = [t for t, c in sorted(present.items()) if c.msgtype in accepted and t not in mapping]
                        key = f"{feature}: {{{obj}: <topic>}}" if obj else f"{feature}: <topic>"
                        hint = (f"bag topics of a fitting type: {', '.join(fitting)}" if fitting
                                else f"the bag has no {' or '.join(accepted)} topic left for it")
                        raise BagReplayError(
                            f"{bag.path}: no topic {topic} for {feature}; the bag's topics are:\n    {listing}\n"
                            f"  map one with `topics: {{{key}}}` (or set `namespace:`) in the mapping file "
                            f"{self.config.path}; {hint}")
                    topic = ends[0]
                conn = present[topic]
                if conn.msgtype not in accepted:
                    raise BagReplayError(
                        f"{bag.path}: topic {topic} ({feature}) has type {conn.msgtype}, supported for this feature: "
                        f"{list(accepted)}; the bag's topics are:\n    {listing}")
                if conn.serialization != "cdr":
                    raise BagReplayError(
                        f"{bag.path}: topic {topic} ({feature}) is serialized as {conn.serialization!r}; "
                        "bag2dataset reads ROS 2 (cdr) messages only")
                if topic in mapping:
                    raise BagReplayError(f"{bag.path}: topic {topic} is mapped to both {mapping[topic][0]} and "
                                         f"{feature}; map each feature to its own topic")
                mapping[topic] = (feature, obj)
        if self.config.split == "marker" and self.config.marker_topic not in present:
            raise BagReplayError(f"{bag.path}: marker topic {self.config.marker_topic} is not in the bag; "
                                 f"the bag's topics are:\n    {listing}")
        return mapping

    def _check_first_messages(self, bag: Bag, mapping: dict[str, tuple[str, str]]) -> None:
        """Deserialize and extract the first message of every mapped topic: a mapping that does not
        fit the bag fails before anything is written."""
        self._bag = bag.path
        for topic, (feature, _) in mapping.items():
            messages = bag.messages({topic})
            try:
                conn, _, raw = next(messages, (None, 0, b""))
            finally:
                messages.close()
            if conn is None:
                continue  # no message at all: the frame account says so
            if self.config.contract.features[feature].topics:
                self._deserialize(conn, raw)
            else:
                self.extract(feature, conn, raw)

    # extraction -----------------------------------------------------------------------------
    def _deserialize(self, conn: Topic, raw: bytes) -> Any:
        try:
            return self.typestore.deserialize_cdr(raw, conn.msgtype)
        except Exception as err:  # noqa: BLE001 - rosbags raises struct/index/value errors on bad bytes
            raise BagReplayError(f"{self._bag}: a message on {conn.topic} does not deserialize as {conn.msgtype} "
                                 f"({type(err).__name__}: {err}); the bag is damaged or uses another definition "
                                 "of that type") from None

    def extract(self, feature: str, conn: Topic, raw: bytes) -> np.ndarray:
        """The feature value of one bag message (CDR bytes); errors name the bag and its topic."""
        binding = self.config.contract.features[feature]
        msg = self._deserialize(conn, raw)
        resize = self.config.resize_images
        try:
            if conn.msgtype == COMPRESSED:
                return compressed_rgb(binding, msg, resize)
            if binding.type == "sensor_msgs/msg/Image":
                size = (int(msg.height), int(msg.width), 3)
                if size != binding.shape:
                    full = FeatureBinding(**{**binding.__dict__, "shape": size})
                    return _fit(binding, image_rgb(full, msg, topic=conn.topic), resize, conn.topic)
                return image_rgb(binding, msg, topic=conn.topic)
            if binding.type == "sensor_msgs/msg/Imu":
                return imu_values(binding, msg)
            joint_map = self.config.joint_maps.get(feature, JointMap())
            order = joint_map.order or binding.joints
            if not len(msg.name):
                self._announce_by_index(feature, conn.topic, joint_map)
            return joint_values(binding, msg, topic=conn.topic, rename=joint_map.rename, order=order)
        except FeatureExtractionError as err:
            raise BagReplayError(f"{self._bag}: {err}{self._hint(binding, msg)}") from None

    def _announce_by_index(self, feature: str, topic: str, joint_map: JointMap) -> None:
        if topic in self._by_index:
            return
        self._by_index.add(topic)
        order = list(joint_map.order or self.config.contract.features[feature].joints)
        source = ("as `joints: order` of the mapping says" if joint_map.order else
                  "in the contract's joint order; if the bag's recorder used another, give it as "
                  "`joints: {order: [...]}` in the mapping")
        self.account.warnings.append(f"{Path(self._bag).name}: {topic} ({feature}) has empty joint names: reading its "
                                     f"values by index {order}, {source}")  # printed with the frame account

    def _hint(self, binding: FeatureBinding, msg: Any) -> str:
        if binding.type != JOINT_STATE:
            return ""
        names = list(msg.name)
        if not names:
            return ("\n  give the joint of each value with `joints: {order: [...]}` in the mapping file "
                    f"{self.config.path} (null skips a value)")
        example = ", ".join(f"{n}: {j}" for n, j in zip(names, binding.joints))
        return (f"\n  map the bag's joint names with `joints: {{rename: {{{example}}}}}` in the mapping file "
                f"{self.config.path}")

    # episodes -------------------------------------------------------------------------------
    def _new_episode(self, stamp: int, label: str) -> _Episode:
        from sim2real_recorder.sync import StreamSynchronizer

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
        from sim2real_recorder.errors import GapError

        try:
            ep.sync.check_saveable()
        except GapError as err:
            gaps = f"{len(err.gaps)} gap(s) longer than max_gap_s={self.config.max_gap_s:g} s: " + \
                "; ".join(str(g) for g in err.gaps)
            if self.config.on_gap == "discard":
                acc.dropped[f"episode with a gap > max_gap_s={self.config.max_gap_s:g} s (on_gap: discard)"] += n
                acc.episodes_dropped.append(f"{ep.label}: {gaps}")
                acc.gap_hint = True
                writer.discard_episode()
                return
            acc.warnings.append(f"{ep.label}: kept despite {gaps}")
        writer.save_episode()
        acc.episodes_saved += 1
        acc.frames_out += n

    # main loop -----------------------------------------------------------------------------
    def run(self, bags: list[Path], output: Path, *, repo_id: str = DEFAULT_REPO_ID) -> Account:
        from tqdm import tqdm

        from sim2real_common.robot_config import load_robot_config
        from sim2real_recorder.writer import DatasetWriter, WriterConfig, features_from_contract

        cfg = self.config
        output = Path(output)
        start_time = time.perf_counter()
        all_features = features_from_contract(cfg.contract, include_sim_only=True)
        features = {k: all_features[k] for k in cfg.features}
        robot = load_robot_config(cfg.contract.robot)
        # open every bag and check its mapped topics first: a bag that does not fit fails before anything is written
        opened: list[tuple[Bag, dict[str, tuple[str, str]]]] = []
        try:
            for path in bags:
                bag = open_bag(Path(path))
                opened.append((bag, {}))
                opened[-1] = (bag, self._resolve(bag))
            for bag, mapping in opened:
                self._check_first_messages(bag, mapping)
                self.account.warnings.extend(bag.warnings)
            _remove_empty_dataset(output)
            new = not output.exists() or (output.is_dir() and not any(output.iterdir()))
            total = sum(b.message_count for b, _ in opened)
            done: list[Path] = []
            bar = tqdm(total=total, unit="msg", desc="bag2dataset", disable=not self.progress, mininterval=0.5)
            delay = round(cfg.delay_s * NS)
            gap = round(cfg.gap_s * NS)
            try:
                with DatasetWriter(WriterConfig(root=output, repo_id=repo_id, fps=cfg.fps, robot_type=robot.robot_type,
                                                task=cfg.task, features=features)) as writer:
                    for bag, mapping in opened:
                        self._replay_bag(bag, mapping, writer, bar, delay, gap)
                        done.append(bag.path)
            except BaseException as err:
                self._after_failure(err, output, new, done, [b.path for b, _ in opened])
                raise
            finally:
                bar.close()
        finally:
            for bag, _ in opened:
                bag.close()
        self.account.seconds = time.perf_counter() - start_time
        return self.account

    def _after_failure(self, err: BaseException, output: Path, new: bool, done: list[Path], bags: list[Path]) -> None:
        """A failed run leaves nothing in a new output, and says what it left in an existing one."""
        if new:
            shutil.rmtree(output, ignore_errors=True)
            note = f"nothing was kept: {output} was removed, so the same command can run again"
        else:
            left = [str(b) for b in bags if b not in done]
            note = (f"{output} keeps its earlier episodes and the {self.account.episodes_saved} episode(s) this run "
                    f"saved before the failure (bags converted completely: {[str(b) for b in done] or 'none'}); "
                    f"to go on without duplicates convert only {' '.join(left)}")
        if isinstance(err, ValueError):
            err.args = (f"{err.args[0] if err.args else err}\n  {note}",)
        else:
            logger.error("bag2dataset stopped: %s", note)

    def _replay_bag(self, bag: Bag, mapping, writer, bar, delay, gap) -> None:
        cfg = self.config
        acc = self.account
        contract = cfg.contract
        self._bag = bag.path
        wanted = set(mapping) | ({cfg.marker_topic} if cfg.marker_topic else set())
        for c in bag.connections:
            if c.topic not in wanted:
                acc.ignored_topics[c.topic] += c.msgcount
        bar.update(sum(c.msgcount for c in bag.connections if c.topic not in wanted))
        poses: dict[str, dict[str, Any]] = defaultdict(dict)
        ep: _Episode | None = None
        index = 0
        last_log = None
        use_log = cfg.stamps == "log"
        for conn, log_t, raw in bag.messages(wanted):
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
                ep = self._new_episode(stamp, f"{bag.path.name} episode {index}")
                index += 1
            binding = contract.features[feature]
            if binding.topics:  # several poses: push once every object has one
                poses[feature][obj] = self._deserialize(conn, raw)
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


def _remove_empty_dataset(root: Path) -> None:
    """A dataset with no episode and nothing but meta/info.json (a run killed before its first save)
    holds nothing: remove it, so that this run starts it afresh with its own settings."""
    info = root / "meta" / "info.json"
    if not info.is_file():
        return
    try:
        episodes = json.loads(info.read_text()).get("total_episodes")
    except (json.JSONDecodeError, AttributeError):
        return  # the writer reports it
    files = [p for p in root.rglob("*") if p.is_file() and p != info]
    if episodes == 0 and not files:
        logger.warning("%s: an empty dataset (no episode, only meta/info.json) left by an earlier run: starting it "
                       "afresh", root)
        shutil.rmtree(root)


def convert(bags: list[Path], config: str | Path, output: Path, *, repo_id: str = DEFAULT_REPO_ID,
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
    parser.add_argument("--repo-id", default=DEFAULT_REPO_ID, help=f"dataset repo id (default {DEFAULT_REPO_ID})")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.set_defaults(handler=run_bag2dataset)


def run_bag2dataset(args) -> int:
    account = convert(args.bags, args.config, args.output, repo_id=args.repo_id, progress=not args.no_progress)
    print(account.summary())
    for warning in account.warnings:
        print(f"warning: {warning}")
    return 0 if account.episodes_saved else 1
