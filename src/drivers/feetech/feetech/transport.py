"""Byte transports behind one small interface, and the vendor SDK's port handler on top of it.

The driver's byte-level code (``scservo_sdk`` packet handling, through LeRobot) sees only a
``Transport``; ``SerialTransport`` opens anything pyserial's ``serial_for_url`` opens: a USB
adapter (/dev/ttyUSB0, /dev/ttyACM0), the emulator's pseudo-terminal (/dev/pts/N or its link)
or a remote bus (``socket://host:port``, ``rfc2217://host:port``).
"""

from __future__ import annotations

import os
import termios
import time
from typing import Protocol

import scservo_sdk as scs
import serial

from feetech.errors import BusLostError, PortError

POLL_INTERVAL_S = 0.0002
DEFAULT_TIMEOUT_MS = 50.0  # LeRobot's reply timeout on top of the transmission time
# What pyserial lets through when the device goes away (termios.error is no OSError).
_IO_ERRORS = (serial.SerialException, OSError, termios.error)


class Transport(Protocol):
    """A byte pipe to a servo bus."""

    name: str

    def open(self, baudrate: int) -> None: ...
    def close(self) -> None: ...
    def write(self, data: bytes) -> int: ...
    def read(self, size: int) -> bytes:
        """Whatever is available now, up to ``size`` bytes (never blocks)."""
    def discard_input(self) -> None: ...


def check_port(name: str) -> None:
    """A device path (not a ``socket://``-style URL) must exist: a node refuses to start on a
    misspelled port instead of retrying it forever. (A port that vanishes later is retried.)"""
    if "://" not in name and not os.path.exists(name):
        raise PortError(name, "no such device")


class SerialTransport:
    """pyserial on a device path or URL. Errors become ``PortError`` (open) / ``BusLostError`` (use)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._serial: serial.SerialBase | None = None

    def open(self, baudrate: int) -> None:
        self.close()
        try:
            self._serial = serial.serial_for_url(self.name, baudrate=baudrate, bytesize=serial.EIGHTBITS, timeout=0)
            self._serial.reset_input_buffer()
        except (*_IO_ERRORS, ValueError) as err:
            self._serial = None
            raise PortError(self.name, str(err)) from err

    def close(self) -> None:
        if self._serial is not None:
            try:
                self._serial.close()
            except _IO_ERRORS:
                pass  # the device is already gone
            self._serial = None

    def write(self, data: bytes) -> int:
        try:
            return self._port().write(data)
        except _IO_ERRORS as err:
            raise BusLostError(self.name, str(err)) from err

    def read(self, size: int) -> bytes:
        try:
            return self._port().read(size)
        except _IO_ERRORS as err:
            raise BusLostError(self.name, str(err)) from err

    def discard_input(self) -> None:
        try:
            self._port().reset_input_buffer()
        except _IO_ERRORS as err:
            raise BusLostError(self.name, str(err)) from err

    def _port(self) -> serial.SerialBase:
        if self._serial is None:
            raise BusLostError(self.name, "port is not open")
        return self._serial


class TransportPortHandler(scs.PortHandler):
    """``scservo_sdk.PortHandler`` whose bytes go through a ``Transport``.

    Three deliberate differences from the SDK's own handler:
    - the packet timeout is LeRobot's (bytes x byte time + 3 byte times + 50 ms, see
      ``lerobot.motors.feetech.patch_setPacketTimeout``), with the 50 ms adjustable (``timeout_ms``:
      slow USB adapters, or an emulator on a busy machine);
    - ``clearPort`` (called before every instruction) also discards unread input, so the leftovers
      of a failed transaction (a corrupt or late reply) cannot pass for the answer to the next one;
    - an empty poll sleeps ``POLL_INTERVAL_S`` instead of spinning (at 1 Mbaud a status packet
      takes 60 us on the wire).
    """

    def __init__(self, transport: Transport, timeout_ms: float = DEFAULT_TIMEOUT_MS) -> None:
        super().__init__(transport.name)
        self.transport = transport
        self.timeout_ms = timeout_ms

    def setupPort(self, cflag_baud: int) -> bool:  # noqa: N802 (SDK names)
        self.transport.open(self.baudrate)
        self.is_open = True
        self.tx_time_per_byte = (1000.0 / self.baudrate) * 10.0
        return True

    def closePort(self) -> None:  # noqa: N802
        self.transport.close()
        self.is_open = False

    def clearPort(self) -> None:  # noqa: N802
        self.transport.discard_input()

    def readPort(self, length: int) -> bytes:  # noqa: N802
        data = self.transport.read(length)
        if not data:  # the SDK polls in a tight loop: yield the CPU (and the GIL) between polls
            time.sleep(POLL_INTERVAL_S)
        return data

    def writePort(self, packet: list[int]) -> int:  # noqa: N802
        return self.transport.write(bytes(packet))

    def setPacketTimeout(self, packet_length: int) -> None:  # noqa: N802
        self.packet_start_time = self.getCurrentTime()
        self.packet_timeout = self.tx_time_per_byte * (packet_length + 3.0) + self.timeout_ms
