"""Driver <-> emulator through the pseudo-terminal, opened by path like /dev/ttyUSB0: the round
trip of every instruction the driver uses, and every fault."""

from __future__ import annotations

import time

import pytest

from feetech.errors import BusLostError, MissingServoError, PortError
from feetech.bus import FeetechBus
from feetech.protocol import ErrorBit, Instruction
from feetech.transport import SerialTransport

from conftest import JOINTS, make_bus


@pytest.fixture
def bus(pty):
    bus = make_bus(str(pty.link))
    bus.connect()
    yield bus
    bus.close()


def handled(bus: FeetechBus) -> None:
    """SYNC_WRITEs get no reply: a read round trip makes sure the emulator has handled them."""
    bus.read_state()


def settle(bus: FeetechBus, predicate, timeout: float = 3.0) -> dict:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        readings, failures = bus.read_state()
        if not failures and predicate(readings):
            return readings
        time.sleep(0.01)
    raise AssertionError(f"not reached in {timeout} s: {bus.read_state()}")


def test_connect_pings_every_servo_and_reads_the_state_block(bus, emulator):
    assert emulator.instructions[Instruction.PING] == 6
    readings, failures = bus.read_state()
    assert failures == {}
    r = readings["gripper"]
    assert (r.position, r.goal, r.torque_enabled, r.voltage, r.temperature, r.error) == (2048, 2048, False, 12.0, 32, 0)
    assert emulator.instructions[Instruction.SYNC_READ] == 1  # one transaction for the whole arm


def test_torque_and_goals_move_the_servos(bus, emulator):
    bus.set_torque(JOINTS, True)
    handled(bus)
    assert [emulator.register(i, "Torque_Enable") for i in range(1, 7)] == [1] * 6
    assert emulator.register(1, "Lock") == 1
    bus.write_goals({"shoulder_pan": 2600, "elbow_flex": 1500})
    readings = settle(bus, lambda r: r["shoulder_pan"].position == 2600 and r["elbow_flex"].position == 1500)
    assert readings["shoulder_pan"].goal == 2600 and readings["wrist_flex"].position == 2048
    bus.set_torque(["elbow_flex"], False)
    handled(bus)
    assert emulator.register(3, "Torque_Enable") == 0 and emulator.register(3, "Lock") == 0


def test_signed_values_cross_the_wire(bus, emulator):
    """Homing_Offset (sign bit 11), Present/Goal_Position (15), Present_Load (10)."""
    with bus.lerobot_errors():
        bus.lerobot.write("Homing_Offset", "wrist_roll", 2000, normalize=False)  # present = 48
        bus.lerobot.write("Max_Position_Limit", "wrist_roll", 0, normalize=False)  # 0..0: no goal clamping
    emulator.servo(5).position = 10.0  # present = -1990
    emulator.place_obstacle(5, lower=-1990)
    bus.set_torque(["wrist_roll"], True)
    bus.write_goals({"wrist_roll": -2100})
    readings = settle(bus, lambda r: r["wrist_roll"].load < -0.1)
    assert readings["wrist_roll"].position == -1990 and readings["wrist_roll"].goal == -2100
    assert bus.read_calibration()["wrist_roll"].homing_offset == 2000


def test_no_reply_names_the_silent_servo_which_still_obeys_writes(bus, emulator):
    emulator.silence([3])
    readings, failures = bus.read_state()
    assert failures == {"elbow_flex": "no reply"}
    assert set(readings) == set(JOINTS) - {"elbow_flex"}  # the others are read one by one
    bus.set_torque(JOINTS, False)
    bus.set_torque(["elbow_flex"], True)  # SYNC_WRITE needs no reply
    handled(bus)
    assert emulator.register(3, "Torque_Enable") == 1


def test_bad_checksum_once_is_retried_persistent_is_reported(bus, emulator):
    emulator.corrupt_replies([2], count=1)
    assert bus.read_state()[1] == {}
    emulator.corrupt_replies([2])
    readings, failures = bus.read_state()
    assert failures == {"shoulder_lift": "corrupt reply (bad checksum or truncated)"} and len(readings) == 5
    emulator.clear_faults()
    assert bus.read_state()[1] == {}  # no stale bytes left behind by the failed transactions


def test_missing_servo_at_connect_and_while_running(pty, emulator, bus):
    emulator.unplug(4)
    assert bus.read_state()[1] == {"wrist_flex": "no reply"}
    other = make_bus(pty.path)
    with pytest.raises(MissingServoError, match=r"id 4 wrist_flex: no reply.*lerobot-setup-motors") as err:
        other.connect()
    assert err.value.failures == {4: "wrist_flex: no reply"}
    assert not other.is_connected


def test_error_bits_reach_the_driver(bus, emulator):
    emulator.set_errors(6, ErrorBit.OVERLOAD)
    emulator.set_errors(1, ErrorBit.VOLTAGE)
    readings, failures = bus.read_state()
    assert failures == {}
    assert readings["gripper"].error == readings["gripper"].status == ErrorBit.OVERLOAD
    assert readings["shoulder_pan"].error == ErrorBit.VOLTAGE and readings["shoulder_pan"].voltage == 5.5
    bus.set_torque(["gripper"], False)  # error bits cannot veto switching off
    handled(bus)
    assert emulator.register(6, "Torque_Enable") == 0


def test_bus_that_disappears_raises_bus_lost_and_comes_back(bus, pty):
    pty.close()
    with pytest.raises(BusLostError, match="lost"):
        bus.read_state()
    bus.close()
    with pytest.raises(PortError, match="cannot open"):
        bus.connect()
    pty.open()
    bus.connect()
    assert bus.read_state()[1] == {}


def test_bad_port_and_baudrate():
    with pytest.raises(PortError, match="/dev/ttyNOPE"):
        FeetechBus(SerialTransport("/dev/ttyNOPE"), {"a": 1}).connect()
    with pytest.raises(ValueError, match="baudrate 12345"):
        FeetechBus(SerialTransport("/dev/ttyNOPE"), {"a": 1}, baudrate=12345)
