"""Transports: the HID report framing as a pure function pair, HidTransport's report plumbing
against a fake ``hid.device``, the choice of link by config, and serial errors.

No real HID board exists on the test machine: the fake below only stands in for hidapi's
``hid.device`` (open / open_path / set_nonblocking / write / read / close) so the report framing
around the very frames the serial path carries is tested; the USB side itself is not.
"""

from __future__ import annotations

import pytest

from lsc24 import transport as transport_module
from lsc24.errors import LinkLostError, PortError
from lsc24.protocol import (
    BOARD_GRAMMAR, BatteryVoltage, FrameDecoder, encode_battery_voltage, encode_get_battery_voltage,
    encode_servo_move,
)
from lsc24.transport import (
    HID_PRODUCT_ID, HID_REPORT_SIZE, HID_VENDOR_ID, HidTransport, SerialTransport, frame_to_report, open_transport,
    report_to_frame,
)

VENDOR_MOVE = bytes.fromhex("55 55 08 03 01 E8 03 01 D0 07")


def test_frame_to_report_is_report_id_0_then_the_frame_zero_padded():
    report = frame_to_report(VENDOR_MOVE)
    assert len(report) == 1 + HID_REPORT_SIZE
    assert report[0] == 0 and report[1:11] == VENDOR_MOVE and report[11:] == bytes(HID_REPORT_SIZE - 10)
    with pytest.raises(ValueError, match="does not fit one 64-byte HID report"):
        frame_to_report(encode_servo_move({i: 1500 for i in range(20)}, 0))  # 67 bytes
    assert len(frame_to_report(encode_servo_move({i: 1500 for i in range(19)}, 0))) == 65


@pytest.mark.parametrize("frame", [VENDOR_MOVE, encode_battery_voltage(7400), encode_get_battery_voltage(),
                                   encode_battery_voltage(0)])  # trailing zero bytes of the frame are kept
def test_report_framing_round_trips_with_and_without_the_report_id(frame):
    report = frame_to_report(frame)
    assert report_to_frame(report) == frame  # the report ID as written
    assert report_to_frame(report[1:]) == frame  # hidapi without the report ID


def test_reports_without_a_frame_give_nothing():
    assert report_to_frame(b"") == report_to_frame(bytes(64)) == report_to_frame(b"\x00\x13\x55\x55") == b""


class FakeHidDevice:
    """Shaped like ``hid.device``: records what is written, serves queued reports, can be unplugged."""

    def __init__(self, reports: list[bytes] | None = None) -> None:
        self.opened: tuple | None = None
        self.nonblocking = 0
        self.written: list[bytes] = []
        self.reports = list(reports or [])
        self.unplugged = False
        self.closed = False

    def open(self, vendor_id: int = 0, product_id: int = 0) -> None:
        if self.unplugged:
            raise OSError("open failed")
        self.opened = ("vid/pid", vendor_id, product_id)

    def open_path(self, path: bytes) -> None:
        self.opened = ("path", path)

    def set_nonblocking(self, value: int) -> int:
        self.nonblocking = value
        return 0

    def write(self, buff: bytes) -> int:
        if self.unplugged:
            return -1
        self.written.append(bytes(buff))
        return len(buff)

    def read(self, max_length: int, timeout_ms: int = 0) -> list[int]:
        if self.unplugged:
            raise OSError("read error")
        return list(self.reports.pop(0)[:max_length]) if self.reports else []

    def close(self) -> None:
        self.closed = True


def test_hid_transport_sends_one_report_per_frame_and_strips_report_ids():
    without_id = frame_to_report(encode_battery_voltage(7400))[1:]
    with_id = frame_to_report(encode_battery_voltage(6000))
    device = FakeHidDevice([without_id, with_id])
    transport = HidTransport(device_factory=lambda: device)
    transport.open()
    assert device.opened == ("vid/pid", HID_VENDOR_ID, HID_PRODUCT_ID) and device.nonblocking == 1
    transport.write(VENDOR_MOVE)
    assert device.written == [frame_to_report(VENDOR_MOVE)]
    decoder = FrameDecoder(BOARD_GRAMMAR)
    assert decoder.feed(transport.read()) == [BatteryVoltage(7400), BatteryVoltage(6000)]
    assert transport.read() == b""
    assert transport.wire_time(10) == pytest.approx(0.001)
    transport.close()
    assert device.closed


def test_hid_transport_by_path_and_lost_device():
    device = FakeHidDevice()
    transport = HidTransport(b"/dev/hidraw3", device_factory=lambda: device)
    assert transport.name == "hid:/dev/hidraw3"
    transport.open()
    assert device.opened == ("path", b"/dev/hidraw3")
    device.unplugged = True
    with pytest.raises(LinkLostError, match="hid:/dev/hidraw3.*lost: HID write failed"):
        transport.write(VENDOR_MOVE)
    with pytest.raises(LinkLostError, match="lost: HID read failed: read error"):
        transport.read()
    with pytest.raises(PortError, match="cannot open the LSC-24 link 'hid:0483:5750': open failed"):
        HidTransport(device_factory=lambda: device).open()


def test_open_transport_chooses_by_config(monkeypatch, tmp_path):
    opened = []
    monkeypatch.setattr(SerialTransport, "open", lambda self: opened.append(self.name))
    monkeypatch.setattr(HidTransport, "open", lambda self: opened.append(self.name))
    serial_link = open_transport("serial:/dev/ttyUSB1", baud=115200)
    assert isinstance(serial_link, SerialTransport) and serial_link.baud == 115200
    assert isinstance(open_transport("hid"), HidTransport)
    assert open_transport("hid:/dev/hidraw0").path == b"/dev/hidraw0"
    monkeypatch.setattr(transport_module, "hid_device_paths", lambda: [])
    assert open_transport("auto").name == "/dev/ttyUSB0"
    assert open_transport("auto:/dev/ttyUSB1").name == "/dev/ttyUSB1"
    monkeypatch.setattr(transport_module, "hid_device_paths", lambda: [b"/dev/hidraw2"])
    assert open_transport("auto:/dev/ttyUSB1").name == "hid:/dev/hidraw2"
    assert opened == ["/dev/ttyUSB1", "hid:0483:5750", "hid:/dev/hidraw0", "/dev/ttyUSB0", "/dev/ttyUSB1",
                      "hid:/dev/hidraw2"]
    for bad in ("/dev/ttyUSB0", "serial:", "usb"):
        with pytest.raises(ValueError, match="expected serial:<port>"):
            open_transport(bad)


def test_hid_enumeration_through_hidapi():
    """hidapi is installed here: enumeration runs and, with no board plugged in, finds none."""
    pytest.importorskip("hid")
    assert transport_module.hid_device_paths() == []


def test_serial_errors_name_the_port(tmp_path):
    with pytest.raises(PortError, match="cannot open the LSC-24 link '/dev/ttyNOPE'"):
        open_transport("serial:/dev/ttyNOPE")
    with pytest.raises(LinkLostError, match="not open"):
        SerialTransport(str(tmp_path / "x")).write(VENDOR_MOVE)
    with pytest.raises(ValueError, match="baud"):
        SerialTransport("/dev/ttyUSB0", 0)
