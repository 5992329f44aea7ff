"""`so101` subcommands owned by the hardware package (registered by so101.cli):

    sim2real calibrate --port /dev/ttyUSB0 --id my_follower [--leader] [--yes --record-seconds 10]
    sim2real emulate feetech --ids 1-6 [--link /tmp/so101_follower] [--sweep]

Imports of the heavy parts (LeRobot, torch) happen inside the handlers, so `so101 --help` stays fast.
"""

from __future__ import annotations

import argparse
import select
import signal
import sys
import time
from pathlib import Path

from so101_hardware.errors import HardwareError

JOINTS = ("shoulder_pan", "shoulder_lift", "elbow_flex", "wrist_flex", "wrist_roll", "gripper")  # LeRobot's motors


def parse_ids(text: str) -> list[int]:
    """``"1-6"`` -> [1..6]; ``"1,2,7-8"`` -> [1, 2, 7, 8]."""
    ids: list[int] = []
    for part in text.split(","):
        first, _, last = part.strip().partition("-")
        try:
            low, high = int(first), int(last or first)
        except ValueError:
            raise ValueError(f"servo ids: expected a list like 1-6 or 1,2,5-6, got {text!r}") from None
        if low > high:
            raise ValueError(f"servo ids: range {part.strip()!r} runs backwards in {text!r}; "
                             f"expected first <= last, like {high}-{low}")
        ids += range(low, high + 1)
    if not ids or len(set(ids)) != len(ids) or not all(0 <= i <= 252 for i in ids):
        raise ValueError(f"servo ids: expected distinct ids in 0..252, got {text!r}")
    return ids


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
    from so101_hardware.calibrate import calibrate
    from so101_hardware.calibration import calibration_path, save_calibration
    from so101_hardware.feetech_bus import FeetechBus
    from so101_hardware.transport import SerialTransport

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


def add_emulate(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "emulate", help="emulate a servo bus on a pseudo-terminal (try the stack without hardware)",
        description="Serve an emulated Feetech STS3215 bus (the real byte protocol, simple servo dynamics) on a "
                    "pseudo-terminal until Ctrl-C; open the printed path like /dev/ttyUSB0.")
    parser.add_argument("device", choices=["feetech"], help="bus to emulate")
    parser.add_argument("--ids", default="1-6", help="servo ids on the bus (default 1-6)")
    parser.add_argument("--link", type=Path, default=None, help="also make this symlink to the pty")
    parser.add_argument("--sweep", action="store_true",
                        help="move the unpowered joints back and forth, as a hand would during `sim2real calibrate`")
    parser.set_defaults(handler=run_emulate)


def run_emulate(args: argparse.Namespace) -> int:
    from so101_hardware.feetech_emulator import FeetechBusEmulator, PtyBus

    ids = parse_ids(args.ids)
    emulator = FeetechBusEmulator(ids)
    if args.sweep:
        for k, servo_id in enumerate(ids):
            emulator.start_sweep(servo_id, amplitude=900.0, period=1.0 + 0.25 * k)
    bus = PtyBus(emulator, args.link)
    bus.open()  # a bad --link fails here, before any signal handler changes
    try:
        # End cleanly (closing the pty, removing the link) on Ctrl-C and on SIGTERM, also when
        # started in the background (where a shell leaves SIGINT ignored).
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        link = f" (link {bus.link})" if bus.link else ""
        print(f"Feetech STS3215 bus emulator: servos {ids} on {bus.path}{link}", flush=True)
        print(f"try: sim2real calibrate --port {bus.link or bus.path} --id emulated --yes --record-seconds 5\n"
              f"Ctrl-C to stop", flush=True)
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        return 0
    finally:
        bus.close()
