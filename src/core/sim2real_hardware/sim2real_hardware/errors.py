"""Errors of the generic hardware nodes."""

from __future__ import annotations

from sim2real_common.errors import HardwareError


class DeviceLostError(HardwareError):
    """A robot's device went away while in use (cable pulled, controller rebooted): RobotLoop closes
    it and reconnects. Adapters raise it with the driver's own message (what happened, what to check)."""


class CameraError(HardwareError):
    """A camera source cannot be opened or stopped delivering frames."""

    def __init__(self, source: str, problem: str) -> None:
        super().__init__(f"camera {source!r}: {problem}; list cameras with `v4l2-ctl --list-devices` "
                         f"(or give a video file, or source 'synthetic' for a test pattern)")
        self.source = source

