"""Errors of the SO-101 arm adapter (LeRobot calibration files)."""

from __future__ import annotations

from pathlib import Path

from sim2real_common.errors import HardwareError

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
