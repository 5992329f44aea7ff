"""`sim2real calibrate` (entry point ``sim2real.commands``: calibrate):

    sim2real calibrate --port /dev/ttyUSB0 --id my_follower [--leader] [--yes --record-seconds 10]

Imports of the heavy parts (LeRobot, torch) happen inside the handlers, so `sim2real --help` stays fast.
"""

from __future__ import annotations

import argparse
import select
import sys
import time
from pathlib import Path

from feetech.commands import parse_ids
from sim2real_common.errors import HardwareError

JOINTS = ("shoulder_pan", "shoulder_lift", "elbow_flex", "wrist_flex", "wrist_roll", "gripper")  # LeRobot's motors


def add_calibrate(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "calibrate", help="calibrate an SO-101 arm (LeRobot's procedure and calibration files)",
        description="LeRobot's SO-101 calibration: centre the arm (half-turn homing), then move every joint "
                    "except wrist_roll through its whole range. Writes the servos' Homing_Offset and position "
                    "limits and the calibration JSON where LeRobot keeps it "
                    "($HF_LEROBOT_CALIBRATION/robots/so_follower/<id>.json, leaders under "
                    "teleoperators/so_leader/), so lerobot-* tools and the so101 nodes share it.")
    parser.add_argument("--port", required=True, help="serial port of the arm, e.g. /dev/ttyUSB0 (or an emulator's)")
    parser.add_argument("--id", required=True, dest="arm_id", help="arm id (LeRobot --robot.id / --teleop.id)")
    parser.add_argument("--leader", action="store_true", help="the arm is a leader (teleoperator) arm")
    parser.add_argument("--ids", default="1-6", help="servo ids of shoulder_pan..gripper (default 1-6)")
    parser.add_argument("--baudrate", type=int, default=1_000_000)
    parser.add_argument("--timeout-ms", type=float, default=50.0,
                        help="servo reply timeout on top of the transmission time (default 50, LeRobot's)")
    parser.add_argument("-o", "--output", type=Path, default=None, help="calibration file to write "
                        "(default: LeRobot's calibration folder)")
    parser.add_argument("-y", "--yes", action="store_true",
                        help="no prompts: take the present pose as the middle, record for --record-seconds")
    parser.add_argument("--record-seconds", type=float, default=10.0,
                        help="with --yes: how long to record the ranges of motion (default 10)")
    parser.set_defaults(handler=run_calibrate)


def run_calibrate(args: argparse.Namespace) -> int:
    from so101.hardware.calibrate import calibrate
    from so101.hardware.calibration import calibration_path, save_calibration
    from feetech.bus import FeetechBus
    from feetech.transport import SerialTransport

    ids = parse_ids(args.ids)
    if len(ids) != len(JOINTS):
        raise ValueError(f"--ids: expected {len(JOINTS)} ids ({', '.join(JOINTS)}), got {args.ids!r}")
    role = "leader" if args.leader else "follower"
    output = args.output or calibration_path(args.arm_id, role)
    bus = FeetechBus(SerialTransport(args.port), dict(zip(JOINTS, ids)), baudrate=args.baudrate,
                     timeout_ms=args.timeout_ms)
    try:
        bus.connect()
        try:
            if args.yes:
                timer = _RecordingTimer(args.record_seconds)
                calibration = calibrate(bus, wait_centred=timer.start, recording_done=timer.done)
            else:
                calibration = calibrate(
                    bus, wait_centred=lambda: input(f"Move the {role} {args.arm_id!r} to the middle of its range of "
                                                    f"motion and press ENTER..."),
                    recording_done=_enter_pressed, show=_RangeDisplay())
        finally:
            bus.close()
    except HardwareError as err:
        print(f"sim2real calibrate: error: {err}", file=sys.stderr)
        return 2
    print(f"Calibration saved to {save_calibration(calibration, output)}")
    return 0


class _RecordingTimer:
    """--yes: recording starts right after homing and lasts ``seconds``."""

    def __init__(self, seconds: float) -> None:
        if not seconds > 0:
            raise ValueError(f"--record-seconds: expected > 0, got {seconds}")
        self.seconds = seconds
        self.end = 0.0

    def start(self) -> None:
        self.end = time.monotonic() + self.seconds

    def done(self) -> bool:
        return time.monotonic() >= self.end


def _enter_pressed() -> bool:
    if select.select([sys.stdin], [], [], 0)[0]:
        sys.stdin.readline()
        return True
    return False


class _RangeDisplay:
    """LeRobot's live min/position/max table, redrawn in place."""

    def __init__(self) -> None:
        self.lines = 0
        print("Move all joints except 'wrist_roll' through their entire ranges of motion. Press ENTER to stop...")

    def __call__(self, table: dict[str, tuple[int, int, int]]) -> None:
        if self.lines:
            sys.stdout.write(f"\x1b[{self.lines}A")
        rows = [f"{'NAME':<15} | {'MIN':>6} | {'POS':>6} | {'MAX':>6}"]
        rows += [f"{name:<15} | {lo:>6} | {pos:>6} | {hi:>6}" for name, (lo, pos, hi) in table.items()]
        sys.stdout.write("\n".join(rows) + "\n")
        sys.stdout.flush()
        self.lines = len(rows)
        time.sleep(0.02)


