"""Errors of the Feetech bus driver: each message says what went wrong and what to do about it."""

from __future__ import annotations

from sim2real_common.errors import HardwareError

class PortError(HardwareError):
    """The serial port cannot be opened (wrong path, no permission, unplugged adapter)."""

    def __init__(self, port: str, reason: str) -> None:
        super().__init__(f"cannot open port {port!r}: {reason}; check the path (`ls /dev/ttyUSB* /dev/ttyACM*`), "
                         f"that the adapter is plugged in and that you may use it (group dialout)")
        self.port = port


class BusLostError(HardwareError):
    """The port vanished while in use (USB cable pulled, adapter reset, emulator closed)."""

    def __init__(self, port: str, reason: str) -> None:
        super().__init__(f"bus on {port!r} lost: {reason}; check the USB cable and the servo power supply")
        self.port = port


def describe_failures(failures: dict[int, str]) -> str:
    """``{3: "no reply"}`` -> ``"id 3: no reply"``."""
    return ", ".join(f"id {i}: {why}" for i, why in sorted(failures.items()))


class ServoCommError(HardwareError):
    """Servos did not answer, or answered with corrupt packets (``failures``: servo id -> what)."""

    ADVICE = "check the daisy-chain cables, the servo power supply and that no other program uses the port"

    def __init__(self, port: str, detail: str, failures: dict[int, str] | None = None) -> None:
        super().__init__(f"servo communication failed on {port!r}: {detail}; {self.ADVICE}")
        self.port = port
        self.failures = dict(failures or {})


class MissingServoError(ServoCommError):
    """Servos expected on the bus are absent or are not STS3215s (found at connect)."""

    ADVICE = ("check the cables and the servo power supply, and that the servo IDs were set up "
              "(`lerobot-setup-motors`)")


class ServoFaultError(HardwareError):
    """A servo refused an operation and reported error bits (overload, voltage, ...)."""

    def __init__(self, port: str, detail: str) -> None:
        super().__init__(f"servo fault on {port!r}: {detail}; remove the obstruction or fix the power supply, "
                         f"then reconnect")
        self.port = port
