"""Driver <-> emulator through the pseudo-terminal, opened by path like /dev/ttyUSB0: moves with the
right pulses, battery and position replies, action groups, newest-command-wins on a slow link,
unplugging mid-run and a noisy link; plus the pacing rules against a fake transport."""

from __future__ import annotations

import time

import pytest

from lsc24.board import Lsc24Board
from lsc24.emulator import Lsc24Emulator, PtyBoard
from lsc24.errors import BoardTimeoutError, LinkLostError
from lsc24.protocol import (
    ActionGroupEvent, Notification, ServoMove, ServoUnload, encode_servo_move, frame_wire_time, servo_move_size,
)

from conftest import DEADLINE_S, open_board, wait_until


@pytest.fixture
def board(pty, calibration):
    board = open_board(str(pty.link), calibration)
    yield board
    board.close()


def test_moves_arrive_with_the_right_pulses(board, emulator):
    board.move({0: 1200, 3: 1800, 12: 1150}, time_ms=0)
    wait_until(lambda: emulator.last_move is not None, "the move at the emulator")
    assert emulator.last_move == ServoMove(0, {0: 1200, 3: 1800, 12: 1150})
    assert emulator.pulses() == {0: 1200.0, 3: 1800.0, 12: 1150.0}
    sent = board.set_speeds({0: 1.0, 12: 1.0}, time_ms=20)
    assert sent == {0: 1610, 12: 1424}
    wait_until(lambda: emulator.target(12) == 1424, "the speed command at the emulator")
    assert emulator.last_move == ServoMove(20, {0: 1610, 12: 1424})


def test_moves_outside_the_calibration_are_refused_before_the_wire(board, emulator):
    with pytest.raises(ValueError, match=r"servo 12 pulse: expected 1100\.\.1900 us, got 2000"):
        board.move({12: 2000})
    with pytest.raises(ValueError, match="channel 7 is not calibrated"):
        board.move({7: 1500})
    assert board.counters.sent == 0


def test_battery_positions_and_action_groups(board, emulator):
    assert board.battery_mv(timeout=DEADLINE_S) == 7400
    emulator.set_battery_mv(6200)  # a low battery
    assert board.battery_mv(timeout=DEADLINE_S) == 6200
    board.move({1: 1700})
    wait_until(lambda: emulator.target(1) == 1700, "the move")
    assert board.read_positions([1, 2], timeout=DEADLINE_S) == {1: 1700, 2: 0}
    board.action_group_run(4, times=2)
    wait_until(lambda: board.action_group is not None, "the running notification")
    assert board.action_group == ActionGroupEvent(Notification.ACTION_GROUP_RUNNING, 4, 2)
    board.action_group_stop()
    wait_until(lambda: board.action_group.kind is Notification.ACTION_GROUP_STOPPED, "the stopped notification")
    board.action_group_speed(0xFF, 50)
    wait_until(lambda: emulator.action_group_speeds == {0xFF: 50}, "the speed setting")
    assert board.counters.dropped == 0 and board.counters.received == 5


def test_stop_all_sends_stop_pulses_then_releases(board, emulator):
    board.move({0: 1900, 12: 1200})
    board.stop_all([0, 12], timeout=DEADLINE_S)
    wait_until(lambda: emulator.received.get(ServoUnload), "the unload")
    assert emulator.last_move == ServoMove(0, {0: 1500, 12: 1520})  # the calibrated stop points
    assert emulator.pulses() == {}  # released
    board.move({1: 1600})
    board.stop_all(timeout=DEADLINE_S)  # every calibrated channel
    wait_until(lambda: emulator.received.get(ServoUnload) == 2, "the second unload")
    assert emulator.last_move.pulses == {0: 1500, 1: 1500, 2: 1500, 3: 1500, 12: 1520}


def test_newest_command_wins_on_a_slow_link(tmp_path, calibration):
    """The emulated board's UART is 4x slower than the driver's link: the driver still writes no
    faster than its own wire time, supersedes what it cannot send, and the board ends up at the
    newest command."""
    emulator = Lsc24Emulator()
    with PtyBoard(emulator, tmp_path / "tty", baud=2400) as pty:
        board = open_board(str(pty.link), calibration, baud=9600)
        try:
            start = time.monotonic()
            for k in range(300):
                board.move({0: 1000 + 3 * k, 1: 2000 - 3 * k})
            board.flush(timeout=DEADLINE_S)
            elapsed = time.monotonic() - start
            counters = board.counters
            wait_until(lambda: emulator.target(0) == 1000 + 3 * 299, "the newest command at the board")
        finally:
            board.close()
    assert emulator.target(1) == 2000 - 3 * 299
    assert counters.superseded > 0 and counters.sent + counters.superseded == 300
    wire = frame_wire_time(servo_move_size(2), 9600)
    assert counters.sent <= 1 + elapsed / wire * 1.01  # never faster than one frame per wire time
    assert emulator.frames == counters.sent  # every frame written arrived, none lost or merged


def test_unplug_mid_run_raises_link_lost(board, pty):
    board.move({0: 1600})
    wait_until(lambda: board.counters.sent == 1, "the first frame written")
    pty.unplug()

    def next_move_fails() -> bool:
        try:
            board.move({0: 1601})
        except LinkLostError as err:
            assert "LSC-24 link" in str(err) and "lost" in str(err) and "check the USB cable" in str(err)
            return True
        return False

    wait_until(next_move_fails, "LinkLostError after the unplug")
    with pytest.raises(LinkLostError):
        board.battery_mv(timeout=DEADLINE_S)


def test_noisy_link_frames_are_dropped_and_counted(board, emulator):
    emulator.garble(1.0)
    for k in range(15):
        board.move({2: 1100 + 20 * k}, time_ms=0)
        board.flush(timeout=DEADLINE_S)
    wait_until(lambda: emulator.garbled == 15, "fifteen frames garbled")
    emulator.clear_faults()
    emulator.truncate(1.0)
    for k in range(15):
        board.move({3: 1100 + 20 * k}, time_ms=0)
        board.flush(timeout=DEADLINE_S)
    wait_until(lambda: emulator.truncated == 15, "fifteen frames truncated")
    emulator.clear_faults()
    board.move({2: 1234, 3: 1432})
    wait_until(lambda: emulator.target(2) == 1234, "the move after the noise")
    assert emulator.target(3) == 1432 and emulator.dropped > 0 and board.counters.sent == 31
    assert all(500 <= p <= 2500 for p in emulator.pulses().values())


class FakeTransport:
    """Records writes with the fake clock's time; never answers."""

    name = "fake"
    max_frame_bytes: int | None = None

    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.closed = False

    def open(self) -> None: ...
    def close(self) -> None:
        self.closed = True
    def write(self, frame: bytes) -> None:
        self.writes.append(frame)
    def read(self) -> bytes:
        return b""
    def wire_time(self, n_bytes: int) -> float:
        return frame_wire_time(n_bytes, 9600)


def test_no_reply_is_a_timeout_and_unstarted_boards_refuse(calibration):
    board = Lsc24Board(FakeTransport(), calibration)
    with pytest.raises(RuntimeError, match="not started"):
        board.move({0: 1500})
    with board:
        with pytest.raises(BoardTimeoutError, match="no battery-voltage reply within 0.2 s"):
            board.battery_mv(timeout=0.2)
    assert board.transport.closed


def test_small_frames_split_a_large_move(calibration):
    """Over HID (64-byte reports) a move of more than 19 channels goes out as several frames."""
    from lsc24.calibration import Calibration

    many = Calibration({c: calibration.channel(0) for c in range(24)})
    transport = FakeTransport()
    transport.max_frame_bytes = 64
    with Lsc24Board(transport, many) as board:
        board.move({c: 1500 + c for c in range(24)})
        board.flush(timeout=DEADLINE_S)
    assert transport.writes == [encode_servo_move({c: 1500 + c for c in range(19)}, 0),
                                encode_servo_move({c: 1500 + c for c in range(19, 24)}, 0)]


def test_a_battery_request_without_waiting_lands_in_last_battery(pty, emulator, calibration):
    board = open_board(str(pty.link), calibration)
    try:
        assert board.last_battery == (0, None)
        emulator.set_battery_mv(6900)
        board.request_battery()
        assert wait_until(lambda: board.last_battery[0] == 1, "the battery reply") and board.last_battery[1] == 6900
    finally:
        board.close()
