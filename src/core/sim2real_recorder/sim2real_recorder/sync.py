"""Time sync through the contract (no ROS): sample every stream at the dataset's frame times.

The recorder pushes every message with its header stamp, and at each frame time ``t`` of the
fps grid (recorder clock = the clock of the stamps) asks for a sample. Each feature follows its
contract binding's ``align`` rule; ``latest_before`` takes the newest message stamped at or
before ``t``, never one from the future of the frame. So ``t`` must lie far enough in the past
that its messages have arrived: sample ``t`` once ``now >= t + delay`` (delay >= transport
latency; messages that arrive after their frame was sampled are counted as ``late``).

Per episode and stream it counts frames, stale samples (older than the binding's
``max_age_s``), missing samples (no message yet: the frame is dropped), repeated samples (no new
message since the previous frame) and late messages, measures the message rate and the longest
time without a new message (and when). While recording it warns (logger ``sim2real_recorder.sync``
plus an optional callback) every ``warn_window_s`` of frame time in which a camera or the
recording loop ran below the target fps, or a stream delivered stale samples.
``check_saveable`` refuses an episode with a gap longer than ``gap_threshold_s``.

Episode time is seconds since the episode's first sampled frame (the writer's origin too).

Usage (the recorder node)::

    sync = StreamSynchronizer(contract, list(writer_config.features), fps)
    # subscriptions:   sync.push(feature, stamp_ns(msg), value)
    # on start:        sync.reset(); writer.start_episode(); t0 = now - delay
    # at each k:       t = t0 + round(k * 1e9 / fps); frame = sync.sample(t)
    #                  if frame is not None: writer.add_frame(frame, (t - t0) / 1e9)
    # on stop:         sync.check_saveable(); writer.save_episode()  (GapError: discard)
"""

from __future__ import annotations

import bisect
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from sim2real_common.contract import Contract, FeatureBinding
from sim2real_recorder.errors import Gap, GapError, SyncError

logger = logging.getLogger(__name__)

NS = 1_000_000_000


@dataclass(frozen=True)
class StreamQuality:
    feature: str
    frames: int  # frames sampled from this stream
    stale: int  # ... whose message was older than the binding's max_age_s
    missing: int  # frame times with no message yet (those frames were dropped)
    repeated: int  # frames that reused the previous frame's message (nothing new in between)
    late: int  # messages that arrived after the frame they belonged to was sampled
    messages: int  # messages stamped within the episode
    rate_hz: float  # messages per second within the episode
    max_age_s: float  # oldest sample used
    longest_gap_s: float  # longest time without a new message
    gap_start_s: float  # episode time where it began


@dataclass(frozen=True)
class EpisodeQuality:
    fps: float
    frames: int  # samples that returned a frame
    dropped: int  # samples that returned None (some stream had no message yet)
    skipped: int  # grid slots between consecutive frames that were never sampled
    duration_s: float
    loop_rate_hz: float  # frames per second of episode time
    loop_gap_s: float  # longest time between consecutive frames
    loop_gap_start_s: float
    streams: dict[str, StreamQuality]
    warnings: tuple[str, ...] = ()

    def below_fps(self, ratio: float = 0.9) -> list[str]:
        """Streams (and "loop") whose measured rate was below ``ratio`` x fps."""
        slow = [name for name, q in self.streams.items() if q.rate_hz < ratio * self.fps]
        return (["loop"] if self.loop_rate_hz < ratio * self.fps else []) + slow

    def summary(self) -> str:
        lines = [f"{self.frames} frames in {self.duration_s:.2f} s ({self.loop_rate_hz:.1f} Hz, target "
                 f"{self.fps:g}); dropped {self.dropped}, skipped {self.skipped}; longest gap between frames "
                 f"{self.loop_gap_s:.3f} s at t={self.loop_gap_start_s:.2f} s"]
        for q in self.streams.values():
            lines.append(f"  {q.feature}: {q.rate_hz:.1f} Hz, stale {q.stale}/{q.frames}, missing {q.missing}, "
                         f"repeated {q.repeated}, late {q.late}, max age {q.max_age_s:.3f} s, longest gap "
                         f"{q.longest_gap_s:.3f} s at t={q.gap_start_s:.2f} s")
        return "\n".join(lines)


@dataclass
class _Stream:
    binding: FeatureBinding
    stamps: list[int] = field(default_factory=list)
    values: list[Any] = field(default_factory=list)
    selected: bool = False  # stamps[0] is the message the previous frame used
    # episode counters
    frames: int = 0
    stale: int = 0
    missing: int = 0
    repeated: int = 0
    late: int = 0
    messages: int = 0
    max_age: int = 0
    gap: int = 0
    gap_start: int = 0
    # warning window counters
    window_messages: int = 0
    window_first: int = 0  # stamps of the first and last new message in the window
    window_last: int = 0
    window_stale: int = 0

    def window_rate(self, window_start: int, window_end: int) -> float:
        """Messages per second in the window, from the mean interval between its messages (not
        biased by where the window boundaries fall); silences at either end of the window longer
        than that interval count too (a stalled camera reads slow)."""
        n = self.window_messages
        if n < 2 or self.window_last <= self.window_first:
            return n * NS / (window_end - window_start)
        span = self.window_last - self.window_first
        interval = span / (n - 1)
        before, after = self.window_first - window_start, window_end - self.window_last
        return (n - 1) * NS / (span + max(0.0, before - interval) + max(0.0, after - interval))

    def note_message(self, stamp: int) -> None:
        if not self.window_messages:
            self.window_first = stamp
        self.window_last = stamp
        self.window_messages += 1
        self.messages += 1

    @property
    def max_age_ns(self) -> int:
        return round(self.binding.max_age_s * NS)

    def reset_episode(self) -> None:
        self.frames = self.stale = self.missing = self.repeated = self.late = self.messages = 0
        self.max_age = self.gap = self.gap_start = 0
        self.window_messages = self.window_stale = 0
        self.selected = False


class StreamSynchronizer:
    def __init__(self, contract: Contract, features: list[str], fps: float, *, gap_threshold_s: float = 0.5,
                 history_s: float = 1.0, warn_window_s: float = 1.0, min_rate_ratio: float = 0.9,
                 on_warning: Callable[[str], None] | None = None) -> None:
        unknown = [f for f in features if f not in contract.features]
        if unknown:
            raise SyncError(f"features {unknown} are not in contract {contract.path.name} "
                            f"(it has {list(contract.features)})")
        if not features:
            raise SyncError("features: expected at least one feature to synchronize")
        if fps <= 0 or gap_threshold_s <= 0 or history_s <= 0 or warn_window_s <= 0:
            raise SyncError("fps, gap_threshold_s, history_s and warn_window_s must be positive")
        self.fps = float(fps)
        self.gap_threshold_s = gap_threshold_s
        self._period = NS / self.fps
        self._history = round(history_s * NS)
        self._window = round(warn_window_s * NS)
        self._min_rate_ratio = min_rate_ratio
        self._on_warning = on_warning
        self._streams = {name: _Stream(contract.features[name]) for name in features}
        self._lock = threading.Lock()  # push (subscription callbacks) and sample (timer) may race
        for name, stream in self._streams.items():
            if stream.binding.align != "latest_before":
                raise SyncError(f"{name}: alignment rule {stream.binding.align!r} is not implemented")
        self._reset()

    # -- messages -----------------------------------------------------------------------------

    def push(self, feature: str, stamp_ns: int, value: np.ndarray) -> None:
        """Buffer a message of ``feature`` stamped ``stamp_ns`` (header stamp, recorder clock)."""
        with self._lock:
            self._push(feature, int(stamp_ns), value)

    def _push(self, feature: str, stamp_ns: int, value: np.ndarray) -> None:
        stream = self._streams.get(feature)
        if stream is None:
            raise SyncError(f"unknown feature {feature!r} (synchronizing {list(self._streams)})")
        stamps = stream.stamps
        if stamps and stamp_ns < stamps[-1] - self._history:
            logger.info("%s: stamp went back %.2f s (clock reset?): dropping buffered messages",
                        feature, (stamps[-1] - stamp_ns) / NS)
            stamps.clear()
            stream.values.clear()
            stream.selected = False
        if self._last_t is not None and stamp_ns <= self._last_t:
            stream.late += 1  # its frame was already sampled without it
            if stream.selected and stamp_ns <= stamps[0]:
                return  # older than what the frames use already
        if not stamps or stamp_ns >= stamps[-1]:
            stamps.append(stamp_ns)
            stream.values.append(value)
        else:
            i = bisect.bisect_right(stamps, stamp_ns)
            stamps.insert(i, stamp_ns)
            stream.values.insert(i, value)
        # Bounded memory while nobody samples: keep ``history_s`` of messages (and one older).
        drop = bisect.bisect_right(stamps, stamps[-1] - self._history) - 1
        if drop > 0:
            del stamps[:drop]
            del stream.values[:drop]
            stream.selected = False

    # -- frames -------------------------------------------------------------------------------

    def sample(self, frame_time_ns: int) -> dict[str, np.ndarray] | None:
        """Every feature at ``frame_time_ns`` by its alignment rule, or None if a feature has no
        message at or before it yet (the frame is dropped and counted)."""
        with self._lock:
            return self._sample(int(frame_time_ns))

    def _sample(self, t: int) -> dict[str, np.ndarray] | None:
        if self._last_t is not None and t <= self._last_t:
            raise SyncError(f"frame time {t} ns is not after the previous one ({self._last_t} ns)")
        self._last_t = t
        picks = {}
        for name, stream in self._streams.items():
            picks[name] = bisect.bisect_right(stream.stamps, t) - 1
        absent = [name for name, i in picks.items() if i < 0]
        if absent:
            for name in absent:
                self._streams[name].missing += 1
            self._dropped += 1
            return None
        if self._t0 is None:
            self._t0 = self._window_start = t
        else:
            self._account_loop(t)
        frame = {}
        for name, stream in self._streams.items():
            frame[name] = self._take(stream, picks[name], t)
        self._frames += 1
        self._window_frames += 1
        self._prev_frame_t = t
        if t - self._window_start >= self._window:
            self._check_window(t)
        return frame

    def _take(self, stream: _Stream, i: int, t: int) -> np.ndarray:
        stamps = stream.stamps
        if stream.selected:
            if i == 0:  # nothing new since the previous frame (stamps[1..i] are new)
                stream.repeated += 1
            for j in range(1, i + 1):  # gaps between consecutive messages
                self._note_gap(stream, stamps[j] - stamps[j - 1], stamps[j - 1])
                stream.note_message(stamps[j])
        age = t - stamps[i]
        self._note_gap(stream, age, stamps[i])
        stream.frames += 1
        stream.max_age = max(stream.max_age, age)
        if age > stream.max_age_ns:
            stream.stale += 1
            stream.window_stale += 1
        value = stream.values[i]
        if i > 0:
            del stamps[:i]
            del stream.values[:i]
        stream.selected = True
        return value

    def _note_gap(self, stream: _Stream, length: int, start: int) -> None:
        if length > stream.gap:
            stream.gap, stream.gap_start = length, start

    def _account_loop(self, t: int) -> None:
        dt = t - self._prev_frame_t
        self._skipped += max(0, round(dt / self._period) - 1)
        if dt > self._loop_gap:
            self._loop_gap, self._loop_gap_start = dt, self._prev_frame_t

    def _check_window(self, t: int) -> None:
        elapsed = (t - self._window_start) / NS
        when = f"in the {elapsed:.1f} s before t={(t - self._t0) / NS:.1f} s"
        expected = elapsed * self.fps
        if self._window_frames < self._min_rate_ratio * expected:
            self._warn(f"recording loop: {self._window_frames} frames {when}, {expected:.0f} expected at "
                       f"{self.fps:g} fps")
        for name, stream in self._streams.items():
            rate = stream.window_rate(self._window_start, t)
            if stream.binding.is_image and rate < self._min_rate_ratio * self.fps:
                self._warn(f"{name}: camera at {rate:.1f} Hz {when}, below the {self.fps:g} fps target")
            if stream.window_stale:
                self._warn(f"{name}: {stream.window_stale} stale frame(s) (older than "
                           f"{stream.binding.max_age_s:g} s) {when}")
            stream.window_messages = stream.window_stale = 0
        self._window_start, self._window_frames = t, 0

    def _warn(self, message: str) -> None:
        self._warnings.append(message)
        logger.warning(message)
        if self._on_warning is not None:
            self._on_warning(message)

    # -- episodes -----------------------------------------------------------------------------

    def episode_report(self) -> EpisodeQuality:
        with self._lock:
            return self._report()

    def _report(self) -> EpisodeQuality:
        t0 = self._t0 if self._t0 is not None else 0
        span = (self._prev_frame_t - t0) / NS if self._frames else 0.0
        duration = span + 1 / self.fps if self._frames else 0.0
        streams = {}
        for name, s in self._streams.items():
            streams[name] = StreamQuality(
                feature=name, frames=s.frames, stale=s.stale, missing=s.missing, repeated=s.repeated,
                late=s.late, messages=s.messages, rate_hz=s.messages / span if span > 0 else 0.0,
                max_age_s=s.max_age / NS, longest_gap_s=s.gap / NS, gap_start_s=(s.gap_start - t0) / NS)
        return EpisodeQuality(
            fps=self.fps, frames=self._frames, dropped=self._dropped, skipped=self._skipped, duration_s=duration,
            loop_rate_hz=(self._frames - 1) / span if span > 0 else 0.0, loop_gap_s=self._loop_gap / NS,
            loop_gap_start_s=(self._loop_gap_start - t0) / NS if self._loop_gap else 0.0, streams=streams,
            warnings=tuple(self._warnings))

    def check_saveable(self) -> None:
        """Raise GapError naming every stream (and the loop) with a gap over the threshold."""
        report = self.episode_report()
        gaps = [Gap(q.feature, q.longest_gap_s, q.gap_start_s) for q in report.streams.values()
                if q.longest_gap_s > self.gap_threshold_s]
        if report.loop_gap_s > self.gap_threshold_s:
            gaps.insert(0, Gap("recording loop (no frame)", report.loop_gap_s, report.loop_gap_start_s))
        if gaps:
            raise GapError(gaps, self.gap_threshold_s)

    def reset(self) -> None:
        """Start a new episode: counters cleared, buffered messages kept (the first frame may
        use a message from before the episode start)."""
        with self._lock:
            self._reset()

    def _reset(self) -> None:
        for stream in self._streams.values():
            stream.reset_episode()
        self._last_t: int | None = None
        self._t0: int | None = None
        self._prev_frame_t = 0
        self._frames = self._dropped = self._skipped = 0
        self._loop_gap = self._loop_gap_start = 0
        self._window_start = self._window_frames = 0
        self._warnings: list[str] = []
