"""Errors of the hardware package: each message says what went wrong and what to do about it."""

from __future__ import annotations

from pathlib import Path

from so101_common.errors import UserError


class HardwareError(UserError):
    """Base class of every error raised by the hardware drivers."""


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


class CalibrationError(HardwareError, ValueError):
    """A calibration file is malformed or does not fit the arm."""

    def __init__(self, path: Path | str, problem: str) -> None:
        super().__init__(f"calibration {path}: {problem}")
        self.path = Path(path)


class CalibrationMissingError(HardwareError, FileNotFoundError):
    """No calibration file for this arm id."""

    def __init__(self, path: Path | str, arm_id: str, role: str) -> None:
        leader = " --leader" if role == "leader" else ""
        super().__init__(f"no calibration for {role} {arm_id!r} at {path}; run `sim2real calibrate --port <port> "
                         f"--id {arm_id}{leader}` (or `lerobot-calibrate`) first, or point calibration_file at "
                         f"an existing LeRobot calibration JSON")
        self.path = Path(path)


class CameraError(HardwareError):
    """A camera source cannot be opened or stopped delivering frames."""

    def __init__(self, source: str, problem: str) -> None:
        super().__init__(f"camera {source!r}: {problem}; list cameras with `v4l2-ctl --list-devices` "
                         f"(or give a video file, or source 'synthetic' for a test pattern)")
        self.source = source
