"""An LSC-24 board emulator speaking the real frame protocol, with fault injection; ``PtyBoard``
serves it on a pseudo-terminal whose path a driver opens like ``/dev/ttyUSB0``, consuming the
host's bytes no faster than the UART would carry them (baud / 10 bytes per second).

Board model: each channel outputs nothing until a CMD_SERVO_MOVE names it; then its pulse ramps
linearly from where it was to the new pulse over the frame's time_ms. CMD_MULT_SERVO_UNLOAD turns a
channel's output off (UNVERIFIED for the PWM board; here an unloaded continuous-rotation servo
stops). Battery requests are answered with ``battery_mv``; position reads with the last commanded
pulses (0 for a channel never commanded); ACTION_GROUP_RUN / _STOP with the running / stopped
notifications (no groups are stored, so none ever completes).

Faults: ``garble(p)`` (each received frame, with probability p, gets one byte after its header
changed), ``truncate(p)`` (frames lose their tail), ``set_battery_mv`` (a low battery),
``PtyBoard.unplug()`` (the port disappears mid-run) and ``PtyBoard(baud=...)`` lower than the
driver's (a slower link: commands arrive late). The board's decoder drops and counts what it
cannot make sense of (``dropped``); a damaged byte that still fits (a pulse's low byte) gets through,
as on the real board, which has no checksum either.
"""

from __future__ import annotations

import os
import random
import select
import threading
import time
import tty
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from lsc24.calibration import Calibration
from lsc24.errors import Lsc24Error
from lsc24.protocol import (
    BITS_PER_BYTE, DEFAULT_BAUD, DEFAULT_PULSE_RANGE, HEADER, ActionGroupRun, ActionGroupSpeed, ActionGroupStop,
    BatteryRequest, FrameDecoder, HostMessage, Notification, PositionRequest, ServoMove, ServoUnload,
    encode_action_group_event, encode_battery_voltage, encode_positions, host_grammar,
)

DEFAULT_BATTERY_MV = 7400  # a 2S LiPo


@dataclass(frozen=True)
class Ramp:
    """A channel's pulse going linearly from ``start_us`` (at ``t0``) to ``target_us`` in ``duration_s``."""

    start_us: float
    target_us: int
    t0: float
    duration_s: float

    def at(self, t: float) -> float:
        if self.duration_s <= 0 or t >= self.t0 + self.duration_s:
            return float(self.target_us)
        return self.start_us + (self.target_us - self.start_us) * max(0.0, t - self.t0) / self.duration_s


class Lsc24Emulator:
    """The board behind the link: bytes off the wire in, reply bytes out (no I/O of its own).

    Thread-safe: ``receive`` runs on the port thread while tests inject faults and read pulses.
    ``pulse_range`` is what the board accepts in a move (a move with a pulse outside it is dropped).
    """

    def __init__(self, *, battery_mv: int = DEFAULT_BATTERY_MV, pulse_range: tuple[int, int] = DEFAULT_PULSE_RANGE,
                 clock: Callable[[], float] = time.monotonic, seed: int = 0) -> None:
        self.clock = clock
        self.lock = threading.RLock()
        self.set_battery_mv(battery_mv)
        self._decoder: FrameDecoder[HostMessage] = FrameDecoder(host_grammar(pulse_range))
        self._wire = bytearray()  # received bytes not yet cut into frames
        self._ramps: dict[int, Ramp] = {}
        self._random = random.Random(seed)
        self._garble = self._truncate = 0.0
        self.garbled = self.truncated = 0  # frames damaged on purpose
        self.received: dict[type, int] = {}  # messages decoded, per message type
        self.last_move: ServoMove | None = None
        self.action_group: ActionGroupRun | None = None
        self.action_group_speeds: dict[int, int] = {}

    # -- protocol ------------------------------------------------------------------------------------
    def receive(self, data: bytes) -> bytes:
        """Feed bytes as they come off the wire; return the board's replies."""
        with self.lock:
            replies = []
            for chunk in self._cut(data):
                for message in self._decoder.feed(self._damage(chunk)):
                    self.received[type(message)] = self.received.get(type(message), 0) + 1
                    replies.append(self._handle(message))
            return b"".join(replies)

    def _cut(self, data: bytes) -> list[bytes]:
        """Whole frames (by their length byte) and the bytes between them, so faults hit whole frames."""
        wire = self._wire
        wire += data
        chunks = []
        while wire:
            start = wire.find(HEADER)
            if start != 0:
                end = len(wire) - (1 if wire.endswith(HEADER[:1]) else 0) if start < 0 else start
                if end == 0:
                    break
                chunks.append(bytes(wire[:end]))
                del wire[:end]
                continue
            if len(wire) < 3 or len(wire) < max(3, wire[2] + 2):
                break
            total = max(3, wire[2] + 2)
            chunks.append(bytes(wire[:total]))
            del wire[:total]
        return chunks

    def _damage(self, chunk: bytes) -> bytes:
        if not chunk.startswith(HEADER) or len(chunk) < 3:
            return chunk
        if self._truncate and self._random.random() < self._truncate:
            self.truncated += 1
            return chunk[:self._random.randrange(2, len(chunk))]
        if self._garble and self._random.random() < self._garble:
            self.garbled += 1
            damaged = bytearray(chunk)
            damaged[self._random.randrange(2, len(chunk))] ^= self._random.randrange(1, 256)
            return bytes(damaged)
        return chunk

    def _handle(self, message: HostMessage) -> bytes:
        if isinstance(message, ServoMove):
            now = self.clock()
            for channel, pulse in message.pulses.items():
                ramp = self._ramps.get(channel)
                start = ramp.at(now) if ramp is not None else float(pulse)
                self._ramps[channel] = Ramp(start, pulse, now, message.time_ms / 1000)
            self.last_move = message
        elif isinstance(message, ServoUnload):
            for channel in message.ids:
                self._ramps.pop(channel, None)
        elif isinstance(message, BatteryRequest):
            return encode_battery_voltage(self.battery_mv)
        elif isinstance(message, PositionRequest):
            return encode_positions({c: self._ramps[c].target_us if c in self._ramps else 0 for c in message.ids})
        elif isinstance(message, ActionGroupRun):
            self.action_group = message
            return encode_action_group_event(Notification.ACTION_GROUP_RUNNING, message.group, message.times)
        elif isinstance(message, ActionGroupStop):
            self.action_group = None
            return encode_action_group_event(Notification.ACTION_GROUP_STOPPED)
        elif isinstance(message, ActionGroupSpeed):
            self.action_group_speeds[message.group] = message.percent
        return b""

    # -- inspection ----------------------------------------------------------------------------------
    def pulse(self, channel: int) -> float | None:
        """The channel's pulse now (us, mid-ramp values included); None while it outputs nothing."""
        with self.lock:
            ramp = self._ramps.get(channel)
            return ramp.at(self.clock()) if ramp is not None else None

    def pulses(self) -> dict[int, float]:
        """Every channel with output on -> its pulse now."""
        with self.lock:
            now = self.clock()
            return {channel: ramp.at(now) for channel, ramp in sorted(self._ramps.items())}

    def target(self, channel: int) -> int | None:
        """The last pulse commanded to the channel (where its ramp ends); None while output is off."""
        with self.lock:
            ramp = self._ramps.get(channel)
            return ramp.target_us if ramp is not None else None

    def channel_speeds(self, calibration: Calibration) -> dict[int, float]:
        """Each calibrated channel's speed (rad/s) now, from its pulse and the calibration's stop
        points: what continuous-rotation servos would do (0 for a channel without output)."""
        pulses = self.pulses()
        return {channel: calibration.pulse_to_speed(channel, pulses[channel]) if channel in pulses else 0.0
                for channel in sorted(calibration.channels)}

    @property
    def frames(self) -> int:
        """Frames decoded."""
        with self.lock:
            return self._decoder.frames

    @property
    def dropped(self) -> int:
        """Frames the board's decoder rejected (garbled, truncated)."""
        with self.lock:
            return self._decoder.dropped

    # -- fault injection -------------------------------------------------------------------------------
    def set_battery_mv(self, millivolts: int) -> None:
        encode_battery_voltage(millivolts)  # refuses what the board could not report
        with self.lock:
            self.battery_mv = millivolts

    def garble(self, probability: float) -> None:
        """From now on each received frame gets one byte after its header changed with this probability."""
        with self.lock:
            self._garble = _probability(probability)

    def truncate(self, probability: float) -> None:
        """From now on each received frame loses its tail with this probability."""
        with self.lock:
            self._truncate = _probability(probability)

    def clear_faults(self) -> None:
        with self.lock:
            self._garble = self._truncate = 0.0


def _probability(p: float) -> float:
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"probability: expected 0..1, got {p}")
    return float(p)


def _check_link_path(link: Path) -> None:
    """The link may replace an old symlink (an earlier emulator's), never a file or a directory."""
    if os.path.lexists(link) and not link.is_symlink():
        kind = "a directory" if link.is_dir() else "a file"
        raise Lsc24Error(f"--link {link}: is {kind}, not a symlink an emulator made; choose another path or remove it")
    if not link.parent.is_dir():
        raise Lsc24Error(f"--link {link}: folder {link.parent} does not exist")


class PtyBoard:
    """Serves an ``Lsc24Emulator`` on a pseudo-terminal; ``path`` (or ``link``) is the port to open.

    Bytes written by the host are taken off the pty at once and released to the emulator at the
    wire rate of ``baud`` (10 bits a byte), as the board's UART would receive them; replies are
    written back at once. ``unplug()`` makes the port disappear (like pulling the USB cable);
    ``plug()`` brings it back with the same board state (a new pty path, the same ``link``).
    """

    def __init__(self, emulator: Lsc24Emulator, link: Path | str | None = None, *, baud: int = DEFAULT_BAUD) -> None:
        if baud <= 0:
            raise ValueError(f"baud: expected a positive rate like {DEFAULT_BAUD}, got {baud}")
        self.emulator = emulator
        self.link = Path(link) if link else None
        self.baud = baud
        self.path = ""
        self._master = self._slave = -1
        self._thread: threading.Thread | None = None
        self._running = False

    def open(self) -> str:
        if self.link is not None:
            _check_link_path(self.link)
        self._master, self._slave = os.openpty()
        tty.setraw(self._slave)  # no echo, no line discipline: bytes pass through as on a UART
        self.path = os.ttyname(self._slave)
        if self.link is not None:
            if self.link.is_symlink():
                self.link.unlink()
            self.link.symlink_to(self.path)
        self._running = True
        self._thread = threading.Thread(target=self._serve, name=f"lsc24-emulator {self.path}", daemon=True)
        self._thread.start()
        return str(self.link or self.path)

    def close(self) -> None:
        self._running = False
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        for fd in (self._master, self._slave):
            if fd >= 0:
                os.close(fd)
        self._master = self._slave = -1
        if self.link is not None and self.link.is_symlink():
            self.link.unlink()

    def unplug(self) -> None:
        """The port disappears mid-run: the host's next read or write fails. Same as ``close``."""
        self.close()

    def plug(self) -> str:
        """The board comes back (same emulator state) on a new pty; returns the port to open."""
        return self.open()

    def __enter__(self) -> PtyBoard:
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _serve(self) -> None:
        byte_s = BITS_PER_BYTE / self.baud
        wire = bytearray()  # received, not yet through the UART
        wire_t = 0.0  # when the last byte released finished its transfer
        clock = time.monotonic
        while self._running:
            timeout = min(0.02, byte_s) if wire else 0.02
            ready, _, _ = select.select([self._master], [], [], timeout)
            now = clock()
            if ready:
                try:
                    data = os.read(self._master, 4096)
                except OSError:
                    return
                if not wire:
                    wire_t = max(wire_t, now)
                wire += data
            count = min(len(wire), int((now - wire_t) / byte_s)) if wire else 0
            if count:
                chunk = bytes(wire[:count])
                del wire[:count]
                wire_t += count * byte_s
                reply = self.emulator.receive(chunk)
                if reply:
                    try:
                        os.write(self._master, reply)
                    except OSError:
                        return
