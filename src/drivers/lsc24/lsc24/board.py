"""LSC-24 board driver: moves, stop-and-release, battery voltage, positions and action groups over a
``Transport``, never more than one frame behind the link.

At 9600 baud a move for 17 servos takes 60.4 ms on the wire; a sender that writes faster fills the
OS and USB buffers and the servos act on ever older commands. So the board keeps only the newest
pending move (an older one not yet sent is *superseded*, and counted) and a link thread writes it
when the previous frame's wire time has elapsed. Other frames (battery and position requests,
unload, action groups) are never superseded; they go out in order, one per wire time, before the
pending move.

The link thread also reads: battery and position replies and action-group notifications. A
failing link (write or read error, device gone) makes every later call raise ``LinkLostError``.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Callable

from lsc24.calibration import Calibration
from lsc24.errors import BoardTimeoutError, LinkLostError
from lsc24.protocol import (
    BOARD_GRAMMAR, ActionGroupEvent, BatteryVoltage, BoardMessage, FrameDecoder, Positions,
    encode_action_group_run, encode_action_group_speed, encode_action_group_stop, encode_get_battery_voltage,
    encode_mult_servo_pos_read, encode_mult_servo_unload, encode_servo_move, max_servos_per_frame,
)
from lsc24.transport import Transport

POLL_S = 0.005  # how often the link thread looks for replies while idle
DEFAULT_TIMEOUT_S = 1.0


@dataclass(frozen=True)
class LinkCounters:
    sent: int  # frames written to the link
    superseded: int  # moves replaced by a newer one before they were sent
    bytes_sent: int
    received: int  # good frames from the board
    dropped: int  # frames from the board the decoder rejected (garbled, truncated)


class Lsc24Board:
    """One LSC-24 on an open ``transport``; moves are checked against ``calibration`` (only its
    channels, only within their pulse ranges). Usable in ``with`` (starts and closes)."""

    def __init__(self, transport: Transport, calibration: Calibration, *,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.transport = transport
        self.calibration = calibration
        self.clock = clock
        self._limits = calibration.pulse_limits()
        per_frame = transport.max_frame_bytes
        self._servos_per_frame = max_servos_per_frame(per_frame) if per_frame else None
        self._decoder: FrameDecoder[BoardMessage] = FrameDecoder(BOARD_GRAMMAR)
        self._cond = threading.Condition()
        self._move: list[bytes] | None = None  # frames of the newest move not yet sent
        self._queue: deque[bytes] = deque()  # other frames, in order
        self._writing = False
        self._busy_until = 0.0
        self._failure: str | None = None
        self._closing = False
        self._thread: threading.Thread | None = None
        self._sent = self._superseded = self._bytes_sent = 0
        self._replies: dict[type, tuple[int, BoardMessage]] = {}  # reply type -> (how many so far, last)
        self._action_group: ActionGroupEvent | None = None

    # -- life cycle ----------------------------------------------------------------------------------
    def start(self) -> None:
        if self._thread is not None:
            return
        self._closing = False
        self._thread = threading.Thread(target=self._run, name=f"lsc24 link {self.transport.name}", daemon=True)
        self._thread.start()

    def close(self) -> None:
        """Stop the link thread and close the transport (pending frames are not sent: ``stop_all`` first)."""
        with self._cond:
            self._closing = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        self.transport.close()

    def __enter__(self) -> Lsc24Board:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- commands --------------------------------------------------------------------------------------
    def move(self, pulses: Mapping[int, int], time_ms: int = 0) -> None:
        """Make ``pulses`` (channel -> us) the pending move, ramped over ``time_ms``; returns at once.
        A pending move not yet on the wire is superseded: the newest command wins."""
        frames = self._move_frames(pulses, time_ms)
        with self._cond:
            self._check()
            if self._move is not None:
                self._superseded += 1
            self._move = frames
            self._cond.notify_all()

    def set_speeds(self, speeds: Mapping[int, float], time_ms: int = 0) -> dict[int, int]:
        """``move`` with each channel's speed (rad/s) turned into a pulse by the calibration; returns the pulses."""
        pulses = {channel: self.calibration.speed_to_pulse(channel, speed) for channel, speed in speeds.items()}
        self.move(pulses, time_ms)
        return pulses

    def stop_all(self, channels: Iterable[int] | None = None, *, timeout: float = DEFAULT_TIMEOUT_S) -> None:
        """Stop the channels (all calibrated ones by default) at their stop pulses, then release them
        (CMD_MULT_SERVO_UNLOAD); replaces any pending move and returns once both are on the wire."""
        channels = sorted(self.calibration.channels if channels is None else channels)
        stop = self._move_frames({c: self.calibration.stop_pulse(c) for c in channels}, 0)
        with self._cond:
            self._check()
            if self._move is not None:
                self._superseded += 1
                self._move = None
            self._queue.extend([*stop, encode_mult_servo_unload(channels)])
            self._cond.notify_all()
        self.flush(timeout)

    def action_group_run(self, group: int, times: int = 1) -> None:
        """Run a group stored on the board ``times`` times (0 = loop forever)."""
        self._send(encode_action_group_run(group, times))

    def action_group_stop(self) -> None:
        self._send(encode_action_group_stop())

    def action_group_speed(self, group: int, percent: int) -> None:
        """Speed of a stored group (0xFF = all) in percent (UNVERIFIED unit)."""
        self._send(encode_action_group_speed(group, percent))

    def battery_mv(self, timeout: float = DEFAULT_TIMEOUT_S) -> int:
        """Ask the board for its supply voltage; millivolts, or ``BoardTimeoutError`` after ``timeout``."""
        reply = self._request(encode_get_battery_voltage(), BatteryVoltage, "no battery-voltage reply", timeout)
        return reply.millivolts

    def request_battery(self) -> None:
        """Ask for the supply voltage without waiting (a control loop cannot wait a frame's wire
        time); the reply shows in ``last_battery``."""
        self._send(encode_get_battery_voltage())

    @property
    def last_battery(self) -> tuple[int, int | None]:
        """(battery replies received so far, the last one's millivolts or None before any)."""
        with self._cond:
            count, message = self._replies.get(BatteryVoltage, (0, None))
            return count, message.millivolts if message is not None else None

    def read_positions(self, channels: Iterable[int], timeout: float = DEFAULT_TIMEOUT_S) -> dict[int, int]:
        """CMD_MULT_SERVO_POS_READ: on a PWM board at best the last commanded pulses (UNVERIFIED; some
        boards do not implement it, which ends in ``BoardTimeoutError``)."""
        reply = self._request(encode_mult_servo_pos_read(channels), Positions, "no position reply", timeout)
        return dict(reply.pulses)

    def flush(self, timeout: float = DEFAULT_TIMEOUT_S) -> None:
        """Wait until every pending frame is on the wire."""
        deadline = self.clock() + timeout
        with self._cond:
            while self._move is not None or self._queue or self._writing:
                self._check()
                left = deadline - self.clock()
                if left <= 0:
                    raise BoardTimeoutError(self.transport.name, "pending frames not sent", timeout)
                self._cond.wait(left)
            self._check()

    # -- state -----------------------------------------------------------------------------------------
    @property
    def counters(self) -> LinkCounters:
        with self._cond:
            return LinkCounters(self._sent, self._superseded, self._bytes_sent, self._decoder.frames,
                                self._decoder.dropped)

    @property
    def action_group(self) -> ActionGroupEvent | None:
        """The last action-group notification (running, stopped, complete), None before any."""
        with self._cond:
            return self._action_group

    # -- internals -------------------------------------------------------------------------------------
    def _move_frames(self, pulses: Mapping[int, int], time_ms: int) -> list[bytes]:
        """One CMD_SERVO_MOVE, or several when the link's frames are too small for all channels (HID)."""
        for channel in pulses:
            self.calibration.channel(channel)  # an uncalibrated channel is refused by name
        ids = list(pulses)
        size = self._servos_per_frame or len(ids) or 1
        return [encode_servo_move({i: pulses[i] for i in ids[k:k + size]}, time_ms, limits=self._limits)
                for k in range(0, max(1, len(ids)), size)]

    def _send(self, frame: bytes) -> None:
        with self._cond:
            self._check()
            self._queue.append(frame)
            self._cond.notify_all()

    def _request(self, frame: bytes, reply_type: type, what: str, timeout: float) -> Any:
        deadline = self.clock() + timeout
        with self._cond:
            self._check()
            seen = self._replies.get(reply_type, (0, None))[0]
            self._queue.append(frame)
            self._cond.notify_all()
            while self._replies.get(reply_type, (0, None))[0] == seen:
                self._check()
                left = deadline - self.clock()
                if left <= 0:
                    raise BoardTimeoutError(self.transport.name, what, timeout)
                self._cond.wait(left)
            return self._replies[reply_type][1]

    def _check(self) -> None:
        """Raise the link's failure; called with the lock held."""
        if self._failure is not None:
            raise LinkLostError(self.transport.name, self._failure)
        if self._thread is None:
            raise RuntimeError(f"Lsc24Board on {self.transport.name!r} is not started: call start() or use `with`")

    def _run(self) -> None:
        try:
            while True:
                data = self.transport.read()
                messages = self._decoder.feed(data) if data else []
                frames = self._take_due(messages)
                if frames is None:
                    return
                for frame in frames:
                    self.transport.write(frame)
                if frames:
                    with self._cond:
                        self._writing = False
                        self._sent += len(frames)
                        self._bytes_sent += sum(map(len, frames))
                        self._cond.notify_all()
        except LinkLostError as err:
            failure = err.reason
        except Exception as err:  # a bug must not leave callers waiting on a dead thread
            failure = f"link thread failed: {err!r}"
        with self._cond:
            self._failure = failure
            self._writing = False
            self._cond.notify_all()

    def _take_due(self, messages: list[BoardMessage]) -> list[bytes] | None:
        """Hand over the received messages, then the frames to write now: the next queued frame, else
        the pending move, once the link is free; [] after waiting up to ``POLL_S`` (time to read
        again); None when closing."""
        with self._cond:
            for message in messages:
                count = self._replies.get(type(message), (0, None))[0]
                self._replies[type(message)] = (count + 1, message)
                if isinstance(message, ActionGroupEvent):
                    self._action_group = message
            if messages:
                self._cond.notify_all()
            waited = False
            while not self._closing:
                now = self.clock()
                if (self._queue or self._move is not None) and now >= self._busy_until:
                    if self._queue:
                        frames = [self._queue.popleft()]
                    else:
                        frames, self._move = self._move, None
                    self._writing = True
                    self._busy_until = now + self.transport.wire_time(sum(map(len, frames)))
                    return frames
                if waited:
                    return []
                pending = self._queue or self._move is not None
                self._cond.wait(min(POLL_S, self._busy_until - now) if pending else POLL_S)
                waited = True
            return None
