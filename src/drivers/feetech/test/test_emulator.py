"""The emulator at byte level (no pty): instructions, status packets, dynamics, faults."""

from __future__ import annotations

import pytest

from feetech.emulator import LOW_VOLTAGE, FeetechBusEmulator
from feetech.protocol import (
    BROADCAST_ID, ErrorBit, Instruction, PacketParser, decode_sign_magnitude, encode_sign_magnitude, packet,
)


class Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def bus(clock) -> FeetechBusEmulator:
    return FeetechBusEmulator([1, 2, 3], clock=clock)


def replies(bus: FeetechBusEmulator, data: bytes) -> list[tuple[int, int, bytes]]:
    return [(p.servo_id, p.code, p.params) for p in PacketParser().feed(bus.receive(data))]


def read(bus, servo_id: int, address: int, length: int) -> bytes:
    [(_, _, data)] = replies(bus, packet(servo_id, Instruction.READ, bytes([address, length])))
    return data


def write(bus, servo_id: int, address: int, data: bytes) -> list:
    return replies(bus, packet(servo_id, Instruction.WRITE, bytes([address]) + data))


def word(value: int, sign_bit: int | None = None) -> bytes:
    return (encode_sign_magnitude(value, sign_bit) if sign_bit else value).to_bytes(2, "little")


def test_ping_read_write_and_model_number(bus):
    assert replies(bus, packet(2, Instruction.PING)) == [(2, 0, b"")]
    assert bus.receive(packet(2, Instruction.PING)) == bytes([0xFF, 0xFF, 2, 2, 0, 0xFB])
    assert read(bus, 1, 3, 2) == (777).to_bytes(2, "little")  # what the SDK's ping() reads after PING
    assert read(bus, 1, 0, 2) == bytes([3, 10])  # firmware 3.10
    assert write(bus, 1, 21, bytes([16])) == [(1, 0, b"")]
    assert read(bus, 1, 21, 1) == bytes([16])
    assert replies(bus, packet(9, Instruction.PING)) == []  # nobody there


def test_read_only_registers_ignore_writes_and_response_level_0_silences_writes(bus):
    write(bus, 1, 3, word(1234))
    assert read(bus, 1, 3, 2) == word(777)
    write(bus, 1, 8, bytes([0]))
    assert write(bus, 1, 41, bytes([254])) == []
    assert read(bus, 1, 41, 1) == bytes([254])


def test_broadcast_ping_sync_read_and_sync_write(bus):
    assert [r[0] for r in replies(bus, packet(BROADCAST_ID, Instruction.PING))] == [1, 2, 3]
    params = bytes([42, 2]) + bytes([3]) + word(1000) + bytes([1]) + word(-7, 15)
    assert bus.receive(packet(BROADCAST_ID, Instruction.SYNC_WRITE, params)) == b""
    assert bus.register(3, "Goal_Position") == 1000 and bus.register(1, "Goal_Position") == -7
    got = replies(bus, packet(BROADCAST_ID, Instruction.SYNC_READ, bytes([42, 2, 3, 9, 1])))
    assert got == [(3, 0, word(1000)), (1, 0, word(-7, 15))]  # list order, absent id 9 skipped


def test_servo_approaches_goal_at_bounded_speed_only_with_torque(bus, clock):
    write(bus, 1, 42, word(3048))
    clock.t = 0.5
    bus.advance()
    assert bus.register(1, "Present_Position") == 2048  # torque off: stays
    write(bus, 1, 40, bytes([1]))
    clock.t = 0.6
    moved = bus.register(1, "Present_Position") - 2048
    assert moved == pytest.approx(300, abs=2)  # max speed 3000 steps/s for 0.1 s
    assert bus.register(1, "Present_Velocity") == pytest.approx(3000, rel=0.01)
    assert bus.register(1, "Moving") == 1
    clock.t = 2.0
    assert bus.register(1, "Present_Position") == 3048
    assert bus.register(1, "Moving") == 0


def test_goal_is_clamped_to_position_limits_and_offset_applies(bus, clock):
    write(bus, 1, 31, word(-100, 11))  # Homing_Offset -100: present = encoder + 100
    assert bus.register(1, "Present_Position") == 2148
    write(bus, 1, 11, word(2500))  # Max_Position_Limit
    write(bus, 1, 42, word(4000))
    write(bus, 1, 40, bytes([1]))
    clock.t = 3.0
    assert bus.register(1, "Present_Position") == 2500
    assert bus.servo(1).position == pytest.approx(2400)


def test_negative_present_position_is_sign_magnitude(bus):
    write(bus, 2, 31, word(2047, 11))
    bus.servo(2).position = 100.0  # encoder 100, offset 2047 -> present -1947
    raw = int.from_bytes(read(bus, 2, 56, 2), "little")
    assert raw & 0x8000 and decode_sign_magnitude(raw, 15) == 100 - 2047


def test_obstacle_makes_load_rise_to_the_torque_limit(bus, clock):
    bus.place_obstacle(3, upper=2100)
    write(bus, 3, 16, word(500))  # Max_Torque_Limit 50 %
    write(bus, 3, 42, word(2400))
    write(bus, 3, 40, bytes([1]))
    clock.t = 1.0
    assert bus.register(3, "Present_Position") == 2100
    assert bus.register(3, "Present_Load") == 500  # 300 steps beyond x 4 = 1200, capped at 500
    assert bus.register(3, "Present_Current") == 200
    write(bus, 3, 42, word(2130))
    clock.t = 1.5
    assert bus.register(3, "Present_Load") == 120
    write(bus, 3, 42, word(1500))  # pulling away: free again
    clock.t = 1.6
    assert bus.register(3, "Present_Load") < 0 and bus.register(3, "Present_Position") < 2100


def test_sweep_moves_an_unpowered_joint(bus, clock):
    bus.start_sweep(2, amplitude=500, period=4.0)
    seen = []
    for k in range(17):
        clock.t = k * 0.25
        seen.append(bus.register(2, "Present_Position"))
    assert min(seen) == 1548 and max(seen) == 2548


def test_silent_servo_acts_but_never_answers(bus):
    bus.silence([2])
    assert replies(bus, packet(2, Instruction.PING)) == []
    assert write(bus, 2, 40, bytes([1])) == []
    assert bus.register(2, "Torque_Enable") == 1
    got = replies(bus, packet(BROADCAST_ID, Instruction.SYNC_READ, bytes([56, 2, 1, 2, 3])))
    assert [r[0] for r in got] == [1, 3]


def test_corrupt_replies_have_bad_checksums_for_count_packets(bus):
    bus.corrupt_replies([1], count=2)
    parser = PacketParser()
    for _ in range(2):
        assert parser.feed(bus.receive(packet(1, Instruction.PING))) == []
    assert parser.dropped == 2
    assert replies(bus, packet(1, Instruction.PING)) == [(1, 0, b"")]


def test_unplugged_servo_is_absent_until_plugged(bus):
    bus.unplug(3)
    assert replies(bus, packet(3, Instruction.PING)) == []
    assert [r[0] for r in replies(bus, packet(BROADCAST_ID, Instruction.PING))] == [1, 2]
    bus.plug(3)
    assert replies(bus, packet(3, Instruction.PING)) == [(3, 0, b"")]


def test_error_bits_in_status_packets_overload_unloads_voltage_drops(bus, clock):
    write(bus, 1, 42, word(3000))
    write(bus, 1, 40, bytes([1]))
    bus.set_errors(1, ErrorBit.OVERLOAD)
    bus.set_errors(2, ErrorBit.VOLTAGE)
    assert replies(bus, packet(1, Instruction.PING)) == [(1, 32, b"")]
    clock.t = 1.0
    assert bus.register(1, "Present_Position") == 2048  # unloaded: does not move
    assert bus.register(1, "Status") == 32
    assert bus.register(2, "Present_Voltage") == LOW_VOLTAGE
    bus.clear_faults()
    assert replies(bus, packet(1, Instruction.PING)) == [(1, 0, b"")]
    assert bus.register(2, "Present_Voltage") == 120


def test_writing_the_id_register_readdresses_the_servo(bus):
    write(bus, 3, 5, bytes([7]))
    assert replies(bus, packet(7, Instruction.PING)) == [(7, 0, b"")]
    assert replies(bus, packet(3, Instruction.PING)) == []
