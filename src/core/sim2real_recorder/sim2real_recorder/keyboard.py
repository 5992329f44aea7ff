"""Keyboard control of the recorder, ROS-free: LeRobot's recording keys decoded from a raw
terminal, the recorder service each key calls, the status line (hints first, fits 120 columns),
its expiring messages, the watch that tells when the recorder has gone, and the raw-mode terminal.

The keys are those of ``lerobot-record``, listed in ``KEYS`` (the text ``keyboard --help`` prints).
Episodes are numbered as the recorder's replies and logs number them: this session's episodes
from 1, "episode 3 of 5" (status.episode_label).
"""

from __future__ import annotations

import os
import signal
import termios
import tty
from collections.abc import Iterator
from contextlib import contextmanager
from enum import Enum
from typing import Any

from sim2real_recorder.status import episode_label

ESC = 0x1B
ESCAPE_TIMEOUT_S = 0.05  # a lone ESC is the Esc key once no sequence byte follows this soon
KEYS = """\
  Right arrow or n   save the episode being recorded; while idle or resetting: start the next one
  Left arrow or r    discard the episode being recorded, to record it again
  Esc or q           stop: the recorder finalizes the dataset and the graph ends; the keyboard
                     exits then (at once when no recorder answers; q again: without waiting)
  Ctrl-C             leave the keyboard; the recorder keeps running"""
# Key hints of the status line, per recorder state (None: no status yet); they come first, and
# leave room for the state and a short message (n, r, Esc and Ctrl-C: see KEYS).
HINTS = {
    "recording": "→ save  ← re-record  q stop",
    "idle": "→ start  q stop",
    "resetting": "→ start now  q stop",
    "stopped": "q quit",
    None: "q quit",
}
LINE_WIDTH = 119  # fits a 120-column terminal (its last column left free: a character there can wrap)
MESSAGE_TTL_S = 5.0  # a message on the status line goes after this long, or once a later episode starts
MESSAGE_MIN_S = 1.5  # ... but not sooner than this: a re-record without reset period starts at once
STATUS_STALE_S = 10.0  # the recorder republishes its status every second; silent this long = gone
GONE_GRACE_S = 2.0  # no publisher on recorder/status this long = gone (discovery may blink)


class Action(Enum):
    NEXT = "next"  # Right arrow / n
    RERECORD = "rerecord"  # Left arrow / r
    STOP = "stop"  # Esc / q
    LEAVE = "leave"  # Ctrl-C: quit the keyboard only


LETTERS = {ord("n"): Action.NEXT, ord("N"): Action.NEXT, ord("r"): Action.RERECORD,
           ord("R"): Action.RERECORD, ord("q"): Action.STOP, ord("Q"): Action.STOP, 0x03: Action.LEAVE}
ARROWS = {ord("C"): Action.NEXT, ord("D"): Action.RERECORD}  # final bytes of ESC [ C / ESC O C


class KeyDecoder:
    """Bytes read from a raw-mode terminal -> actions.

    Arrow keys arrive as escape sequences (``ESC [ C``, or ``ESC O C`` in application cursor
    mode), the Esc key as a lone ESC; the two are told apart by whether more bytes follow
    within ``escape_timeout_s``. Other keys and sequences (F-keys, Up/Down...) are ignored.
    """

    def __init__(self, escape_timeout_s: float = ESCAPE_TIMEOUT_S) -> None:
        self.escape_timeout_s = escape_timeout_s
        self._buffer = bytearray()
        self._escape_at: float | None = None  # when a still-undecided ESC arrived

    def feed(self, data: bytes, now: float) -> list[Action]:
        self._buffer += data
        actions: list[Action] = []
        while self._buffer:
            if self._buffer[0] != ESC:
                action = LETTERS.get(self._buffer.pop(0))
            elif len(self._buffer) == 1:
                break  # ESC alone so far: wait for more bytes, or for the timeout
            elif self._buffer[1] not in b"[O":  # ESC then an ordinary key: Esc was pressed
                del self._buffer[0]
                action = Action.STOP
            else:
                end = _sequence_end(self._buffer)
                if end is None:
                    break  # an unfinished sequence
                action = ARROWS.get(self._buffer[end]) if end == 2 else None
                del self._buffer[: end + 1]
            self._escape_at = None
            if action is not None:
                actions.append(action)
        if self._buffer and self._escape_at is None:
            self._escape_at = now
        return actions

    def flush(self, now: float) -> list[Action]:
        """Decide a pending lone ESC (the Esc key) once ``escape_timeout_s`` has passed."""
        if self._escape_at is None or now - self._escape_at < self.escape_timeout_s:
            return []
        self._buffer.clear()
        self._escape_at = None
        return [Action.STOP]


def _sequence_end(buffer: bytearray) -> int | None:
    """Index of the final byte of the ESC [ / ESC O sequence at the start of ``buffer``."""
    for index in range(2, len(buffer)):
        if 0x40 <= buffer[index] <= 0x7E:
            return index
    return None


def service_for(action: Action, state: str | None) -> str | None:
    """The recorder service (``start``/``save``/``discard``/``stop``) an action calls in a
    recorder state; None when the action does nothing there."""
    if action is Action.NEXT:
        return "save" if state == "recording" else "start" if state in ("idle", "resetting") else None
    if action is Action.RERECORD:
        return "discard" if state == "recording" else None
    if action is Action.STOP:
        return "stop" if state not in (None, "stopped") else None  # else the keyboard just exits
    return None


def status_line(status: dict[str, Any] | None, note: str = "", width: int = LINE_WIDTH) -> str:
    """One line from the recorder's status JSON (see recorder_node), the key hints first, then the
    state, the message (``note``) and the latest warning, cut to ``width`` columns; e.g.
    ``→ save  ← re-record  q stop | REC episode 2 of 10  4.3/20 s  130 frames  drops 0``."""
    if status is None:
        return _fit(f"{HINTS[None]} | " + _join("waiting for the recorder (recorder/status)...", note), width)
    state = status["state"]
    target = status.get("target") or 0
    episode = episode_label(status.get("episode", status["episodes_saved"] + 1), target)
    drops = sum(s.get("drops", 0) for s in status.get("streams", {}).values())
    stale = sum(s.get("stale", 0) for s in status.get("streams", {}).values())
    quality = f"drops {drops}" + (f" stale {stale}" if stale else "")
    if state == "recording":
        limit = status.get("episode_time_s") or 0
        clock = f"{status['elapsed_s']:.1f}" + (f"/{limit:.0f}" if limit else "") + " s"
        text = f"REC {episode}  {clock}  {status['frames']} frames  {quality}"
    elif state == "resetting":
        left = max(0.0, (status.get("reset_time_s") or 0) - status["elapsed_s"])
        text = f"RESET {left:.0f} s, then {episode}  (saved {status['episodes_saved']})"
    elif state == "idle":
        text = f"IDLE next: {episode}  (saved {status['episodes_saved']})"
    else:
        text = f"STOPPED  saved {status['episodes_saved']}  dataset {status.get('dataset', '')}"
    text = _join(text, note)
    if status.get("warnings"):
        text += f"  ! {status['warnings'][-1]}"
    return _fit(f"{HINTS.get(state, HINTS[None])} | {text}", width)


def _join(text: str, note: str) -> str:
    return f"{text}  [{note}]" if note else text


def brief(reply: str) -> str:
    """A recorder reply for the status line: its first line, without a closing parenthesis
    (``saved episode 2 of 5 (episode_index 7, 130 frames)`` -> ``saved episode 2 of 5``)."""
    first = reply.strip().splitlines()[0] if reply.strip() else ""
    if first.endswith(")") and " (" in first:
        first = first[: first.rindex(" (")]
    return first


def _fit(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


class Message:
    """The keyboard's latest message (a service reply, a refusal) on the status line: gone once it
    is ``ttl_s`` old, or once a later episode has started (the status's ``attempts`` went past
    ``episode``) and it has been shown ``min_s``. Times are the caller's clock, so tests drive it."""

    def __init__(self, ttl_s: float = MESSAGE_TTL_S, min_s: float = MESSAGE_MIN_S) -> None:
        self.ttl_s, self.min_s = ttl_s, min_s
        self._text = ""
        self._at = 0.0
        self._episode: int | None = None

    def show(self, text: str, now: float, episode: int | None) -> None:
        """``episode``: the attempt count the message is about (None: expire by time only)."""
        self._text, self._at, self._episode = text, now, episode

    def text(self, now: float, attempts: int | None) -> str:
        age = now - self._at
        later = attempts is not None and self._episode is not None and attempts > self._episode
        if self._text and (age >= self.ttl_s or (later and age >= self.min_s)):
            self._text = ""
        return self._text


class RecorderWatch:
    """Tells when a recorder that was once seen has gone: no publisher on ``recorder/status`` for
    ``grace_s`` (it exited), or no status for ``stale_s`` while no call is pending (it was killed,
    or hangs). Before the first status it is only waited for."""

    def __init__(self, stale_s: float = STATUS_STALE_S, grace_s: float = GONE_GRACE_S) -> None:
        self.stale_s, self.grace_s = stale_s, grace_s
        self._last_status: float | None = None
        self._unpublished_since: float | None = None

    def status_received(self, now: float) -> None:
        self._last_status = now

    def gone(self, now: float, publishers: int, busy: bool = False) -> str | None:
        """Why the recorder is gone, or None. ``busy``: a service call is still pending (a save
        may hold the recorder's status for a while)."""
        if self._last_status is None:
            return None
        if publishers:
            self._unpublished_since = None
        elif self._unpublished_since is None:
            self._unpublished_since = now
        if self._unpublished_since is not None and now - self._unpublished_since >= self.grace_s:
            return "the recorder has gone (nothing publishes recorder/status)"
        if busy:
            self._last_status = now  # silence counts from when the last call was answered
        elif now - self._last_status >= self.stale_s:
            return f"the recorder has gone (no status for {self.stale_s:.0f} s)"
        return None


@contextmanager
def raw_terminal(fd: int) -> Iterator[None]:
    """Raw mode on ``fd`` (keys arrive unbuffered, unechoed; Ctrl-C arrives as a byte), restored
    on exit, on SIGTERM and on SIGHUP (raised as KeyboardInterrupt so cleanup runs)."""
    saved = termios.tcgetattr(fd)

    def interrupt(signum: int, _frame: object) -> None:
        raise KeyboardInterrupt(signal.Signals(signum).name)

    previous = {sig: signal.signal(sig, interrupt) for sig in (signal.SIGTERM, signal.SIGHUP)}
    try:
        tty.setraw(fd)
        yield
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def write_line(fd: int, text: str) -> None:
    """Replace the terminal's current line with ``text``, cut to the terminal's width (if known)."""
    try:
        columns = os.get_terminal_size(fd).columns
    except OSError:
        columns = 0
    if columns:
        text = text[: columns - 1]
    os.write(fd, ("\r\x1b[2K" + text).encode())
