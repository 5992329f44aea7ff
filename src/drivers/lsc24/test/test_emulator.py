"""The emulator at byte level with a fake clock (ramps, replies, faults, channel speeds), and on its
pty: host bytes consumed no faster than the UART at the configured baud rate would carry them."""

from __future__ import annotations

import time

import pytest

from lsc24.emulator import Lsc24Emulator, PtyBoard
from lsc24.errors import Lsc24Error
from lsc24.protocol import (
    BOARD_GRAMMAR, ActionGroupEvent, BatteryVoltage, FrameDecoder, Notification, Positions, ServoMove,
    encode_action_group_run, encode_action_group_speed, encode_action_group_stop, encode_get_battery_voltage,
    encode_mult_servo_pos_read, encode_mult_servo_unload, encode_servo_move, frame_wire_time,
)
from lsc24.transport import SerialTransport

from conftest import wait_until


class Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def board(clock) -> Lsc24Emulator:
    return Lsc24Emulator(battery_mv=7400, clock=clock)


def replies(board: Lsc24Emulator, data: bytes) -> list:
    return FrameDecoder(BOARD_GRAMMAR).feed(board.receive(data))


def test_channels_output_nothing_until_moved_then_ramp_linearly(board, clock):
    assert board.pulse(1) is None and board.pulses() == {}
    board.receive(encode_servo_move({1: 2000}, 1000))
    assert board.pulse(1) == 2000  # no earlier pulse to ramp from
    board.receive(encode_servo_move({1: 1000, 2: 1500}, 1000))
    clock.t = 0.25
    assert board.pulse(1) == pytest.approx(1750) and board.target(1) == 1000 and board.pulse(2) == 1500
    board.receive(encode_servo_move({1: 1500}, 500))  # from where the ramp is now
    clock.t = 0.5
    assert board.pulse(1) == pytest.approx(1625)
    clock.t = 2.0
    assert board.pulses() == {1: 1500.0, 2: 1500.0}
    assert board.last_move == ServoMove(500, {1: 1500}) and board.received[ServoMove] == 3


def test_byte_by_byte_input_and_unload(board):
    for byte in encode_servo_move({3: 1700, 4: 1300}, 0):
        board.receive(bytes([byte]))
    assert board.pulses() == {3: 1700.0, 4: 1300.0}
    board.receive(encode_mult_servo_unload([3]))
    assert board.pulses() == {4: 1300.0} and board.target(3) is None


def test_replies_battery_positions_and_action_groups(board):
    assert replies(board, encode_get_battery_voltage()) == [BatteryVoltage(7400)]
    board.set_battery_mv(6300)
    assert replies(board, encode_get_battery_voltage()) == [BatteryVoltage(6300)]
    board.receive(encode_servo_move({5: 1234}, 0))
    assert replies(board, encode_mult_servo_pos_read([5, 6])) == [Positions({5: 1234, 6: 0})]
    assert replies(board, encode_action_group_run(2, 0)) == [ActionGroupEvent(Notification.ACTION_GROUP_RUNNING, 2, 0)]
    assert replies(board, encode_action_group_stop()) == [ActionGroupEvent(Notification.ACTION_GROUP_STOPPED)]
    assert board.receive(encode_action_group_speed(0xFF, 80)) == b"" and board.action_group_speeds == {0xFF: 80}


def test_moves_outside_the_board_pulse_range_are_dropped(board):
    board.receive(encode_servo_move({1: 3000}, 0, limits=(0, 5000)))
    assert board.pulse(1) is None and board.dropped == 1


def test_channel_speeds_follow_the_pulses_through_the_calibration(board, clock, calibration):
    board.receive(encode_servo_move({0: 1610, 12: 1520 - 16 - 160, 3: 1505}, 0))
    speeds = board.channel_speeds(calibration)
    assert speeds == {0: pytest.approx(1.0), 1: 0.0, 2: 0.0, 3: 0.0, 12: pytest.approx(2.0)}
    board.receive(encode_servo_move({0: 1390}, 1000))  # ramp through the deadband to -1 rad/s
    clock.t = 0.5
    assert board.channel_speeds(calibration)[0] == 0.0
    clock.t = 1.0
    assert board.channel_speeds(calibration)[0] == pytest.approx(-1.0)


def test_garbled_frames_are_dropped_and_counted_never_out_of_range(board):
    board.garble(1.0)
    for k in range(40):
        board.receive(encode_servo_move({1: 1000 + 10 * k}, 100))
    assert board.garbled == 40 and board.dropped > 0
    assert all(500 <= p <= 2500 for p in board.pulses().values())  # what got through still fits the board
    board.clear_faults()
    board.receive(encode_servo_move({1: 1900}, 0) + encode_servo_move({1: 1901}, 0))
    assert board.target(1) == 1901


def test_truncated_frames_are_dropped_and_counted(board):
    board.truncate(1.0)
    for k in range(20):
        board.receive(encode_servo_move({2: 1100 + k}, 0))
    board.clear_faults()
    board.receive(encode_servo_move({2: 1800}, 0))
    assert board.truncated == 20 and board.dropped > 0
    assert board.received.get(ServoMove, 0) == 1 and board.target(2) == 1800  # no cut move was acted on


def test_bad_fault_settings():
    with pytest.raises(ValueError, match="probability"):
        Lsc24Emulator().garble(1.5)
    with pytest.raises(ValueError, match="baud"):
        PtyBoard(Lsc24Emulator(), baud=0)


def test_pty_consumes_no_faster_than_the_baud_rate(tmp_path):
    """Five 10-byte frames at 2400 baud take at least 50 x 10 / 2400 s = 0.208 s to come through."""
    emulator = Lsc24Emulator()
    with PtyBoard(emulator, tmp_path / "tty", baud=2400) as pty:
        host = SerialTransport(str(pty.link))
        host.open()
        frames = [encode_servo_move({1: 1500 + k}, 0) for k in range(5)]
        start = time.monotonic()
        host.write(b"".join(frames))
        wait_until(lambda: emulator.frames == 5, "five frames through the emulated UART")
        elapsed = time.monotonic() - start
        host.close()
    assert elapsed >= frame_wire_time(50, 2400) * 0.99
    assert emulator.target(1) == 1504


def test_pty_answers_and_link_rules(tmp_path):
    emulator = Lsc24Emulator(battery_mv=8100)
    with PtyBoard(emulator, tmp_path / "tty") as pty:
        host = SerialTransport(pty.path)
        host.open()
        host.write(encode_get_battery_voltage())
        decoder = FrameDecoder(BOARD_GRAMMAR)
        got: list = []
        wait_until(lambda: got.extend(decoder.feed(host.read())) or got, "a battery reply")
        assert got == [BatteryVoltage(8100)]
        host.close()
        assert (tmp_path / "tty").is_symlink()
    assert not (tmp_path / "tty").exists()  # the link goes with the port
    (tmp_path / "file").write_text("")
    with pytest.raises(Lsc24Error, match="is a file, not a symlink"):
        PtyBoard(emulator, tmp_path / "file").open()
