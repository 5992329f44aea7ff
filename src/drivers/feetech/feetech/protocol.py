"""Feetech STS/SMS serial-bus protocol as data: packet framing, instructions, error bits, the
STS3215 control table and sign-magnitude encodings (docs: hardware-protocols.md section 1).

Independent of the vendor SDK on purpose: the emulator speaks the protocol from this module
while the driver speaks it through ``scservo_sdk`` (via LeRobot), so a round trip through the
pty checks one implementation against the other.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum, IntFlag

HEADER = b"\xff\xff"
BROADCAST_ID = 0xFE
MAX_PACKET_LEN = 250
MODEL_STS3215 = 777
RESOLUTION = 4096  # encoder steps per turn


class Instruction(IntEnum):
    PING = 0x01
    READ = 0x02
    WRITE = 0x03
    REG_WRITE = 0x04
    ACTION = 0x05
    SYNC_READ = 0x82
    SYNC_WRITE = 0x83


class ErrorBit(IntFlag):
    """Error byte of a status packet; the Status register (65) uses the same bits."""

    VOLTAGE = 1
    ANGLE_SENSOR = 2
    OVERHEAT = 4
    OVERCURRENT = 8
    OVERLOAD = 32


def describe_error(bits: int) -> str:
    """``0b100001`` -> ``"input voltage, overload"``; '' for no error."""
    names = {ErrorBit.VOLTAGE: "input voltage", ErrorBit.ANGLE_SENSOR: "angle sensor",
             ErrorBit.OVERHEAT: "overheat", ErrorBit.OVERCURRENT: "over-current", ErrorBit.OVERLOAD: "overload"}
    return ", ".join(name for bit, name in names.items() if bits & bit)


@dataclass(frozen=True)
class Register:
    address: int
    size: int
    sign_bit: int | None = None  # sign-magnitude direction bit, None = unsigned
    read_only: bool = False


# STS3215 control table (LeRobot's names; addresses/sizes as lerobot.motors.feetech.tables, checked by
# test_protocol). Only what the driver and the emulator touch, plus what LeRobot's handshake reads.
REGISTERS: dict[str, Register] = {
    "Firmware_Major_Version": Register(0, 1, read_only=True),
    "Firmware_Minor_Version": Register(1, 1, read_only=True),
    "Model_Number": Register(3, 2, read_only=True),
    "ID": Register(5, 1),
    "Baud_Rate": Register(6, 1),
    "Return_Delay_Time": Register(7, 1),
    "Response_Status_Level": Register(8, 1),
    "Min_Position_Limit": Register(9, 2),
    "Max_Position_Limit": Register(11, 2),
    "Max_Torque_Limit": Register(16, 2),
    "P_Coefficient": Register(21, 1),
    "D_Coefficient": Register(22, 1),
    "I_Coefficient": Register(23, 1),
    "Protection_Current": Register(28, 2),
    "Homing_Offset": Register(31, 2, sign_bit=11),
    "Operating_Mode": Register(33, 1),
    "Overload_Torque": Register(36, 1),
    "Torque_Enable": Register(40, 1),
    "Acceleration": Register(41, 1),
    "Goal_Position": Register(42, 2, sign_bit=15),
    "Goal_Velocity": Register(46, 2, sign_bit=15),
    "Torque_Limit": Register(48, 2),
    "Lock": Register(55, 1),
    "Present_Position": Register(56, 2, sign_bit=15, read_only=True),
    "Present_Velocity": Register(58, 2, sign_bit=15, read_only=True),
    "Present_Load": Register(60, 2, sign_bit=10, read_only=True),
    "Present_Voltage": Register(62, 1, read_only=True),
    "Present_Temperature": Register(63, 1, read_only=True),
    "Status": Register(65, 1, read_only=True),
    "Moving": Register(66, 1, read_only=True),
    "Present_Current": Register(69, 2, read_only=True),
    "Maximum_Acceleration": Register(85, 1),
}

# One SYNC_READ per control tick fetches Torque_Enable .. Present_Current (addresses 40-70): what the
# servo does (torque, goal) and what it measures.
STATE_BLOCK_START = REGISTERS["Torque_Enable"].address
STATE_BLOCK_LEN = REGISTERS["Present_Current"].address + 2 - STATE_BLOCK_START
CURRENT_UNIT_MA = 6.5  # Present_Current unit


def encode_sign_magnitude(value: int, sign_bit: int) -> int:
    magnitude = abs(int(value))
    if magnitude >= 1 << sign_bit:
        raise ValueError(f"{value} does not fit a sign-magnitude field with the sign in bit {sign_bit}")
    return magnitude | (1 << sign_bit) if value < 0 else magnitude


def decode_sign_magnitude(raw: int, sign_bit: int) -> int:
    magnitude = raw & ((1 << sign_bit) - 1)
    return -magnitude if raw & (1 << sign_bit) else magnitude


def to_bytes(value: int, size: int) -> bytes:
    """Little-endian (STS/SMS, protocol 'end' 0)."""
    return int(value).to_bytes(size, "little")


def from_bytes(data: bytes) -> int:
    return int.from_bytes(data, "little")


def checksum(body: bytes) -> int:
    """Bitwise NOT of the byte sum of ID..last parameter, low 8 bits."""
    return ~sum(body) & 0xFF


def packet(servo_id: int, code: int, params: bytes = b"") -> bytes:
    """An instruction packet (code = instruction) or a status packet (code = error byte)."""
    body = bytes([servo_id, len(params) + 2, code]) + bytes(params)
    if len(body) + 3 > MAX_PACKET_LEN:
        raise ValueError(f"packet of {len(body) + 3} bytes exceeds the {MAX_PACKET_LEN}-byte maximum")
    return HEADER + body + bytes([checksum(body)])


@dataclass(frozen=True)
class Packet:
    servo_id: int
    code: int  # instruction (host -> servo) or error byte (servo -> host)
    params: bytes


class PacketParser:
    """Incremental framer: feed bytes as they arrive, get whole packets with a good checksum.

    Resynchronises on 0xFF 0xFF like the SDK; a packet with a bad checksum is dropped and counted
    (a real servo ignores it), as is a header followed by an impossible length.
    """

    def __init__(self) -> None:
        self._buffer = bytearray()
        self.dropped = 0

    def feed(self, data: bytes) -> list[Packet]:
        self._buffer += data
        packets = []
        while True:
            start = self._buffer.find(HEADER)
            if start < 0:
                del self._buffer[:max(0, len(self._buffer) - 1)]  # keep a trailing 0xFF
                return packets
            del self._buffer[:start]
            if len(self._buffer) < 4:
                return packets
            servo_id, length = self._buffer[2], self._buffer[3]
            if servo_id == 0xFF:  # 0xFF 0xFF 0xFF: the header starts one byte later
                del self._buffer[0]
                continue
            if length < 2 or length + 4 > MAX_PACKET_LEN:
                self.dropped += 1
                del self._buffer[:2]
                continue
            total = length + 4
            if len(self._buffer) < total:
                return packets
            frame = bytes(self._buffer[:total])
            del self._buffer[:total]
            if checksum(frame[2:-1]) != frame[-1]:
                self.dropped += 1
                continue
            packets.append(Packet(servo_id, frame[4], frame[5:-1]))
