"""Recording session state, ROS-free: the phases (idle, recording, resetting, stopped), the
episode timing of ``lerobot-record``, the episode counts, and the status report the recorder
publishes on ``recorder/status``.

Timing (``lerobot-record``): with ``episode_time_s > 0`` an episode is saved once it has run that
long; with ``episode_time_s == 0`` only through save/discard. After each episode (saved or
discarded) a reset period of ``reset_time_s`` follows (nothing is recorded), then the next episode
starts by itself, until ``num_episodes`` are saved; the keyboard saves early, re-records
(discard, reset, record again), starts the next episode before the reset period is over, or
stops. Only when both are 0 does the recorder wait, idle, for each start (e.g. driven by the
evaluator). Reaching ``num_episodes`` (0 = no target) stops the session. The session only keeps
the books: the caller does what ``due()`` asks and reports what it did.

Numbering: what the operator sees counts the episodes of this session from 1, as
``episode_label`` writes it ("episode 3 of 5"); the dataset's ``episode_index`` stays LeRobot's
0-based index over the whole dataset (earlier sessions included).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any


class Phase(str, Enum):
    IDLE = "idle"  # waiting for start
    RECORDING = "recording"
    RESETTING = "resetting"  # between episodes; the next one starts after reset_time_s
    STOPPED = "stopped"  # dataset finalized


class Due(Enum):
    SAVE = "save"  # the episode ran episode_time_s
    START = "start"  # the reset period is over


class SessionError(RuntimeError):
    """A request the current phase does not allow (the reply of the refused service call)."""


@dataclass(frozen=True)
class SessionConfig:
    episode_time_s: float = 0.0  # > 0: an episode saves itself after this long; 0: only on request
    reset_time_s: float = 0.0  # reset period after each episode (0 with episode_time_s 0: wait, idle)
    num_episodes: int = 0  # episodes to save in this session; 0 = no target

    def __post_init__(self) -> None:
        for name in ("episode_time_s", "reset_time_s", "num_episodes"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name}: expected >= 0, got {getattr(self, name)}")

    @property
    def timed(self) -> bool:
        return self.episode_time_s > 0

    @property
    def resets(self) -> bool:
        """A reset period, then an automatic start, follows each episode."""
        return self.timed or self.reset_time_s > 0


def episode_label(number: int, target: int) -> str:
    """``episode 3 of 5`` (``episode 3`` without a target): the operator's numbering, 1-based."""
    return f"episode {number} of {target}" if target else f"episode {number}"


class Session:
    def __init__(self, config: SessionConfig, dataset_episodes: int) -> None:
        self.config = config
        self.dataset_episodes = dataset_episodes  # in the dataset, earlier sessions included
        self.saved = 0  # in this session
        self.attempts = 0  # episodes started in this session
        self.phase = Phase.IDLE
        self.since_s = 0.0  # when the current phase began (caller's clock)

    @property
    def target_reached(self) -> bool:
        return 0 < self.config.num_episodes <= self.saved

    @property
    def episode_number(self) -> int:
        """The current (or next) episode of this session, counted from 1; a re-recorded episode
        keeps its number."""
        return self.saved + 1

    @property
    def episode_label(self) -> str:
        return episode_label(self.episode_number, self.config.num_episodes)

    def elapsed_s(self, now_s: float) -> float:
        return max(0.0, now_s - self.since_s)

    def start(self, now_s: float) -> None:
        if self.phase not in (Phase.IDLE, Phase.RESETTING):
            raise SessionError(f"cannot start: {self._state_text()}")
        self.phase, self.since_s = Phase.RECORDING, now_s
        self.attempts += 1

    def check_recording(self, what: str) -> None:
        if self.phase is not Phase.RECORDING:
            raise SessionError(f"nothing to {what}: {self._state_text()}")

    def episode_ended(self, now_s: float, saved: bool) -> Phase:
        """After the caller saved or discarded the episode: the next phase."""
        self.check_recording("end")
        if saved:
            self.saved += 1
            self.dataset_episodes += 1
        if self.target_reached:
            self.phase = Phase.STOPPED
        else:
            self.phase = Phase.RESETTING if self.config.resets else Phase.IDLE
        self.since_s = now_s
        return self.phase

    def stop(self) -> None:
        self.phase = Phase.STOPPED

    def due(self, now_s: float) -> Due | None:
        """What the episode timing asks for now, if anything."""
        elapsed = self.elapsed_s(now_s)
        if self.phase is Phase.RECORDING and self.config.timed and elapsed >= self.config.episode_time_s:
            return Due.SAVE
        if self.phase is Phase.RESETTING and elapsed >= self.config.reset_time_s:
            return Due.START
        return None

    def report(self, now_s: float, **extra: Any) -> dict[str, Any]:
        """The status JSON (documented in recorder_node); ``extra`` adds frames, streams..."""
        return {
            "state": self.phase.value,
            "episode": self.episode_number,  # the current/next episode of this session, from 1
            "episode_index": self.dataset_episodes,  # the dataset index of the current/next episode (0-based)
            "episodes_saved": self.saved,
            "attempts": self.attempts,
            "target": self.config.num_episodes,
            "elapsed_s": round(self.elapsed_s(now_s), 3) if self.phase is not Phase.STOPPED else 0.0,
            "episode_time_s": self.config.episode_time_s,
            "reset_time_s": self.config.reset_time_s,
            **extra,
        }

    def _state_text(self) -> str:
        return {Phase.IDLE: "not recording (idle)", Phase.RECORDING: "already recording",
                Phase.RESETTING: "not recording (reset period)", Phase.STOPPED: "the recorder has stopped"}[self.phase]
