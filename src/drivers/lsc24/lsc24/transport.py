"""Links to an LSC-24 behind one small interface: a UART (USB-serial bridge, the emulator's pty) or
USB HID (boards that enumerate as 0483:5750 and carry each frame in one 64-byte report).

The board driver sees only a ``Transport``: it writes whole frames, reads whatever arrived, and
asks the link how long a frame takes on it (``wire_time``), which is what paces its sending.
"""

from __future__ import annotations

import math
import termios
from typing import Any, Callable, Protocol

import serial

from lsc24.errors import LinkLostError, PortError
from lsc24.protocol import DEFAULT_BAUD, HEADER, frame_wire_time

DEFAULT_SERIAL_PORT = "/dev/ttyUSB0"
WRITE_TIMEOUT_S = 1.0  # a UART write that takes longer means the link is stuck
READ_CHUNK = 4096

HID_VENDOR_ID = 0x0483
HID_PRODUCT_ID = 0x5750
HID_REPORT_ID = 0
HID_REPORT_SIZE = 64  # bytes of one report, after the report-ID byte
# One report per USB poll; 1 ms is the full-speed interrupt-endpoint minimum (the board's actual
# polling interval is UNVERIFIED). Over HID the UART wire time is no longer the limit.
HID_REPORT_INTERVAL_S = 0.001
MAX_REPORTS_PER_READ = 64

# What pyserial lets through when the device goes away (termios.error is no OSError).
_IO_ERRORS = (serial.SerialException, OSError, termios.error)


class Transport(Protocol):
    """A frame pipe to one LSC-24 board."""

    name: str
    max_frame_bytes: int | None  # the largest frame one write can carry (None: no limit)

    def open(self) -> None: ...
    def close(self) -> None: ...
    def write(self, frame: bytes) -> None:
        """Send one whole frame."""
    def read(self) -> bytes:
        """Whatever the board sent since the last read (never blocks)."""
    def wire_time(self, n_bytes: int) -> float:
        """Seconds the link needs to carry ``n_bytes`` of frames."""


class SerialTransport:
    """pyserial's ``serial_for_url`` on a device path or URL, 8N1 at ``baud`` (the board's 9600 by default).

    Errors become ``PortError`` (open) and ``LinkLostError`` (use).
    """

    max_frame_bytes = None

    def __init__(self, port: str, baud: int = DEFAULT_BAUD) -> None:
        if baud <= 0:
            raise ValueError(f"baud: expected a positive rate like {DEFAULT_BAUD}, got {baud}")
        self.name = port
        self.baud = baud
        self._serial: serial.SerialBase | None = None

    def open(self) -> None:
        self.close()
        try:
            self._serial = serial.serial_for_url(self.name, baudrate=self.baud, bytesize=serial.EIGHTBITS,
                                                 parity=serial.PARITY_NONE, stopbits=serial.STOPBITS_ONE,
                                                 timeout=0, write_timeout=WRITE_TIMEOUT_S)
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

    def write(self, frame: bytes) -> None:
        try:
            written = self._port().write(frame)
        except _IO_ERRORS as err:
            raise LinkLostError(self.name, f"write failed: {err}") from err
        if written != len(frame):
            raise LinkLostError(self.name, f"wrote {written} of {len(frame)} bytes")

    def read(self) -> bytes:
        try:
            return bytes(self._port().read(READ_CHUNK))
        except _IO_ERRORS as err:
            raise LinkLostError(self.name, f"read failed: {err}") from err

    def wire_time(self, n_bytes: int) -> float:
        return frame_wire_time(n_bytes, self.baud)

    def _port(self) -> serial.SerialBase:
        if self._serial is None:
            raise LinkLostError(self.name, "port is not open")
        return self._serial


# -- HID ---------------------------------------------------------------------------------------------
def frame_to_report(frame: bytes) -> bytes:
    """The bytes handed to ``hid.device.write``: report ID 0, then the frame zero-padded to 64 bytes."""
    if len(frame) > HID_REPORT_SIZE:
        raise ValueError(f"a {len(frame)}-byte frame does not fit one {HID_REPORT_SIZE}-byte HID report")
    return bytes([HID_REPORT_ID]) + bytes(frame).ljust(HID_REPORT_SIZE, b"\0")


def report_to_frame(report: bytes) -> bytes:
    """The frame in a report read from the board: a leading report ID 0 is stripped (hidapi leaves it
    in on some platforms), the zero padding is cut by the frame's length byte; a report that does
    not start with a frame header gives nothing."""
    data = bytes(report)
    if data[:1] == bytes([HID_REPORT_ID]):
        data = data[1:]
    if len(data) < 3 or not data.startswith(HEADER):
        return b""
    return data[:data[2] + 2]


def _hid_module(name: str) -> Any:
    try:
        import hid
    except ImportError as err:
        raise PortError(name, "the Python package hidapi (import name hid) is not installed: "
                              "pip install hidapi") from err
    return hid


def hid_device_paths() -> list[bytes]:
    """hidraw paths of the boards with the LSC VID/PID that enumerate now ([] without hidapi)."""
    try:
        import hid
    except ImportError:
        return []
    return [info["path"] for info in hid.enumerate(HID_VENDOR_ID, HID_PRODUCT_ID)]


class HidTransport:
    """A board on USB HID through hidapi (``hid.device``), opened by path or by VID/PID.

    ``device_factory`` makes the ``hid.device``-like object (tests pass a fake); by default hidapi
    is imported when the transport opens, so the package imports without it.
    """

    max_frame_bytes = HID_REPORT_SIZE

    def __init__(self, path: bytes | None = None, *, device_factory: Callable[[], Any] | None = None) -> None:
        self.path = path
        self.name = f"hid:{path.decode(errors='replace')}" if path else f"hid:{HID_VENDOR_ID:04x}:{HID_PRODUCT_ID:04x}"
        self._factory = device_factory
        self._device: Any = None

    def open(self) -> None:
        self.close()
        device = (self._factory or _hid_module(self.name).device)()
        try:
            if self.path:
                device.open_path(self.path)
            else:
                device.open(HID_VENDOR_ID, HID_PRODUCT_ID)
            device.set_nonblocking(1)
        except (OSError, ValueError) as err:
            raise PortError(self.name, f"{err} (is a board with USB id "
                                       f"{HID_VENDOR_ID:04x}:{HID_PRODUCT_ID:04x} plugged in?)") from err
        self._device = device

    def close(self) -> None:
        if self._device is not None:
            try:
                self._device.close()
            except (OSError, ValueError):
                pass  # the device is already gone
            self._device = None

    def write(self, frame: bytes) -> None:
        report = frame_to_report(frame)
        try:
            written = self._open_device().write(report)
        except (OSError, ValueError) as err:
            raise LinkLostError(self.name, f"HID write failed: {err}") from err
        if written < 0:
            raise LinkLostError(self.name, "HID write failed (device gone?)")

    def read(self) -> bytes:
        device = self._open_device()
        data = bytearray()
        try:
            for _ in range(MAX_REPORTS_PER_READ):
                report = device.read(HID_REPORT_SIZE + 1)
                if not report:
                    break
                data += report_to_frame(bytes(report))
        except (OSError, ValueError) as err:
            raise LinkLostError(self.name, f"HID read failed: {err}") from err
        return bytes(data)

    def wire_time(self, n_bytes: int) -> float:
        return HID_REPORT_INTERVAL_S * max(1, math.ceil(n_bytes / HID_REPORT_SIZE))

    def _open_device(self) -> Any:
        if self._device is None:
            raise LinkLostError(self.name, "device is not open")
        return self._device


def open_transport(spec: str, *, baud: int = DEFAULT_BAUD, port: str = DEFAULT_SERIAL_PORT) -> Transport:
    """Open the link a config names: ``serial:<port or URL>``, ``hid`` (first board by VID/PID),
    ``hid:<hidraw path>``, or ``auto`` / ``auto:<port>`` (a HID board if one enumerates, else the
    serial port, ``port`` by default)."""
    kind, _, rest = spec.partition(":")
    transport: Transport
    if kind == "serial" and rest:
        transport = SerialTransport(rest, baud)
    elif kind == "hid":
        transport = HidTransport(rest.encode() if rest else None)
    elif kind == "auto":
        paths = hid_device_paths()
        transport = HidTransport(paths[0]) if paths else SerialTransport(rest or port, baud)
    else:
        raise ValueError(f"LSC-24 link {spec!r}: expected serial:<port> (like serial:/dev/ttyUSB0), hid, "
                         f"hid:<path> or auto[:<port>]")
    transport.open()
    return transport
