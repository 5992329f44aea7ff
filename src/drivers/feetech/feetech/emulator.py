"""A Feetech STS3215 bus emulator speaking the real byte protocol, with simple servo dynamics and
fault injection; ``PtyBus`` serves it on a pseudo-terminal whose path a driver opens like
``/dev/ttyUSB0``.

Servo model: each servo has an absolute encoder position (steps). With torque on it approaches
its goal (Goal_Position + Homing_Offset, clamped to Min/Max_Position_Limit) first-order with time
constant ``time_constant`` and at most ``max_speed``; an obstacle stops it and Present_Load then
rises with how far the goal lies beyond the obstacle, up to the torque limit. With torque off the
joint stays put, unless a ``Sweep`` (a hand moving the arm during calibration) moves it.
Present_Position = encoder - Homing_Offset, as LeRobot documents for Feetech.

Faults: ``silence`` (servo acts on writes but never answers), ``corrupt`` (status packets with a
bad checksum), ``unplug`` (servo absent from the bus), ``set_errors`` (error bits in every status
packet and the Status register: overload unloads the servo, input voltage drops Present_Voltage),
and ``PtyBus.close()`` (the port disappears).
"""

from __future__ import annotations

import math
import os
import select
import threading
import time
import tty
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

from sim2real_common.errors import HardwareError
from feetech.protocol import (
    BROADCAST_ID, MODEL_STS3215, REGISTERS, ErrorBit, Instruction, Packet, PacketParser, decode_sign_magnitude,
    encode_sign_magnitude, from_bytes, packet, to_bytes,
)

LOW_VOLTAGE = 55  # Present_Voltage (0.1 V) reported while a voltage error is injected
CURRENT_AT_FULL_LOAD = 400  # Present_Current units (6.5 mA) at 100 % load: 2.6 A
MAX_SUBSTEP_S = 0.005

# Power-on register values (hardware-protocols.md 1.5; firmware 3.10).
_DEFAULTS = {
    "Firmware_Major_Version": 3, "Firmware_Minor_Version": 10, "Model_Number": MODEL_STS3215,
    "Return_Delay_Time": 0, "Response_Status_Level": 1, "Min_Position_Limit": 0, "Max_Position_Limit": 4095,
    "Max_Torque_Limit": 1000, "P_Coefficient": 32, "D_Coefficient": 32, "I_Coefficient": 0,
    "Protection_Current": 500, "Overload_Torque": 80, "Torque_Limit": 1000,
}


@dataclass(frozen=True)
class ServoPhysics:
    max_speed: float = 3000.0  # steps/s (about 4.6 rad/s)
    time_constant: float = 0.04  # s, first-order approach to the goal
    load_per_step: float = 4.0  # Present_Load (0.1 %) per step the goal lies beyond an obstacle
    moving_load: float = 80.0  # Present_Load (0.1 %) when moving freely at max_speed
    voltage: int = 120  # 0.1 V
    temperature: int = 32  # deg C


@dataclass(frozen=True)
class Sweep:
    """Someone moving an unpowered joint: ``center + amplitude * sin(2 pi (t - start) / period)``."""

    center: float
    amplitude: float
    period: float
    start: float

    def at(self, t: float) -> float:
        return self.center + self.amplitude * math.sin(2 * math.pi * (t - self.start) / self.period)


class EmulatedServo:
    """Control-table memory plus the dynamics behind it."""

    def __init__(self, servo_id: int, position: float, physics: ServoPhysics) -> None:
        self.memory = bytearray(256)
        self.physics = physics
        self.position = float(position)  # absolute encoder steps
        self.velocity = 0.0  # steps/s
        self.load = 0.0  # 0.1 % of max torque, signed
        self.obstacle: tuple[float, float] | None = None  # absolute encoder steps
        self.sweep: Sweep | None = None
        self.errors = 0  # injected ErrorBit flags
        for name, value in _DEFAULTS.items():
            self.set(name, value)
        self.set("ID", servo_id)
        self.set("Goal_Position", round(position))

    # -- registers -------------------------------------------------------------------------
    @property
    def id(self) -> int:
        return self.memory[REGISTERS["ID"].address]

    def get(self, name: str) -> int:
        reg = REGISTERS[name]
        raw = from_bytes(self.memory[reg.address:reg.address + reg.size])
        return decode_sign_magnitude(raw, reg.sign_bit) if reg.sign_bit is not None else raw

    def set(self, name: str, value: int) -> None:
        reg = REGISTERS[name]
        raw = encode_sign_magnitude(value, reg.sign_bit) if reg.sign_bit is not None else int(value)
        self.memory[reg.address:reg.address + reg.size] = to_bytes(raw, reg.size)

    def read(self, address: int, length: int) -> bytes:
        self._publish_present()
        return bytes(self.memory[address:address + length]).ljust(length, b"\0")

    def write(self, address: int, data: bytes) -> None:
        for i, byte in enumerate(data):
            if address + i < len(self.memory) and not _READ_ONLY[address + i]:
                self.memory[address + i] = byte

    @property
    def torque_enabled(self) -> bool:
        return self.get("Torque_Enable") != 0

    @property
    def present_position(self) -> int:
        return round(self.position) - self.get("Homing_Offset")

    def to_absolute(self, present: float) -> float:
        return present + self.get("Homing_Offset")

    # -- dynamics --------------------------------------------------------------------------
    def step(self, dt: float, t: float) -> None:
        driven = self.torque_enabled and not self.errors & ErrorBit.OVERLOAD  # overload unloads the servo
        target = self.position
        if driven:
            goal = self.get("Goal_Position")
            low, high = self.get("Min_Position_Limit"), self.get("Max_Position_Limit")
            if high > low:
                goal = min(high, max(low, goal))
            target = self.to_absolute(goal)
            speed = max(-self.physics.max_speed, min(self.physics.max_speed,
                                                       (target - self.position) / self.physics.time_constant))
            new = self.position + speed * dt
            if (target - new) * (target - self.position) < 0:  # no overshoot on a coarse step
                new = target
        elif self.sweep is not None:
            new = self.sweep.at(t)
        else:
            new = self.position
        if self.obstacle is not None:
            new = min(self.obstacle[1], max(self.obstacle[0], new))
        limit = self.physics.max_speed
        self.velocity = max(-limit, min(limit, (new - self.position) / dt)) if dt > 0 else 0.0
        self.position = new
        if driven:
            limit = min(self.get("Torque_Limit"), self.get("Max_Torque_Limit"))
            pushing = target - new if self.obstacle is not None and new in self.obstacle else 0.0
            load = pushing * self.physics.load_per_step + self.physics.moving_load * self.velocity / self.physics.max_speed
            self.load = max(-limit, min(limit, load))
        else:
            self.load = 0.0

    def _publish_present(self) -> None:
        self.set("Present_Position", self.present_position)
        self.set("Present_Velocity", round(self.velocity))
        self.set("Present_Load", round(self.load))
        self.set("Present_Voltage", LOW_VOLTAGE if self.errors & ErrorBit.VOLTAGE else self.physics.voltage)
        self.set("Present_Temperature", self.physics.temperature)
        self.set("Status", self.errors)
        self.set("Moving", int(abs(self.velocity) > 10))
        self.set("Present_Current", round(abs(self.load) / 1000 * CURRENT_AT_FULL_LOAD))


_READ_ONLY = [False] * 256
for _reg in REGISTERS.values():
    if _reg.read_only:
        for _a in range(_reg.address, _reg.address + _reg.size):
            _READ_ONLY[_a] = True
_READ_ONLY[64] = _READ_ONLY[67] = _READ_ONLY[68] = True  # async-write flag, unused present bytes


class FeetechBusEmulator:
    """The servos on one bus: bytes from the host in, status packets out (no I/O of its own).

    Thread-safe: ``receive`` runs on the port thread while tests inject faults and inspect
    registers from another.
    """

    def __init__(self, ids: Iterable[int], *, physics: ServoPhysics = ServoPhysics(),
                 positions: dict[int, float] | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.lock = threading.RLock()
        positions = positions or {}
        self.servos = {i: EmulatedServo(i, positions.get(i, 2048.0), physics) for i in ids}
        self.unplugged: dict[int, EmulatedServo] = {}
        self.silent: set[int] = set()
        self.corrupt: dict[int, int | None] = {}  # id -> status packets left to corrupt (None: until cleared)
        self.instructions: dict[Instruction, int] = {i: 0 for i in Instruction}  # packets received per kind
        self._parser = PacketParser()
        self._time = clock()

    # -- protocol ------------------------------------------------------------------------------
    def receive(self, data: bytes) -> bytes:
        """Feed bytes written by the host; return the bytes the servos send back."""
        with self.lock:
            self.advance()
            return b"".join(self._handle(p) for p in self._parser.feed(data))

    def _handle(self, pkt: Packet) -> bytes:
        try:
            instruction = Instruction(pkt.code)
        except ValueError:
            return b""  # unknown instruction: a servo ignores it
        self.instructions[instruction] += 1
        p = pkt.params
        if pkt.servo_id == BROADCAST_ID:
            if instruction is Instruction.PING:
                return b"".join(self._status(s) for _, s in sorted(self.servos.items()))
            if instruction is Instruction.SYNC_READ and len(p) >= 2:
                address, length = p[0], p[1]
                return b"".join(self._status(self.servos[i], self.servos[i].read(address, length))
                                for i in p[2:] if i in self.servos)
            if instruction is Instruction.SYNC_WRITE and len(p) >= 2:
                address, length = p[0], p[1]
                for k in range(2, len(p) - length, length + 1):
                    if p[k] in self.servos:
                        self._write(self.servos[p[k]], address, p[k + 1:k + 1 + length])
            elif instruction is Instruction.WRITE and p:
                for servo in list(self.servos.values()):
                    self._write(servo, p[0], p[1:])
            return b""
        servo = self.servos.get(pkt.servo_id)
        if servo is None:
            return b""
        if instruction is Instruction.PING:
            return self._status(servo)
        if instruction is Instruction.READ and len(p) == 2:
            return self._status(servo, servo.read(p[0], p[1]))
        if instruction is Instruction.WRITE and p:
            self._write(servo, p[0], p[1:])
            return self._status(servo) if servo.get("Response_Status_Level") else b""
        return b""  # REG_WRITE/ACTION are not used by the SO-101 stack

    def _write(self, servo: EmulatedServo, address: int, data: bytes) -> None:
        old_id = servo.id
        servo.write(address, data)
        if servo.id != old_id:
            self.servos[servo.id] = self.servos.pop(old_id)

    def _status(self, servo: EmulatedServo, data: bytes = b"") -> bytes:
        if servo.id in self.silent:
            return b""
        reply = packet(servo.id, servo.errors, data)
        if servo.id in self.corrupt:
            left = self.corrupt[servo.id]
            if left is not None:
                if left <= 1:
                    del self.corrupt[servo.id]
                else:
                    self.corrupt[servo.id] = left - 1
            reply = reply[:-1] + bytes([reply[-1] ^ 0x5A])
        return reply

    # -- time ----------------------------------------------------------------------------------
    def advance(self) -> None:
        """Integrate the dynamics up to now (called on every packet and by the port thread)."""
        with self.lock:
            now = self.clock()
            while self._time < now:
                dt = min(MAX_SUBSTEP_S, now - self._time)
                self._time += dt
                for servo in self.servos.values():
                    servo.step(dt, self._time)

    # -- inspection and fault injection (thread-safe) ------------------------------------------
    def servo(self, servo_id: int) -> EmulatedServo:
        return self.servos.get(servo_id) or self.unplugged[servo_id]

    def register(self, servo_id: int, name: str) -> int:
        """A register as the host would read it now."""
        with self.lock:
            self.advance()
            servo = self.servo(servo_id)
            servo._publish_present()
            return servo.get(name)

    def silence(self, ids: Iterable[int] | None = None) -> None:
        """The servos stop answering (they still act on what they receive)."""
        with self.lock:
            self.silent = set(self.servos if ids is None else ids)

    def corrupt_replies(self, ids: Iterable[int], count: int | None = None) -> None:
        """Status packets of these servos get a bad checksum (the next ``count``, or all)."""
        with self.lock:
            self.corrupt.update({i: count for i in ids})

    def unplug(self, servo_id: int) -> None:
        with self.lock:
            self.unplugged[servo_id] = self.servos.pop(servo_id)

    def plug(self, servo_id: int) -> None:
        with self.lock:
            self.servos[servo_id] = self.unplugged.pop(servo_id)

    def set_errors(self, servo_id: int, bits: int) -> None:
        with self.lock:
            self.servo(servo_id).errors = int(bits)

    def clear_faults(self) -> None:
        with self.lock:
            self.silent.clear()
            self.corrupt.clear()
            for servo_id in list(self.unplugged):
                self.plug(servo_id)
            for servo in self.servos.values():
                servo.errors = 0

    def place_obstacle(self, servo_id: int, lower: float | None = None, upper: float | None = None) -> None:
        """Block a joint outside [lower, upper] (Present_Position units at the time of the call)."""
        with self.lock:
            servo = self.servo(servo_id)
            servo.obstacle = (servo.to_absolute(lower) if lower is not None else -math.inf,
                              servo.to_absolute(upper) if upper is not None else math.inf)

    def remove_obstacle(self, servo_id: int) -> None:
        with self.lock:
            self.servo(servo_id).obstacle = None

    def start_sweep(self, servo_id: int, amplitude: float, period: float) -> None:
        """Move the (unpowered) joint back and forth around where it is now."""
        with self.lock:
            servo = self.servo(servo_id)
            servo.sweep = Sweep(servo.position, amplitude, period, self.clock())


def _check_link_path(link: Path) -> None:
    """The link may replace an old symlink (an earlier emulator's), never a file or a directory."""
    if os.path.lexists(link) and not link.is_symlink():
        kind = "a directory" if link.is_dir() else "a file"
        raise HardwareError(f"--link {link}: is {kind}, not a symlink an emulator made; "
                            f"choose another path or remove it")
    if not link.parent.is_dir():
        raise HardwareError(f"--link {link}: folder {link.parent} does not exist")


class PtyBus:
    """Serves a ``FeetechBusEmulator`` on a pseudo-terminal; ``path`` (or ``link``) is the port to open.

    ``close()`` makes the bus disappear (like pulling the USB adapter); ``open()`` plugs it back
    in with the same servos (a new pty path, the same ``link``).
    """

    def __init__(self, emulator: FeetechBusEmulator, link: Path | str | None = None) -> None:
        self.emulator = emulator
        self.link = Path(link) if link else None
        self.path = ""
        self._master = self._slave = -1
        self._thread: threading.Thread | None = None
        self._running = False

    def open(self) -> str:
        if self.link is not None:
            _check_link_path(self.link)
        self._master, self._slave = os.openpty()
        tty.setraw(self._slave)  # no echo, no line discipline: bytes pass through as on a UART
        self.path = os.ttyname(self._slave)
        if self.link is not None:
            if self.link.is_symlink():
                self.link.unlink()
            self.link.symlink_to(self.path)
        self._running = True
        self._thread = threading.Thread(target=self._serve, name=f"feetech-emulator {self.path}", daemon=True)
        self._thread.start()
        return str(self.link or self.path)

    def close(self) -> None:
        self._running = False
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        for fd in (self._master, self._slave):
            if fd >= 0:
                os.close(fd)
        self._master = self._slave = -1
        if self.link is not None and self.link.is_symlink():
            self.link.unlink()

    def __enter__(self) -> PtyBus:
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _serve(self) -> None:
        while self._running:
            ready, _, _ = select.select([self._master], [], [], 0.02)
            if not ready:
                self.emulator.advance()
                continue
            try:
                data = os.read(self._master, 4096)
            except OSError:
                return
            reply = self.emulator.receive(data)
            if reply:
                os.write(self._master, reply)
