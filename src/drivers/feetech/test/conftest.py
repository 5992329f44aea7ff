"""Fixtures: an emulated six-servo bus (ids 1-6) on a pty and a driver on it."""

from __future__ import annotations

import pytest

from feetech.bus import FeetechBus
from feetech.emulator import FeetechBusEmulator, PtyBus
from feetech.transport import SerialTransport

JOINTS = ["shoulder_pan", "shoulder_lift", "elbow_flex", "wrist_flex", "wrist_roll", "gripper"]  # names of ids 1-6
# The emulator answers from a Python thread: on a busy 2-core machine a reply can miss LeRobot's
# 50 ms, which real servos never do; tests give it more time.
TIMEOUT_MS = 1000.0


def make_bus(port: str) -> FeetechBus:
    return FeetechBus(SerialTransport(port), {name: i + 1 for i, name in enumerate(JOINTS)}, timeout_ms=TIMEOUT_MS)


@pytest.fixture
def emulator() -> FeetechBusEmulator:
    return FeetechBusEmulator(range(1, 7))


@pytest.fixture
def pty(emulator, tmp_path):
    with PtyBus(emulator, tmp_path / "ttyBus") as bus:
        yield bus
