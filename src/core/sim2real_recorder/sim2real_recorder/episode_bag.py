"""Raw topics of each saved episode as a rosbag2 (MCAP) beside the dataset, so an episode can be
re-converted later with other settings (``sim2real bag2dataset``). ROS-free: messages (rclpy or
any object with ROS field names) are serialized to plain CDR with the rosbags typestore — rclpy's
own serialization appends padding that strict CDR readers (rosbags) reject.

While recording, messages go to ``<dataset>/bags/.recording``; a save renames it to
``bags/episode_<index>``, a discard deletes it — a bag, like an episode, is whole or absent.
"""

from __future__ import annotations

import shutil
import array
from pathlib import Path
from typing import Any

import numpy as np
from rosbags.rosbag2 import StoragePlugin, Writer
from rosbags.typesys import Stores, get_typestore

TYPESTORE = get_typestore(Stores.ROS2_KILTED)


class _NumpyFields:
    """A view of a message whose primitive sequences are numpy arrays, as rosbags expects."""

    def __init__(self, msg: Any) -> None:
        self._msg = msg

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._msg, name)
        if isinstance(value, array.array):
            return np.frombuffer(value, dtype=value.typecode)
        if isinstance(value, (bytes, bytearray)):
            return np.frombuffer(value, dtype=np.uint8)
        if hasattr(value, "get_fields_and_field_types") or hasattr(value, "__dataclass_fields__"):
            return _NumpyFields(value)
        if isinstance(value, list) and value and not isinstance(value[0], (str, int, float)):
            return [_NumpyFields(v) for v in value]
        return value


def cdr_bytes(msg: Any, msgtype: str) -> bytes:
    """Plain CDR (little endian) of ``msg`` as ``msgtype``."""
    return bytes(TYPESTORE.serialize_cdr(_NumpyFields(msg), msgtype))


class EpisodeBag:
    def __init__(self, dataset_root: Path, topics: dict[str, str]) -> None:
        """``topics``: full topic name -> message type (e.g. ``sensor_msgs/msg/JointState``)."""
        self.folder = Path(dataset_root) / "bags"
        self.topics = dict(topics)
        self._writer: Writer | None = None
        self._connections: dict = {}
        self.messages = 0

    @property
    def recording_path(self) -> Path:
        return self.folder / ".recording"

    def start(self) -> None:
        self.discard()  # a leftover of a crashed session is not an episode
        self.folder.mkdir(parents=True, exist_ok=True)
        self._writer = Writer(self.recording_path, version=9, storage_plugin=StoragePlugin.MCAP)
        self._writer.open()
        self._connections = {t: self._writer.add_connection(t, m, typestore=TYPESTORE) for t, m in self.topics.items()}
        self.messages = 0

    def write(self, topic: str, stamp_ns: int, msg: Any) -> None:
        """Append ``msg`` (received at ``stamp_ns``) to the episode's bag, if one is open."""
        if self._writer is not None:
            self._writer.write(self._connections[topic], stamp_ns, cdr_bytes(msg, self.topics[topic]))
            self.messages += 1

    def save(self, episode_index: int) -> Path:
        """Close the bag and give it the saved episode's index."""
        if self._writer is None:
            raise RuntimeError("no episode bag is being recorded")
        self._writer.close()
        self._writer = None
        final = self.folder / f"episode_{episode_index:06d}"
        if final.exists():  # a bag of an episode index that a crash left without its episode
            shutil.rmtree(final)
        self.recording_path.rename(final)
        return final

    def discard(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        if self.recording_path.exists():
            shutil.rmtree(self.recording_path)
