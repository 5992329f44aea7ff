"""Keyboard control of the recorder, ROS-free: LeRobot's recording keys decoded from a raw
terminal, the recorder service each key calls, the status line, and the raw-mode terminal.

Keys (as in ``lerobot-record``):

    Right arrow or n   save the episode and go on (when idle or resetting: start the next one)
    Left arrow or r    discard the episode and re-record it
    Esc or q           stop: the recorder finalizes the dataset and exits
    Ctrl-C             leave the keyboard; the recorder keeps running
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

ESC = 0x1B
ESCAPE_TIMEOUT_S = 0.05  # a lone ESC is the Esc key once no sequence byte follows this soon
HELP = "→/n save  ←/r re-record  Esc/q stop  Ctrl-C leave"


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
        return "stop" if state != "stopped" else None
    return None


def status_line(status: dict[str, Any] | None, note: str = "") -> str:
    """One line from the recorder's status JSON (see recorder_node), e.g.
    ``REC episode 2 of 10  4.3 s  130 frames  drops 0 | →/n save ...``."""
    if status is None:
        return _join("waiting for the recorder (recorder/status)...", note)
    state = status["state"]
    target = status.get("target") or 0
    number = status["episodes_saved"] + 1
    episode = f"episode {number} of {target}" if target else f"episode {number}"
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
        text = f"IDLE next: {episode}  (saved {status['episodes_saved']})  → to start"
    else:
        text = f"STOPPED  saved {status['episodes_saved']}  dataset {status.get('dataset', '')}"
    if status.get("warnings"):
        text += f"  ! {status['warnings'][-1]}"
    return _join(text, note) + f" | {HELP}"


def _join(text: str, note: str) -> str:
    return f"{text}  [{note}]" if note else text


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
