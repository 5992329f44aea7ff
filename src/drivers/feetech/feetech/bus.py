"""Feetech STS3215 bus driver: LeRobot 0.4.4's ``FeetechMotorsBus`` on a ``Transport``.

LeRobot does what it does well and what keeps calibrations compatible: register access by name,
sign-magnitude encoding, SYNC_WRITE of goals, calibration registers and half-turn homing. Two
things it does not do are added here with the vendor SDK underneath it:

- ``read_state``: one SYNC_READ of registers 40-70 per tick (torque, goal, position, speed, load,
  voltage, temperature, status, current) that keeps each servo's status-packet error byte (the
  SDK's ``GroupSyncRead`` drops it) and, when the SYNC_READ fails, falls back to one READ per
  servo so the failure names every servo that does not answer;
- torque and goal writes that go through even when a servo reports error bits (LeRobot's
  ``write`` raises on them, which would keep an overloaded servo from being switched off).
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from typing import Iterator

import scservo_sdk as scs
from lerobot.motors import Motor, MotorCalibration, MotorNormMode
from lerobot.motors.feetech import FeetechMotorsBus

from feetech.errors import MissingServoError, ServoCommError, ServoFaultError
from feetech.protocol import (
    CURRENT_UNIT_MA, MODEL_STS3215, REGISTERS, STATE_BLOCK_LEN, STATE_BLOCK_START, decode_sign_magnitude,
    from_bytes,
)
from feetech.transport import DEFAULT_TIMEOUT_MS, Transport, TransportPortHandler

MODEL = "sts3215"
BAUDRATES = (1_000_000, 500_000, 250_000, 128_000, 115_200, 57_600, 38_400, 19_200)

_COMM_RESULTS = {
    scs.COMM_RX_TIMEOUT: "no reply",
    scs.COMM_RX_CORRUPT: "corrupt reply (bad checksum or truncated)",
    scs.COMM_PORT_BUSY: "port busy",
    scs.COMM_TX_FAIL: "transmit failed",
    scs.COMM_TX_ERROR: "bad instruction packet",
    scs.COMM_RX_FAIL: "no status packet",
}


def describe_comm(result: int) -> str:
    return _COMM_RESULTS.get(result, f"communication result {result}")


@dataclass(frozen=True)
class ServoReading:
    """What one servo reported in one state read (position/goal in steps after Homing_Offset)."""

    torque_enabled: bool
    goal: int  # steps
    position: int  # steps
    velocity: int  # steps/s
    load: float  # fraction of max torque, signed (Present_Load / 1000)
    voltage: float  # V
    temperature: int  # deg C
    status: int  # Status register (ErrorBit flags)
    current_ma: float
    error: int  # error byte of the status packet (ErrorBit flags)

    @classmethod
    def from_block(cls, data: bytes, error: int) -> ServoReading:
        def field(name: str) -> int:
            reg = REGISTERS[name]
            start = reg.address - STATE_BLOCK_START
            raw = from_bytes(data[start:start + reg.size])
            return decode_sign_magnitude(raw, reg.sign_bit) if reg.sign_bit is not None else raw

        return cls(torque_enabled=field("Torque_Enable") != 0, goal=field("Goal_Position"),
                   position=field("Present_Position"), velocity=field("Present_Velocity"),
                   load=field("Present_Load") / 1000, voltage=field("Present_Voltage") / 10,
                   temperature=field("Present_Temperature"), status=field("Status"),
                   current_ma=field("Present_Current") * CURRENT_UNIT_MA, error=error)


class _StatusKeepingSyncRead(scs.GroupSyncRead):
    """``GroupSyncRead`` that keeps every servo's status-packet error byte in ``errors``."""

    def rxPacket(self) -> int:  # noqa: N802 (SDK name)
        self.last_result = False
        self.errors: dict[int, int] = {}
        result = scs.COMM_NOT_AVAILABLE
        for servo_id in self.data_dict:
            data, result, error = self.ph.readRx(self.port, servo_id, self.data_length)
            if result != scs.COMM_SUCCESS:
                return result
            self.data_dict[servo_id] = data
            self.errors[servo_id] = error
        self.last_result = True
        return result


class _TransportFeetechBus(FeetechMotorsBus):
    """LeRobot's bus with the SDK port handler replaced by one on our ``Transport``."""

    def __init__(self, transport: Transport, motors: dict[str, Motor], timeout_ms: float) -> None:
        super().__init__(transport.name, motors)
        self.port_handler = TransportPortHandler(transport, timeout_ms)
        self.sync_reader = scs.GroupSyncRead(self.port_handler, self.packet_handler, 0, 0)
        self.sync_writer = scs.GroupSyncWrite(self.port_handler, self.packet_handler, 0, 0)


class FeetechBus:
    """The servos on one port, by name (``motors``: name -> id)."""

    def __init__(self, transport: Transport, motors: dict[str, int], *, baudrate: int = 1_000_000,
                 timeout_ms: float = DEFAULT_TIMEOUT_MS, retries: int = 1) -> None:
        if baudrate not in BAUDRATES:
            raise ValueError(f"baudrate {baudrate} is not an STS3215 rate; expected one of {BAUDRATES}")
        if not timeout_ms > 0:
            raise ValueError(f"packet timeout: expected > 0 ms, got {timeout_ms}")
        self.port = transport.name
        self.motors = dict(motors)
        self.retries = retries
        self.lerobot = _TransportFeetechBus(
            transport, {name: Motor(i, MODEL, MotorNormMode.DEGREES) for name, i in motors.items()}, timeout_ms)
        self.lerobot.port_handler.baudrate = baudrate
        self._ph = self.lerobot.packet_handler
        self._port = self.lerobot.port_handler
        self._state_reader = _StatusKeepingSyncRead(self._port, self._ph, STATE_BLOCK_START, STATE_BLOCK_LEN)
        for servo_id in motors.values():
            self._state_reader.addParam(servo_id)

    @property
    def is_connected(self) -> bool:
        return self.lerobot.is_connected

    def connect(self) -> None:
        """Open the port and check that every servo answers a PING as an STS3215."""
        self.abandon_transaction()  # one cut short by a lost port
        if not self._port.openPort():
            raise ServoCommError(self.port, f"cannot set {self._port.baudrate} baud")
        failures = {}
        for name, servo_id in self.motors.items():
            model, result, _ = self._ph.ping(self._port, servo_id)
            if result != scs.COMM_SUCCESS:
                failures[servo_id] = f"{name}: {describe_comm(result)}"
            elif model != MODEL_STS3215:
                failures[servo_id] = f"{name}: model number {model}, expected {MODEL_STS3215} ({MODEL})"
        if failures:
            self.close()
            raise MissingServoError(self.port, "; ".join(f"id {i} {why}" for i, why in sorted(failures.items())),
                                    failures)

    def close(self) -> None:
        self._port.closePort()

    def abandon_transaction(self) -> None:
        """Forget a transaction that was cut short (a lost port, or Ctrl-C raising KeyboardInterrupt
        while a reply was awaited): the SDK leaves its port flagged busy and would refuse every later
        instruction ("Port is in use!"), the shutdown torque-off included. The unread reply bytes
        are dropped before the next instruction (``TransportPortHandler.clearPort``)."""
        self._port.is_using = False

    # -- per-tick I/O ----------------------------------------------------------------------------
    def read_state(self) -> tuple[dict[str, ServoReading], dict[str, str]]:
        """Every servo's state block: (readings by name, failures by name)."""
        for _ in range(1 + self.retries):
            result = self._state_reader.txRxPacket()
            if result == scs.COMM_SUCCESS:
                reader = self._state_reader
                return {name: ServoReading.from_block(bytes(reader.data_dict[i]), reader.errors[i])
                        for name, i in self.motors.items()}, {}
        readings, failures = {}, {}
        for name, servo_id in self.motors.items():  # find every servo that fails, not just the first
            data, result, error = self._ph.readTxRx(self._port, servo_id, STATE_BLOCK_START, STATE_BLOCK_LEN)
            if result == scs.COMM_SUCCESS:
                readings[name] = ServoReading.from_block(bytes(data), error)
            else:
                failures[name] = describe_comm(result)
        return readings, failures

    def write_goals(self, goals: dict[str, int]) -> None:
        """SYNC_WRITE Goal_Position (steps); no reply, so servos reporting errors still get it."""
        with self.lerobot_errors():
            self.lerobot.sync_write("Goal_Position", goals, normalize=False)

    def set_torque(self, names: list[str], enabled: bool) -> None:
        """Torque_Enable then Lock, as LeRobot does (Lock 0 with torque off leaves the EEPROM writable).

        SYNC_WRITE on purpose: it reaches servos whose replies are lost, and error bits cannot veto it.
        """
        if names:
            with self.lerobot_errors():
                self.lerobot.sync_write("Torque_Enable", {n: int(enabled) for n in names}, normalize=False)
                self.lerobot.sync_write("Lock", {n: int(enabled) for n in names}, normalize=False)

    # -- calibration (EEPROM) ----------------------------------------------------------------------
    def read_calibration(self) -> dict[str, MotorCalibration]:
        with self.lerobot_errors():
            return self.lerobot.read_calibration()

    def write_calibration(self, calibration: dict[str, MotorCalibration]) -> None:
        with self.lerobot_errors():
            self.lerobot.write_calibration(calibration)

    @contextmanager
    def lerobot_errors(self) -> Iterator[None]:
        """LeRobot raises ConnectionError (no/bad reply) and RuntimeError (error bits): make them ours."""
        try:
            yield
        except ConnectionError as err:
            raise ServoCommError(self.port, " ".join(str(err).split())) from err
        except RuntimeError as err:
            raise ServoFaultError(self.port, " ".join(str(err).split())) from err

