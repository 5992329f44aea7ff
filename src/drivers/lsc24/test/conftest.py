"""Fixtures: a calibration, an emulated board on a pty, a driver on it, and waiting on conditions.

The emulator answers from a Python thread on a possibly busy 2-core machine: tests wait for what
they expect with generous deadlines and never assert on wall-clock rates, only on frame counts
and on wire-time bounds that a slow machine can only make safer.
"""

from __future__ import annotations

import time
from typing import Callable, TypeVar

import pytest

from lsc24.board import Lsc24Board
from lsc24.calibration import Calibration, ChannelCalibration
from lsc24.emulator import Lsc24Emulator, PtyBoard
from lsc24.transport import SerialTransport

DEADLINE_S = 10.0
T = TypeVar("T")


def wait_until(condition: Callable[[], T], what: str, timeout: float = DEADLINE_S) -> T:
    """Poll ``condition`` until it returns something true; fail after ``timeout`` s naming ``what``."""
    end = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > end:
            raise AssertionError(f"not within {timeout} s: {what}")
        time.sleep(0.005)


def make_calibration() -> Calibration:
    """Channels 0-3 alike (stop 1500 us, deadband 10 us, 100 us per rad/s, 1000..2000 us); channel 12
    mounted the other way with its stop point off centre."""
    same = ChannelCalibration(stop_us=1500, deadband_us=10, sign=1, us_per_rad_s=100.0, min_us=1000, max_us=2000)
    return Calibration({0: same, 1: same, 2: same, 3: same,
                        12: ChannelCalibration(stop_us=1520, deadband_us=16, sign=-1, us_per_rad_s=80.0,
                                               min_us=1100, max_us=1900)})


@pytest.fixture
def calibration() -> Calibration:
    return make_calibration()


@pytest.fixture
def emulator() -> Lsc24Emulator:
    return Lsc24Emulator(battery_mv=7400)


@pytest.fixture
def pty(emulator, tmp_path):
    with PtyBoard(emulator, tmp_path / "ttyLsc24") as board:
        yield board


def open_board(port: str, calibration: Calibration, baud: int = 9600) -> Lsc24Board:
    transport = SerialTransport(port, baud)
    transport.open()
    board = Lsc24Board(transport, calibration)
    board.start()
    return board
