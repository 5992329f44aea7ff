"""Errors of the recorder package; messages say what was wrong and what to do about it."""

from __future__ import annotations

from dataclasses import dataclass

from sim2real_common.errors import UserError


class RecorderError(Exception):
    """Base class of sim2real_recorder errors."""


class WriterConfigError(RecorderError, UserError, ValueError):
    """A WriterConfig field (or the features built from a contract) is invalid."""


class DatasetMismatchError(RecorderError, UserError, ValueError):
    """The dataset at ``root`` was recorded with other features, fps or robot than the config."""


class WriterStateError(RecorderError, RuntimeError):
    """A DatasetWriter method was called out of order (e.g. add_frame before start_episode)."""


class FrameError(RecorderError, ValueError):
    """A frame does not match the dataset features, or its timestamp is not on the fps grid."""


class EncoderError(RecorderError, RuntimeError):
    """A background video encoder failed; the episode in progress cannot be saved."""


class SyncError(RecorderError, ValueError):
    """StreamSynchronizer misuse: unknown feature, frame times going backwards."""


@dataclass(frozen=True)
class Gap:
    """A stream (or the recording loop) went ``length_s`` without a new message from ``start_s``
    (episode time, s)."""

    stream: str
    length_s: float
    start_s: float

    def __str__(self) -> str:
        return (f"{self.stream}: nothing new for {self.length_s:.2f} s from t={self.start_s:.2f} s "
                f"to t={self.start_s + self.length_s:.2f} s")


class GapError(RecorderError):
    """The episode has gaps longer than the threshold; it must not be saved (discard it)."""

    def __init__(self, gaps: list[Gap] | tuple[Gap, ...], threshold_s: float) -> None:
        self.gaps = tuple(gaps)
        self.threshold_s = threshold_s
        lines = "\n  - ".join(str(g) for g in self.gaps)
        super().__init__(f"episode refused: {len(self.gaps)} gap(s) longer than {threshold_s:.2f} s "
                         f"(episode time):\n  - {lines}\n  discard it and record it again")
