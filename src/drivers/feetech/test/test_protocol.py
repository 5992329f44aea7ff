"""The protocol module against LeRobot's tables and the vendor SDK's byte helpers."""

from __future__ import annotations

import pytest
import scservo_sdk as scs
from lerobot.motors.encoding_utils import decode_sign_magnitude as lerobot_decode
from lerobot.motors.feetech.tables import MODEL_CONTROL_TABLE, MODEL_ENCODING_TABLE

from feetech.protocol import (
    REGISTERS, STATE_BLOCK_LEN, STATE_BLOCK_START, ErrorBit, PacketParser, checksum, decode_sign_magnitude,
    describe_error, encode_sign_magnitude, packet,
)


def test_register_table_matches_lerobot_sts3215():
    table, encodings = MODEL_CONTROL_TABLE["sts3215"], MODEL_ENCODING_TABLE["sts3215"]
    for name, reg in REGISTERS.items():
        assert table[name] == (reg.address, reg.size), name
        assert encodings.get(name) == reg.sign_bit, name
    assert (STATE_BLOCK_START, STATE_BLOCK_LEN) == (40, 31)


@pytest.mark.parametrize("value,bit", [(0, 15), (5, 15), (-5, 15), (-2047, 11), (2047, 11), (-1023, 10), (4095, 15)])
def test_sign_magnitude_matches_sdk_and_lerobot(value, bit):
    raw = encode_sign_magnitude(value, bit)
    assert raw == scs.SCS_TOSCS(value, bit)
    assert decode_sign_magnitude(raw, bit) == value == scs.SCS_TOHOST(raw, bit) == lerobot_decode(raw, bit)


def test_sign_magnitude_refuses_what_does_not_fit():
    with pytest.raises(ValueError, match="bit 11"):
        encode_sign_magnitude(2048, 11)


def test_packets_are_the_sdks():
    assert packet(1, 0x01) == bytes([0xFF, 0xFF, 0x01, 0x02, 0x01, 0xFB])  # PING id 1
    read = packet(1, 0x02, bytes([56, 2]))  # READ Present_Position
    assert read[-1] == checksum(read[2:-1]) == (~(1 + 4 + 2 + 56 + 2)) & 0xFF
    with pytest.raises(ValueError, match="250"):
        packet(1, 0x03, bytes(250))


def test_parser_resyncs_splits_and_drops_bad_checksums():
    parser = PacketParser()
    good = packet(3, 0x02, bytes([56, 2]))
    bad = bytearray(packet(4, 0x01))
    bad[-1] ^= 0xFF
    stream = b"\x00\x13\xff" + good + bytes(bad) + good
    got = parser.feed(stream[:7]) + parser.feed(stream[7:])
    assert [(p.servo_id, p.code, p.params) for p in got] == [(3, 2, bytes([56, 2]))] * 2
    assert parser.dropped == 1


def test_error_descriptions():
    assert describe_error(ErrorBit.VOLTAGE | ErrorBit.OVERLOAD) == "input voltage, overload"
    assert describe_error(0) == ""
