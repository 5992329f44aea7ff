"""Fixtures: an emulated SO-101 bus on a pty, calibrations that fit it, the robot config."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from feetech.bus import FeetechBus
from feetech.emulator import FeetechBusEmulator, PtyBus
from feetech.transport import SerialTransport
from sim2real_common.robot_config import RobotConfig, load_robot_config
from so101.paths import data_dir

JOINTS = ["shoulder_pan", "shoulder_lift", "elbow_flex", "wrist_flex", "wrist_roll", "gripper"]
EXAMPLE_CALIBRATION = "calibration/so101_follower_example.json"
# The emulator answers from a Python thread: on a busy 2-core machine a reply can miss LeRobot's
# 50 ms, which real servos never do; tests give it more time (250 ms was missed with the suite's
# packages running side by side next to a CPU burner).
TIMEOUT_MS = 1000.0


def make_bus(port: str) -> FeetechBus:
    return FeetechBus(SerialTransport(port), {name: i + 1 for i, name in enumerate(JOINTS)}, timeout_ms=TIMEOUT_MS)


@pytest.fixture(scope="session")
def robot() -> RobotConfig:
    return load_robot_config("so101.yaml")


@pytest.fixture(scope="session")
def example_calibration(tmp_path_factory) -> Path:
    """config/calibration/so101_follower_example.json, copied (tests must not touch the original)."""
    path = tmp_path_factory.mktemp("calibration") / "example.json"
    shutil.copy(data_dir("config") / EXAMPLE_CALIBRATION, path)
    return path


def example_values() -> dict[str, dict[str, int]]:
    return json.loads((data_dir("config") / EXAMPLE_CALIBRATION).read_text())


@pytest.fixture
def emulator() -> FeetechBusEmulator:
    return FeetechBusEmulator(range(1, 7))


@pytest.fixture
def pty(emulator, tmp_path):
    with PtyBus(emulator, tmp_path / "ttySO101") as bus:
        yield bus
