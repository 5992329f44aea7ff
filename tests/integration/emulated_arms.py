"""Shared set-up of the record_real tests: calibration files per arm and a hand-moved leader arm
on an emulated Feetech bus served from the test process."""

from __future__ import annotations

import shutil
from pathlib import Path

from conftest import WORKSPACE
from feetech.emulator import FeetechBusEmulator, PtyBus

CALIBRATION = WORKSPACE / "src" / "robots" / "so101" / "config" / "calibration" / "so101_follower_example.json"
IDS = range(1, 7)


def calibration_files(out: Path) -> tuple[Path, Path]:
    """Follower and leader calibration files: each arm has its own (written to its servos on
    connect), as with real arms."""
    follower, leader = out / "follower.json", out / "leader.json"
    shutil.copy(CALIBRATION, follower)
    shutil.copy(CALIBRATION, leader)
    return follower, leader


def swept_leader_bus(link: Path) -> PtyBus:
    """An opened pty bus whose unpowered leader joints a hand sweeps within their calibrated ranges."""
    leader = FeetechBusEmulator(IDS)
    for k in IDS:
        leader.start_sweep(k, amplitude=300.0, period=1.0 + 0.25 * k)
    bus = PtyBus(leader, link)
    bus.open()
    return bus
