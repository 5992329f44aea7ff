"""Hiwonder/LOBOT LSC-24 serial protocol as data: frame layout, commands, encoders, parsers for both
directions, a streaming decoder and the link-budget arithmetic (docs: hardware-protocols.md section 3).

Frame: ``0x55 0x55 | Length | Cmd | params``, Length = number of params + 2, 16-bit values
little-endian, no checksum. Without a checksum the only defence against a noisy link is structure:
a frame whose length, command, count, ids or pulses do not fit together is dropped and counted, and
the decoder looks for the next header right after the rejected one. A frame cut short runs into the
next frame's header, so a candidate frame with 0x55 0x55 inside it (or ending in 0x55 followed by
0x55) is dropped too; in exchange the encoders refuse the rare values that would put such bytes in
a frame (a time_ms of 21845 = 0x5555, pulses 21760..22015 us). A corrupted byte that still fits
(e.g. the low byte of a pulse) cannot be detected.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import IntEnum
from typing import Callable, Generic, TypeVar, Union

HEADER = b"\x55\x55"
MAX_ID = 31  # servo ids 0..31 (the LSC-24 uses 24 of them; 0- or 1-based is UNVERIFIED)
U16_MAX = 0xFFFF
BITS_PER_BYTE = 10  # 8N1: start bit, 8 data bits, stop bit
DEFAULT_BAUD = 9600
DEFAULT_PULSE_RANGE = (500, 2500)  # us, the usual hobby-servo range


class Command(IntEnum):
    """Host -> board commands (the vendor calls them ``CMD_<name>``)."""

    SERVO_MOVE = 0x03
    ACTION_GROUP_RUN = 0x06
    ACTION_GROUP_STOP = 0x07
    ACTION_GROUP_SPEED = 0x0B
    GET_BATTERY_VOLTAGE = 0x0F
    MULT_SERVO_UNLOAD = 0x14
    MULT_SERVO_POS_READ = 0x15


class Notification(IntEnum):
    """Board -> host frames."""

    ACTION_GROUP_RUNNING = 0x06
    ACTION_GROUP_STOPPED = 0x07
    ACTION_GROUP_COMPLETE = 0x08
    BATTERY_VOLTAGE = 0x0F
    POSITIONS = 0x15


# -- link budget -----------------------------------------------------------------------------------
def frame_size(n_params: int) -> int:
    """Bytes on the wire of a frame with ``n_params`` parameter bytes (header, length, command)."""
    return n_params + 4


def servo_move_size(n_servos: int) -> int:
    """Bytes on the wire of a CMD_SERVO_MOVE for ``n_servos``: 3n + 7."""
    return frame_size(3 + 3 * n_servos)


def frame_wire_time(n_bytes: int, baud: int) -> float:
    """Seconds ``n_bytes`` take on a UART at ``baud`` (8N1, 10 bits a byte)."""
    return n_bytes * BITS_PER_BYTE / baud


def max_servos_per_frame(max_frame_bytes: int) -> int:
    """How many servos one CMD_SERVO_MOVE of at most ``max_frame_bytes`` can carry."""
    return min(MAX_ID + 1, (max_frame_bytes - servo_move_size(0)) // 3)


# -- encoders ----------------------------------------------------------------------------------------
PulseLimits = Union[tuple[int, int], Mapping[int, tuple[int, int]]]


def _u16(value: int, what: str) -> bytes:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= U16_MAX:
        raise ValueError(f"{what}: expected an integer 0..{U16_MAX}, got {value!r}")
    return value.to_bytes(2, "little")


def _u8(value: int, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 0xFF:
        raise ValueError(f"{what}: expected an integer 0..255, got {value!r}")
    return value


def _ids(ids: Iterable[int]) -> list[int]:
    ids = list(ids)
    bad = [i for i in ids if isinstance(i, bool) or not isinstance(i, int) or not 0 <= i <= MAX_ID]
    if bad:
        raise ValueError(f"servo ids: expected integers 0..{MAX_ID}, got {bad}")
    if not ids or len(set(ids)) != len(ids):
        raise ValueError(f"servo ids: expected 1..{MAX_ID + 1} distinct ids, got {ids}")
    return ids


def frame(command: int, params: bytes = b"") -> bytes:
    """``0x55 0x55 len cmd params`` with len = len(params) + 2."""
    if len(params) + 2 > 0xFF:
        raise ValueError(f"{len(params)} parameter bytes do not fit one frame (at most 253)")
    result = HEADER + bytes([len(params) + 2, command]) + bytes(params)
    if looks_cut(result, len(result)) or result.endswith(HEADER[:1]):
        raise ValueError(f"frame {result.hex(' ')} would hold 0x55 0x55 or end in 0x55, which reads as the next "
                         f"frame's header: change the value by one (e.g. time_ms 21845 -> 21844)")
    return result


def looks_cut(data: bytes | bytearray, total: int) -> bool:
    """Whether the frame in ``data[:total]`` has a header inside it (from byte 3), or ends in 0x55 with
    0x55 after it: a frame cut short that runs into the next one."""
    return data.find(HEADER, 3, min(len(data), total + 1)) >= 0


def encode_servo_move(pulses: Mapping[int, int], time_ms: int, *,
                      limits: PulseLimits = DEFAULT_PULSE_RANGE) -> bytes:
    """CMD_SERVO_MOVE: every servo in ``pulses`` (id -> pulse us) ramps to its pulse over ``time_ms``.

    ``limits`` is one (min, max) range for all ids or a range per id; a pulse outside it, or an id
    without one, is refused: this encoder never puts an unintended pulse on the wire.
    """
    ids = _ids(pulses)
    params = bytearray([len(ids)]) + _u16(time_ms, "time_ms")
    for servo_id in ids:
        pulse = pulses[servo_id]
        low, high = limits if isinstance(limits, tuple) else limits.get(servo_id, (None, None))
        if low is None:
            raise ValueError(f"servo {servo_id}: no pulse limits given for it")
        params += bytes([servo_id]) + _u16(pulse, f"servo {servo_id} pulse")
        if not low <= pulse <= high:
            raise ValueError(f"servo {servo_id} pulse: expected {low}..{high} us, got {pulse}")
    return frame(Command.SERVO_MOVE, bytes(params))


def encode_action_group_run(group: int, times: int = 1) -> bytes:
    """CMD_ACTION_GROUP_RUN: run stored group ``group`` ``times`` times (0 = loop forever)."""
    return frame(Command.ACTION_GROUP_RUN, bytes([_u8(group, "action group")]) + _u16(times, "times"))


def encode_action_group_stop() -> bytes:
    return frame(Command.ACTION_GROUP_STOP)


def encode_action_group_speed(group: int, percent: int) -> bytes:
    """CMD_ACTION_GROUP_SPEED: group 0xFF = all groups; speed in percent (UNVERIFIED unit)."""
    return frame(Command.ACTION_GROUP_SPEED, bytes([_u8(group, "action group")]) + _u16(percent, "speed"))


def encode_get_battery_voltage() -> bytes:
    return frame(Command.GET_BATTERY_VOLTAGE)


def encode_mult_servo_unload(ids: Iterable[int]) -> bytes:
    """CMD_MULT_SERVO_UNLOAD: release these servos (on a PWM board: pulse output off, UNVERIFIED)."""
    ids = _ids(ids)
    return frame(Command.MULT_SERVO_UNLOAD, bytes([len(ids), *ids]))


def encode_mult_servo_pos_read(ids: Iterable[int]) -> bytes:
    ids = _ids(ids)
    return frame(Command.MULT_SERVO_POS_READ, bytes([len(ids), *ids]))


# Board -> host (what the emulator sends).
def encode_battery_voltage(millivolts: int) -> bytes:
    return frame(Notification.BATTERY_VOLTAGE, _u16(millivolts, "battery mV"))


def encode_positions(pulses: Mapping[int, int]) -> bytes:
    params = bytearray([len(_ids(pulses))])
    for servo_id, pulse in pulses.items():
        params += bytes([servo_id]) + _u16(pulse, f"servo {servo_id} position")
    return frame(Notification.POSITIONS, bytes(params))


def encode_action_group_event(kind: Notification, group: int | None = None, times: int | None = None) -> bytes:
    """0x06 running (group, times), 0x07 stopped, 0x08 complete (those two with or without group, times)."""
    params = b"" if group is None else bytes([_u8(group, "action group")]) + _u16(times or 0, "times")
    return frame(kind, params)


# -- messages ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ServoMove:
    time_ms: int
    pulses: dict[int, int]  # id -> pulse us


@dataclass(frozen=True)
class ActionGroupRun:
    group: int
    times: int  # 0 = loop forever


@dataclass(frozen=True)
class ActionGroupStop:
    pass


@dataclass(frozen=True)
class ActionGroupSpeed:
    group: int
    percent: int


@dataclass(frozen=True)
class BatteryRequest:
    pass


@dataclass(frozen=True)
class ServoUnload:
    ids: tuple[int, ...]


@dataclass(frozen=True)
class PositionRequest:
    ids: tuple[int, ...]


@dataclass(frozen=True)
class BatteryVoltage:
    millivolts: int


@dataclass(frozen=True)
class Positions:
    pulses: dict[int, int]  # id -> pulse us


@dataclass(frozen=True)
class ActionGroupEvent:
    kind: Notification  # ACTION_GROUP_RUNNING / _STOPPED / _COMPLETE
    group: int | None = None
    times: int | None = None


HostMessage = Union[ServoMove, ActionGroupRun, ActionGroupStop, ActionGroupSpeed, BatteryRequest, ServoUnload,
                    PositionRequest]
BoardMessage = Union[BatteryVoltage, Positions, ActionGroupEvent]
M = TypeVar("M")


class FrameError(ValueError):
    """A frame whose parts do not fit together (the decoder drops and counts it)."""


# -- parsers -----------------------------------------------------------------------------------------
def _word(params: bytes, at: int) -> int:
    return int.from_bytes(params[at:at + 2], "little")


def _id_list(params: bytes) -> tuple[int, ...]:
    count, ids = params[0], tuple(params[1:])
    if count != len(ids) or not 1 <= count <= MAX_ID + 1 or max(ids) > MAX_ID or len(set(ids)) != count:
        raise FrameError(f"id list {list(params)} does not fit")
    return ids


def _id_pulses(count: int, data: bytes, pulse_range: tuple[int, int]) -> dict[int, int]:
    if len(data) != 3 * count or not 1 <= count <= MAX_ID + 1:
        raise FrameError(f"count {count} does not fit {len(data)} bytes of (id, pulse)")
    pulses = {}
    for k in range(0, len(data), 3):
        servo_id, pulse = data[k], _word(data, k + 1)
        if servo_id > MAX_ID or servo_id in pulses or not pulse_range[0] <= pulse <= pulse_range[1]:
            raise FrameError(f"id {servo_id} pulse {pulse} does not fit")
        pulses[servo_id] = pulse
    return pulses


def parse_host_frame(command: int, params: bytes, *, pulse_range: tuple[int, int] = (0, U16_MAX)) -> HostMessage:
    """A host -> board frame as a message; ``FrameError`` when its parts do not fit (moves with a
    pulse outside ``pulse_range`` included)."""
    if command == Command.SERVO_MOVE:
        return ServoMove(_word(params, 1), _id_pulses(params[0], params[3:], pulse_range))
    if command == Command.ACTION_GROUP_RUN:
        return ActionGroupRun(params[0], _word(params, 1))
    if command == Command.ACTION_GROUP_STOP:
        return ActionGroupStop()
    if command == Command.ACTION_GROUP_SPEED:
        return ActionGroupSpeed(params[0], _word(params, 1))
    if command == Command.GET_BATTERY_VOLTAGE:
        return BatteryRequest()
    if command == Command.MULT_SERVO_UNLOAD:
        return ServoUnload(_id_list(params))
    if command == Command.MULT_SERVO_POS_READ:
        return PositionRequest(_id_list(params))
    raise FrameError(f"unknown command 0x{command:02X}")


def parse_board_frame(command: int, params: bytes) -> BoardMessage:
    """A board -> host frame as a message; ``FrameError`` when its parts do not fit."""
    if command == Notification.BATTERY_VOLTAGE:
        return BatteryVoltage(_word(params, 0))
    if command == Notification.POSITIONS:
        return Positions(_id_pulses(params[0], params[1:], (0, U16_MAX)))
    if command in (Notification.ACTION_GROUP_RUNNING, Notification.ACTION_GROUP_STOPPED,
                   Notification.ACTION_GROUP_COMPLETE):
        if not params:
            return ActionGroupEvent(Notification(command))
        return ActionGroupEvent(Notification(command), params[0], _word(params, 1))
    raise FrameError(f"unknown notification 0x{command:02X}")


@dataclass(frozen=True)
class Grammar(Generic[M]):
    """What one direction of the link may carry: the Length bytes each command accepts (checked as
    soon as the header, length and command are in, so an impossible length never stalls the
    decoder) and the parser of the complete frame."""

    lengths: Mapping[int, frozenset[int]]
    parse: Callable[[int, bytes], M]


_COUNTS = range(1, MAX_ID + 2)
HOST_LENGTHS: dict[int, frozenset[int]] = {
    Command.SERVO_MOVE: frozenset(3 * n + 5 for n in _COUNTS),
    Command.ACTION_GROUP_RUN: frozenset({5}),
    Command.ACTION_GROUP_STOP: frozenset({2}),
    Command.ACTION_GROUP_SPEED: frozenset({5}),
    Command.GET_BATTERY_VOLTAGE: frozenset({2}),
    Command.MULT_SERVO_UNLOAD: frozenset(n + 3 for n in _COUNTS),
    Command.MULT_SERVO_POS_READ: frozenset(n + 3 for n in _COUNTS),
}
# 0x07 / 0x08 with or without (group, times): sources do not say (UNVERIFIED), both are accepted.
BOARD_LENGTHS: dict[int, frozenset[int]] = {
    Notification.ACTION_GROUP_RUNNING: frozenset({5}),
    Notification.ACTION_GROUP_STOPPED: frozenset({2, 5}),
    Notification.ACTION_GROUP_COMPLETE: frozenset({2, 5}),
    Notification.BATTERY_VOLTAGE: frozenset({4}),
    Notification.POSITIONS: frozenset(3 * n + 3 for n in _COUNTS),
}


def host_grammar(pulse_range: tuple[int, int] = (0, U16_MAX)) -> Grammar[HostMessage]:
    """Host -> board frames, moves only with pulses in ``pulse_range`` (what the board accepts)."""
    return Grammar(HOST_LENGTHS, lambda command, params: parse_host_frame(command, params, pulse_range=pulse_range))


BOARD_GRAMMAR: Grammar[BoardMessage] = Grammar(BOARD_LENGTHS, parse_board_frame)


class FrameDecoder(Generic[M]):
    """Streaming decoder: feed bytes as they arrive, get the complete frames' messages out.

    Resynchronises on 0x55 0x55; a candidate frame whose length or contents do not fit the grammar
    (garbled), or that holds the next frame's header (truncated), is dropped and counted in
    ``dropped``, and the search for a header resumes right after its header. Bytes between frames
    are counted in ``skipped_bytes``; good frames in ``frames``.
    """

    def __init__(self, grammar: Grammar[M]) -> None:
        self.grammar = grammar
        self._buffer = bytearray()
        self.frames = 0
        self.dropped = 0
        self.skipped_bytes = 0

    @property
    def pending(self) -> int:
        """Bytes held back: a frame still arriving (or a header still to be judged)."""
        return len(self._buffer)

    def feed(self, data: bytes) -> list[M]:
        buf = self._buffer
        buf += data
        messages: list[M] = []
        while True:
            start = buf.find(HEADER)
            if start < 0:
                keep = 1 if buf.endswith(HEADER[:1]) else 0  # maybe the first half of a header
                self.skipped_bytes += len(buf) - keep
                del buf[:len(buf) - keep]
                return messages
            self.skipped_bytes += start
            del buf[:start]
            if len(buf) < 4:
                return messages
            length, command = buf[2], buf[3]
            if length == HEADER[0]:  # 0x55 0x55 0x55: the header starts one byte later (0x55 is no length)
                self.skipped_bytes += 1
                del buf[:1]
                continue
            if length not in self.grammar.lengths.get(command, ()):
                self._drop()
                continue
            total = length + 2
            if len(buf) < total:
                return messages
            if looks_cut(buf, total):
                self._drop()
                continue
            try:
                message = self.grammar.parse(command, bytes(buf[4:total]))
            except FrameError:
                self._drop()
                continue
            del buf[:total]
            self.frames += 1
            messages.append(message)

    def _drop(self) -> None:
        self.dropped += 1
        del self._buffer[:len(HEADER)]

