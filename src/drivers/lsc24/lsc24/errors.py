"""Errors of the LSC-24 driver: each message says what went wrong and what to do about it."""

from __future__ import annotations

from pathlib import Path

from sim2real_common.errors import HardwareError


class Lsc24Error(HardwareError):
    """Base class of the LSC-24 driver's errors."""


class PortError(Lsc24Error):
    """The link cannot be opened (wrong path, no permission, no HID board, hidapi missing)."""

    def __init__(self, port: str, reason: str) -> None:
        super().__init__(f"cannot open the LSC-24 link {port!r}: {reason}; check the path (`ls /dev/ttyUSB*`) or, "
                         f"for a HID board, that `lsusb` lists 0483:5750 and you may use its /dev/hidraw*")
        self.port = port


class LinkLostError(Lsc24Error):
    """The link failed while in use (USB cable pulled, board reset, device gone, emulator closed)."""

    def __init__(self, port: str, reason: str) -> None:
        super().__init__(f"LSC-24 link {port!r} lost: {reason}; check the USB cable and the board's power, "
                         f"then reconnect")
        self.port = port
        self.reason = reason


class BoardTimeoutError(Lsc24Error):
    """The board did not answer (or the link did not carry the frames) in time."""

    def __init__(self, port: str, what: str, timeout_s: float) -> None:
        super().__init__(f"LSC-24 on {port!r}: {what} within {timeout_s:g} s; check the board's power and that "
                         f"the link runs at the board's baud rate (9600)")
        self.port = port


class CalibrationError(Lsc24Error, ValueError):
    """A calibration file is missing or malformed: names the file, the channel and the field."""

    def __init__(self, path: Path | str, channel: int | None, field: str, expected: str, found: str) -> None:
        where = f"channel {channel}: " if channel is not None else ""
        super().__init__(f"{path}: {where}{field}: expected {expected}, found {found}")
        self.path = Path(path)
        self.channel = channel
        self.field = field


class StopPointError(Lsc24Error):
    """The stop-point search cannot bracket the stop pulse (servo not turning, answers inconsistent)."""
