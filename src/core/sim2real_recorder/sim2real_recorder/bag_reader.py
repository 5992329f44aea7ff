"""Read rosbag2 bags (sqlite3 .db3 and .mcap) with `rosbags`, and recover what a killed recording left.

``open_bag(path)`` takes a bag folder or one storage file and returns a ``Bag``: its topics
(``connections``) and its messages in log-time order. Intact storage files are read by
``rosbags``; when that fails, the file is read as far as it is intact and the bag carries a
warning saying how much was recovered:

- a folder without ``metadata.yaml`` (the recorder was killed before writing it), or whose
  metadata lists files that are not there: the storage files present are read;
- an MCAP file without summary and footer (killed recorder, truncated copy): its records are
  scanned from the start up to the first incomplete one (an uncompressed chunk cut short still
  yields the messages before the cut);
- an sqlite3 file cut short (``database disk image is malformed``): rows are read in insertion
  order up to the damage; the last row read before it is dropped, since its payload may end in
  the missing pages.

Anything else (not a bag, a ROS 1 ``.bag``, an unsupported compression) is one ``BagReadError``
naming the file and why.
"""

from __future__ import annotations

import heapq
import re
import sqlite3
import struct
from collections.abc import Collection, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import yaml

NS = 1_000_000_000
MCAP_MAGIC = b"\x89MCAP0\r\n"
STORAGE_SUFFIXES = (".db3", ".mcap")


class BagReadError(ValueError):
    """A bag cannot be read: names the file and why."""


class Topic(NamedTuple):
    """One topic of a bag (all its storage files together)."""

    topic: str
    msgtype: str
    msgcount: int
    serialization: str  # "cdr" for ROS 2


# -- one storage file ---------------------------------------------------------------------------

class _Storage:
    """One storage file: ``topics`` {name: Topic} and ``messages(topics)`` in log-time order."""

    path: Path
    topics: dict[str, Topic]
    reason: str = ""  # why the file needed the recovery scan
    recovered: str = ""  # what the recovery read

    def messages(self, topics: Collection[str]) -> Iterator[tuple[str, int, bytes]]:
        raise NotImplementedError

    def close(self) -> None:
        """Release the file."""


class _RosbagsStorage(_Storage):
    """An intact storage file, read by rosbags."""

    def __init__(self, path: Path, reader: Any) -> None:
        self.path, self._reader = path, reader
        self.topics = _merge(Topic(c.topic, c.msgtype, c.msgcount, _serialization(c)) for c in reader.connections)

    def messages(self, topics: Collection[str]) -> Iterator[tuple[str, int, bytes]]:
        from rosbags.rosbag2 import ReaderError

        conns = [c for c in self._reader.connections if c.topic in topics]
        if not conns:
            return
        n = 0
        try:
            for conn, log_t, raw in self._reader.messages(connections=conns):
                yield conn.topic, log_t, raw
                n += 1
        except (ReaderError, OSError) as err:  # damage inside a file whose index was intact
            raise BagReadError(f"{self.path}: damaged after {n} messages ({err})") from None
        except Exception as err:  # apsw's errors (sqlite3 pages) share no base class with the above
            if type(err).__module__ != "apsw":
                raise
            raise BagReadError(f"{self.path}: damaged after {n} messages ({err})") from None

    def close(self) -> None:
        if self._reader.is_open:
            self._reader.close()


def _serialization(conn: Any) -> str:
    return getattr(conn.ext, "serialization_format", "cdr")


def _merge(topics) -> dict[str, Topic]:
    merged: dict[str, Topic] = {}
    for t in topics:
        old = merged.get(t.topic)
        merged[t.topic] = t if old is None else old._replace(msgcount=old.msgcount + t.msgcount)
    return merged


def _span(first: int | None, last: int | None) -> str:
    return f"{(last - first) / NS:.1f} s" if first is not None and last is not None else "0 s"


# -- MCAP recovery ------------------------------------------------------------------------------

class _McapScan(_Storage):
    """An MCAP file read record by record from its start, up to the first incomplete record."""

    def __init__(self, path: Path, reason: str) -> None:
        self.path, self.reason = path, reason
        with path.open("rb") as f:
            head = f.read(8)
        if head != MCAP_MAGIC:
            raise BagReadError(f"{path}: not an MCAP file (it does not start with the MCAP magic bytes)")
        self._schemas: dict[int, str] = {}  # id -> message type
        self._channels: dict[int, tuple[str, str, str]] = {}  # id -> topic, msgtype, encoding
        counts: dict[int, int] = {}
        first = last = None
        n = 0
        for cid, log_t, _ in self._scan(want=None):
            counts[cid] = counts.get(cid, 0) + 1
            first = log_t if first is None else min(first, log_t)
            last = log_t if last is None else max(last, log_t)
            n += 1
        self.topics = _merge(Topic(t, m, counts.get(cid, 0), e) for cid, (t, m, e) in self._channels.items())
        self.recovered = (f"{path.name}: {reason}; read {n} messages ({_span(first, last)}) up to where the file "
                          f"breaks off ({path.stat().st_size} bytes); the rest is lost")

    def messages(self, topics: Collection[str]) -> Iterator[tuple[str, int, bytes]]:
        want = {cid for cid, (t, _, _) in self._channels.items() if t in topics}
        for cid, log_t, raw in self._scan(want=want):
            yield self._channels[cid][0], log_t, raw

    def _scan(self, want: set[int] | None) -> Iterator[tuple[int, int, bytes]]:
        """(channel id, log time, data) of every complete message (data only for ``want``)."""
        with self.path.open("rb") as f:
            f.seek(8)
            while True:
                head = f.read(9)
                if len(head) < 9:
                    return
                op, length = head[0], struct.unpack("<Q", head[1:])[0]
                body = f.read(length)
                if op in (0x02, 0x0F):  # footer, data end: the summary follows
                    return
                if len(body) < length:  # cut short: a chunk may still hold whole messages
                    if op == 0x06:
                        yield from self._chunk(body, want, partial=True)
                    return
                if op == 0x06:
                    yield from self._chunk(body, want, partial=False)
                else:
                    yield from self._records(head + body, want)

    def _chunk(self, body: bytes, want: set[int] | None, partial: bool) -> Iterator[tuple[int, int, bytes]]:
        if len(body) < 32:
            return
        (n,) = struct.unpack_from("<I", body, 28)
        compression = body[32:32 + n].decode()
        start = 32 + n + 8
        data = body[start:]
        if compression == "zstd":
            from backports import zstd

            data = zstd.ZstdDecompressor().decompress(data) if partial else zstd.decompress(data)
        elif compression == "lz4":
            from lz4.frame import LZ4FrameDecompressor

            data = LZ4FrameDecompressor().decompress(data)
        elif compression:
            raise BagReadError(f"{self.path}: unsupported MCAP chunk compression {compression!r}")
        yield from sorted(self._records(data, want), key=lambda m: m[1])  # a chunk's messages, by log time

    def _records(self, data: bytes, want: set[int] | None) -> Iterator[tuple[int, int, bytes]]:
        pos = 0
        while pos + 9 <= len(data):
            op, (length,) = data[pos], struct.unpack_from("<Q", data, pos + 1)
            end = pos + 9 + length
            if end > len(data):
                return
            body = memoryview(data)[pos + 9:end]
            if op == 0x03:
                self._schema(body)
            elif op == 0x04:
                self._channel(body)
            elif op == 0x05 and length >= 22:
                cid, log_t = struct.unpack_from("<H", body, 0)[0], struct.unpack_from("<Q", body, 6)[0]
                if want is None:  # counting: no payload
                    yield cid, log_t, b""
                elif cid in want:
                    yield cid, log_t, bytes(body[22:])
            pos = end

    def _schema(self, body: memoryview) -> None:
        (sid,) = struct.unpack_from("<H", body, 0)
        (n,) = struct.unpack_from("<I", body, 2)
        self._schemas[sid] = bytes(body[6:6 + n]).decode()

    def _channel(self, body: memoryview) -> None:
        cid, sid = struct.unpack_from("<HH", body, 0)
        (n,) = struct.unpack_from("<I", body, 4)
        topic = bytes(body[8:8 + n]).decode()
        (m,) = struct.unpack_from("<I", body, 8 + n)
        encoding = bytes(body[12 + n:12 + n + m]).decode()
        self._channels[cid] = (topic, self._schemas.get(sid, ""), encoding)


# -- sqlite3 recovery ---------------------------------------------------------------------------

class _SqliteScan(_Storage):
    """An sqlite3 file read row by row (insertion order) up to its damage."""

    def __init__(self, path: Path, reason: str) -> None:
        self.path, self.reason = path, reason
        with path.open("rb") as f:
            header = f.read(100)
            if len(header) < 100 or header[:16] != b"SQLite format 3\x00":
                raise BagReadError(f"{path}: not an sqlite3 database (it does not start with the SQLite header)")
        try:
            db = self._connect()
            rows = db.execute("SELECT id, name, type, serialization_format FROM topics").fetchall()
        except sqlite3.Error as err:
            raise BagReadError(f"{path}: cannot read its topics table ({err}); nothing can be recovered") from None
        self._topics = {tid: (name, msgtype, fmt) for tid, name, msgtype, fmt in rows}
        read: list[tuple[int, int]] = []  # (topic id, log time) of the rows whose payload reads back
        damaged = False
        try:
            for tid, log_t, _ in db.execute("SELECT topic_id, timestamp, data FROM messages"):
                read.append((tid, log_t))
        except sqlite3.DatabaseError:
            damaged = True
        db.close()
        cut = bool(_sqlite_cut(path))
        if (damaged or cut) and read:  # its payload may end in the missing pages (read back as zeros)
            read.pop()
        self._usable = len(read)
        counts: dict[int, int] = {}
        for tid, _ in read:
            counts[tid] = counts.get(tid, 0) + 1
        self.topics = _merge(Topic(name, msgtype, counts.get(tid, 0), fmt)
                             for tid, (name, msgtype, fmt) in self._topics.items())
        span = _span(min((t for _, t in read), default=None), max((t for _, t in read), default=None))
        if damaged or cut:
            self.recovered = (f"{path.name}: {reason}; read {len(read)} messages ({span}) up to the damage (the "
                              "last row before it dropped: it may be incomplete); the rest is lost")
        else:
            self.recovered = f"{path.name}: {reason}; read all {len(read)} messages ({span})"

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(f"file:{self.path}?immutable=1", uri=True)
        db.execute("PRAGMA writable_schema=ON")  # open a file shorter than its header says (read only)
        return db

    def messages(self, topics: Collection[str]) -> Iterator[tuple[str, int, bytes]]:
        want = {tid for tid, (name, _, _) in self._topics.items() if name in topics}
        limit = self._usable
        db = self._connect()
        try:
            rows = db.execute("SELECT topic_id, timestamp, data FROM messages LIMIT ?", (limit,))
            for tid, log_t, data in rows:
                if tid in want:
                    yield self._topics[tid][0], log_t, data
        finally:
            db.close()


# -- a bag ---------------------------------------------------------------------------------------

@dataclass
class Bag:
    """A bag (folder or storage file): its topics, and its messages in log-time order."""

    path: Path
    storages: list[_Storage]
    warnings: list[str] = field(default_factory=list)

    @property
    def connections(self) -> list[Topic]:
        return list(_merge(t for s in self.storages for t in s.topics.values()).values())

    @property
    def message_count(self) -> int:
        return sum(t.msgcount for t in self.connections)

    def messages(self, topics: Collection[str]) -> Iterator[tuple[Topic, int, bytes]]:
        """(topic, log time, CDR bytes) of ``topics``, in log-time order across the storage files."""
        by_name = {t.topic: t for t in self.connections}
        streams = [_numbered(i, s.messages(topics)) for i, s in enumerate(self.storages)]
        for log_t, _, topic, raw in heapq.merge(*streams, key=lambda m: (m[0], m[1])):
            yield by_name[topic], log_t, raw

    def close(self) -> None:
        for storage in self.storages:
            storage.close()


def _numbered(index: int, messages: Iterator[tuple[str, int, bytes]]) -> Iterator[tuple[int, int, str, bytes]]:
    for topic, log_t, raw in messages:
        yield log_t, index, topic, raw


def open_bag(path: Path) -> Bag:
    """Open a bag folder or a .db3 / .mcap file; damaged files are recovered with a warning."""
    path = Path(path)
    if not path.exists():
        raise BagReadError(f"{path}: no such bag (expected a rosbag2 folder or a .db3 / .mcap file)")
    if path.is_file():
        if path.suffix == ".bag":
            raise BagReadError(f"{path}: a ROS 1 bag; convert it to rosbag2 first (`rosbags-convert --src {path}`)")
        if path.suffix not in STORAGE_SUFFIXES:
            raise BagReadError(f"{path}: not a rosbag2 storage file (expected .db3 or .mcap, found "
                               f"{path.suffix or 'no suffix'})")
        storage, warning = _open_storage(path)
        return Bag(path, [storage], [warning] if warning else [])
    files, warnings = _storage_files(path)
    storages = []
    try:
        for file in files:
            storage, warning = _open_storage(file)
            storages.append(storage)
            warnings += [warning] if warning else []
    except BaseException:
        for storage in storages:
            storage.close()
        raise
    return Bag(path, storages, warnings)


def _storage_files(folder: Path) -> tuple[list[Path], list[str]]:
    """The folder's storage files in recording order, and what is wrong with its metadata."""
    present = sorted((p for p in folder.iterdir() if p.suffix in STORAGE_SUFFIXES), key=_natural)
    metadata = folder / "metadata.yaml"
    if not metadata.is_file():
        if not present:
            raise BagReadError(f"{folder}: not a rosbag2 bag (no metadata.yaml and no .db3 / .mcap file)")
        return present, [f"{folder}: no metadata.yaml (the recording was not closed?); reading "
                         f"{', '.join(p.name for p in present)}"]
    try:
        info = yaml.safe_load(metadata.read_text())["rosbag2_bagfile_information"]
        listed = [folder / Path(p).name for p in info["relative_file_paths"]]
        compression = (info.get("compression_mode") or "").lower()
    except (yaml.YAMLError, KeyError, TypeError) as err:
        if not present:
            raise BagReadError(f"{metadata}: unreadable ({err!r}) and no .db3 / .mcap file beside it") from None
        return present, [f"{metadata}: unreadable ({err!r}); reading {', '.join(p.name for p in present)}"]
    if compression not in ("", "none"):
        raise BagReadError(f"{folder}: compressed bags (compression_mode: {compression}) are not supported; "
                           f"decompress it first (`ros2 bag convert`)")
    missing = [p.name for p in listed if not p.exists()]
    files = [p for p in listed if p.exists()] + [p for p in present if p not in listed]
    if not files:
        raise BagReadError(f"{folder}: metadata.yaml lists {[p.name for p in listed]}, none of them is there")
    warnings = [f"{folder}: metadata.yaml lists {missing}, missing: their messages are lost"] if missing else []
    return files, warnings


def _natural(path: Path) -> list[Any]:
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", path.name)]


def _open_storage(path: Path) -> tuple[_Storage, str]:
    """rosbags' reader when the file is intact, else the recovery scan (with its warning)."""
    from rosbags.rosbag2 import Reader, ReaderError

    cut = _sqlite_cut(path) if path.suffix == ".db3" else ""
    if cut:
        return _checked(_SqliteScan(path, cut))
    try:
        reader = Reader(path)
        reader.open()
        return _RosbagsStorage(path, reader), ""
    except ReaderError as err:
        reason = f"damaged or unfinished ({err})"
    except OSError as err:
        raise BagReadError(f"{path}: cannot be read ({err.strerror or err})") from None
    try:
        return _checked(_McapScan(path, reason) if path.suffix == ".mcap" else _SqliteScan(path, reason))
    except OSError as err:
        raise BagReadError(f"{path}: cannot be read ({err.strerror or err})") from None


def _checked(storage: _Storage) -> tuple[_Storage, str]:
    if not storage.topics:
        raise BagReadError(f"{storage.path}: {storage.reason}, and nothing could be recovered (no topic before "
                           "the damage)")
    return storage, storage.recovered


def _sqlite_cut(path: Path) -> str:
    """Why an sqlite3 file is damaged when it is shorter than its header says (a killed copy or
    recording), else "" (sqlite reads such files with I/O errors or as malformed)."""
    with path.open("rb") as f:
        header = f.read(100)
    if len(header) < 100 or header[:16] != b"SQLite format 3\x00":
        return ""  # not sqlite: rosbags says so
    (page_size,), (pages,) = struct.unpack(">H", header[16:18]), struct.unpack(">I", header[28:32])
    expected = pages * (65536 if page_size == 1 else page_size)
    size = path.stat().st_size
    return f"truncated ({size} of the {expected} bytes its header counts)" if size < expected else ""
